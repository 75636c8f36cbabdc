"""A proof of a stdlib lemma must not use the compiled copy of the lemma's own file.

The environment of every lemma starts with CoqHammer (``From Hammer Require Import Tactics.``, so that
``sauto`` runs), and CoqHammer loads about two hundred compiled standard-library files: ``Lia`` brings
``ZArith.Znumtheory``, ``Arith.Factorial``, ``Logic.JMeq`` ... When the lemma's own file is among them,
the lemma itself is in the environment under its library name (``Znumtheory.Zdivide_opp_r``), reachable
by ``exact`` and by the global hints ``auto with *`` uses, and so is every later lemma of the file and
everything proved from them. Such a "proof" re-proves nothing.

So for a lemma whose file the preamble loads, the kernel-checked file also asks Coq, after the proof, for
the proof's dependencies (``Print All Dependencies``: every constant it uses, transitively) and for every
constant of the compiled file (``Search _ inside``), both printed by the same printer in the same
environment; a name in both rejects the proof, unless it is a lemma, definition or instance the file
states before the lemma (``lemmas.declared_paths``): such a constant cannot depend on the lemma or
anything after it, and the prefix states it anyway, so using its compiled copy re-proves as honestly.
The two answers are read only behind a random marker printed by a command after ``Qed``, which no tactic
of the proof can know or print, and a proof can only add names to the output, never remove one.
"""

from __future__ import annotations

import functools
import re
import secrets
from collections.abc import Callable, Sequence

from search.backends.coq.config import CoqBackendConfig
from search.backends.coq.loaded_libraries import loaded_libraries

_NAME = re.compile(r"[A-Za-z_][\w'.]*")
_SEARCH_ENTRY = re.compile(r"^([A-Za-z_][\w'.]*):\s", re.MULTILINE)


def library_of(unit: str) -> str:
    """The logical name of a stdlib file named by its path under ``theories/``: ``Coq.ZArith.Znumtheory``."""
    return "Coq." + unit.removesuffix(".v").replace("/", ".")


def preamble_libraries(preamble: Sequence[str], config: CoqBackendConfig) -> frozenset[str]:
    """The standard-library files ``preamble`` loads (once per process, preamble and configuration).
    Raises ``LibrariesUnknownError`` when the preamble does not compile alone."""
    return _loaded_by(tuple(preamble), config)


@functools.lru_cache(maxsize=16)
def _loaded_by(preamble: tuple[str, ...], config: CoqBackendConfig) -> frozenset[str]:
    return frozenset(name for name in loaded_libraries(preamble, config) if name.startswith("Coq."))


def own_library_probe(qualified: str, library: str, earlier: frozenset[str] = frozenset()) -> tuple[
        str, Callable[[str], str | None]]:
    """What to append to the proof file of ``qualified`` (after its closers), and the check of coqc's
    output that rejects a proof using ``library``, the compiled copy of the lemma's file, except its
    constants at the paths ``earlier`` (``lemmas.declared_paths``: stated before the lemma in the file,
    so they depend on nothing the lemma is needed for, and the prefix states them too)."""
    marker = f"prover_deps_{secrets.token_hex(8)}"
    tt = "Coq.Init.Datatypes.tt"  # fully qualified: no scope (positive_scope has no 0) nor name rebinds it
    lines = (f"Definition {marker}_a := {tt}.", f"Print {marker}_a.", f"Print All Dependencies {qualified}.",
             f"Definition {marker}_b := {tt}.", f"Print {marker}_b.",
             'Remove Search Blacklist "Private_" "_subproof" "_subterm".',  # Search hides these by default
             f"Search _ inside {library}.")

    def check(output: str) -> str | None:
        start, middle = _printed_at(output, f"{marker}_a"), _printed_at(output, f"{marker}_b")
        if start < 0 or middle < start:
            return f"the dependency check of {qualified} printed nothing readable"
        own = set(_SEARCH_ENTRY.findall(output[middle:]))
        used = sorted(name for name in set(_NAME.findall(output[start:middle])) & own
                      if _path_in(name, library) not in earlier)
        if used:
            shown = ", ".join(used[:3]) + (" ..." if len(used) > 3 else "")
            return (f"the proof uses {shown} of {library}, the compiled copy of the lemma's own file "
                    "(loaded by the preamble): it re-proves nothing")
        return None

    return "\n".join(lines) + "\n", check


def _path_in(name: str, library: str) -> str | None:
    """The path inside ``library`` of a constant Coq printed as ``name`` (``Zmax.Zmax_spec`` for
    ``Coq.ZArith.Zmax``: ``Zmax_spec``), when the printed name shows at least the library's last component;
    else None (then the constant counts as possibly later in the file)."""
    parts = library.split(".")
    for start in range(len(parts)):
        qualifier = ".".join(parts[start:]) + "."
        if name.startswith(qualifier):
            return name[len(qualifier):]
    return None


def _printed_at(output: str, name: str) -> int:
    """Where ``Print name`` last answered in ``output`` (-1: nowhere). Under ``Set Universe Polymorphism``
    (``Classes/CRelationClasses.v``) Coq prints the definition with its universe instance, ``name@{} =``."""
    found = list(re.finditer(re.escape(name) + r"(?:@\{[^}]*\})? =", output))
    return found[-1].start() if found else -1
