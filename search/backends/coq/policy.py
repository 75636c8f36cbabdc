"""The LLM-free baseline policy for Coq: a fixed tactic list plus candidates read off the state.

Fixed tactics (``lia``, ``auto``, ``simpl``, ``intros`` ...) are proposed for every state. The first goal
adds state-dependent ones: ``induction x``/``destruct x`` for variables of inductive types in the context,
``rewrite H``/``rewrite <- H`` for equations, ``apply H`` and ``destruct H`` for hypotheses, ``split``,
``left``/``right``, ``eexists`` for the conclusion's connective; for numbers (``math_candidates``) the
decision procedures of the goal's domain (``lra``, ``nra``, ``field``, ``psatz``, ``lia``, ``nia`` with
``zify`` ...), CoqHammer's ``sauto``/``hauto``, ``nra`` with product hints, ``subst`` with equations that fix
a variable, case splits on small ranges; and ``unfold`` of the header's definitions once the policy knows
the theorem (``for_theorem``). The libraries these tactics need are declared in ``imports``: the backend
loads them after the header (``CoqBackendConfig.imports``). Each candidate gets a weight; weights are
normalised over the state's candidates and their logarithms are the scores (``Candidate.logprob`` <= 0),
so the engine's scoring (sum of log-probs / depth^alpha) treats them like a model's. Everything is
deterministic: equal weights keep the order in which candidates were produced.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace

from search.backends.coq import math_candidates as numbers
from search.backends.coq.clock import bounded
from search.backends.coq.goal_view import (
    GoalView,
    first_goal,
    is_equation,
    is_quantified,
    mentions,
    top_level,
)
from search.policy_identity import code_digest, settings_digest
from search.types import Candidate, Theorem
from search.validation import Validated, setting

# (tactic, weight): closing tactics first, then simplification and structure.
DEFAULT_COQ_TACTICS: tuple[tuple[str, float], ...] = (
    ("lia", 8.0), ("reflexivity", 6.0), ("auto", 5.0), ("intros", 5.0), ("simpl", 5.0),
    ("tauto", 3.0), ("congruence", 3.0), ("assumption", 2.0), ("trivial", 1.5), ("split", 2.0),
    ("constructor", 1.5), ("intuition", 2.0), ("discriminate", 1.5), ("easy", 1.5), ("nia", 1.5),
    ("simpl in *", 1.5), ("subst", 1.0), ("f_equal", 1.0), ("firstorder", 1.0), ("ring", 1.0),
    ("contradiction", 0.8), ("left", 0.8), ("right", 0.8), ("exfalso", 0.5), ("eauto", 0.5),
)
# The libraries of the tactics above and in ``math_candidates``: Lia (lia, nia), Zify and its instances for
# nat, N and powers (zify, and lia/nia on nat's div/mod and ^), PreOmega (Z.div_mod_to_equations), Lra
# (lra, nra, psatz on R), Psatz (psatz on Z), Ring and Field (ring, field on any ring the header loads), and
# CoqHammer's reconstruction tactics (sauto, hauto). Interval is left out: it adds 2 s and 200 MiB to every
# header, and `intros; interval` proved none of the 32 valid theorems with sqrt/ln/exp/sin/cos/PI that the
# search left unproved (BENCHMARKS.md).
COQ_POLICY_IMPORTS: tuple[str, ...] = (
    "Require Import Lia.", "Require Import Zify.", "Require Import ZifyNat.", "Require Import ZifyN.",
    "Require Import ZifyPow.", "Require Import PreOmega.", "Require Import Lra.", "Require Import Psatz.",
    "Require Import Ring.", "Require Import Field.", "From Hammer Require Import Tactics.",
)
# The modules whose rules make the candidates: their source is part of the policy's fingerprint.
CANDIDATE_MODULES = ("search.backends.coq.policy", "search.backends.coq.math_candidates",
                     "search.backends.coq.goal_view", "search.backends.coq.clock")
# Symbols that make a type a proposition rather than data.
_PROP_SYMBOLS = re.compile(r"=|<|>|/\\|\\/|->|~|\b(?:forall|exists|True|False|In)\b")


def _weighted_tactics(fixed: tuple[tuple[str, float], ...]) -> str | None:
    """The problem with a list of (tactic, weight) pairs: each a non-empty tactic, once, with a weight > 0."""
    pairs = [pair for pair in fixed if isinstance(pair, tuple | list) and len(pair) == 2]
    if len(pairs) < len(fixed) or any(not isinstance(t, str) or not t.strip() for t, _ in pairs):
        return f"fixed must be (tactic, weight) pairs with non-empty tactics, got {fixed!r}"
    if any(isinstance(w, bool) or not isinstance(w, int | float) or not 0 < w < math.inf for _, w in pairs):
        return f"fixed tactic weights must be finite numbers > 0, got {[w for _, w in pairs]}"
    repeated = [tactic for tactic, count in Counter(t for t, _ in pairs).items() if count > 1]
    return f"fixed tactics must be distinct, got {', '.join(map(repr, repeated))} more than once" \
        if repeated else None


@dataclass(frozen=True, kw_only=True)
class CoqTacticPolicy(Validated):
    """Proposes the fixed list plus state-dependent candidates, best first (the ``Policy`` protocol).
    Its settings are validated declaratively (``ConfigError``, a ``ValueError``, lists every problem).

    ``fixed`` pairs each tactic with a positive weight; ``max_names`` caps how many context variables and
    hypotheses produce candidates (the most recent ones, which are usually the relevant ones).
    """

    config_name = "Coq tactic policy"
    ranks_all = True  # propose ranks every candidate of a state: asking for all of them costs nothing

    fixed: tuple[tuple[str, float], ...] = setting(
        DEFAULT_COQ_TACTICS, min_items=1, check=_weighted_tactics,
        help="tactics proposed for every state, with weights")
    max_names: int = setting(
        4, min=0, help="variables and hypotheses (most recent first) that get candidates")
    imports: tuple[str, ...] = setting(
        COQ_POLICY_IMPORTS, nonblank=True,
        help="`Require Import` sentences the proposed tactics need (the backend loads them)")
    definitions: tuple[str, ...] = setting(
        (), nonblank=True, help="names the theorem's header defines: `unfold` candidates")
    slow_limit: int | None = setting(
        3, min=1,
        help="seconds (Coq's `timeout N`) for tactics that may search long when they fail (sauto, nra, "
             "psatz ...), below the search's own per-tactic limit; None: none")
    width: int = setting(
        24, min=1,
        help="tactics per state worth asking for, the best-scored first (16 solves 89% of the project's Coq "
             "benchmark; miniF2F-rocq's valid split needs the decision procedures and hints below the "
             "structural tactics, and a search that runs out of candidates ends early: 24)")

    @property
    def fingerprint(self) -> str:
        """Names everything that decides the proposals, for a shared proof cache: the settings (``width``
        only says how many a search asks for, which the cache's scope counts), the header's definitions
        (``for_theorem``) and the version of the candidate rules. The policy is deterministic: it has no
        ``for_attempt``."""
        return settings_digest("coq-tactics", [self.fixed, self.max_names, self.imports, self.definitions,
                                               self.slow_limit, code_digest(*CANDIDATE_MODULES)])

    def for_theorem(self, theorem: Theorem) -> CoqTacticPolicy:
        """This policy, knowing the definitions of ``theorem``'s header (for ``unfold``)."""
        return replace(self, definitions=header_definitions(theorem.header))

    def propose(self, states: Sequence[str], n: int) -> list[list[Candidate]]:
        return [self.candidates(pp)[:n] for pp in states]

    def candidates(self, pp: str) -> list[Candidate]:
        """Every candidate for the state ``pp``, sorted by descending log-prob (stable)."""
        weights: dict[str, float] = {}
        for tactic, weight in self.fixed:
            _add(weights, tactic, weight)
        view = first_goal(pp)
        if view is not None:
            for tactic, weight in self._state_tactics(view):
                _add(weights, tactic, weight)
            for tactic, factor in numbers.demotions(view).items():
                if tactic in weights:
                    weights[tactic] *= factor
        total = sum(weights.values())
        ranked = sorted(weights.items(), key=lambda tw: -tw[1])
        return [Candidate(self._limited(tactic), math.log(weight / total)) for tactic, weight in ranked]

    def _limited(self, tactic: str) -> str:
        if self.slow_limit is None or not numbers.is_slow(tactic):
            return tactic
        return bounded(tactic, self.slow_limit)

    def _state_tactics(self, view: GoalView) -> list[tuple[str, float]]:
        out = _conclusion_tactics(view.conclusion)
        kinds = _classify(view.hypotheses)
        recent = list(reversed(view.hypotheses))
        data = [name for name, _ in recent if kinds[name] == "data"][: self.max_names]
        props = [(n, t) for n, t in recent if kinds[n] == "prop"][: self.max_names]
        has_ih = any(name.startswith("IH") for name, _ in view.hypotheses)
        if has_ih:  # inside an induction step: unfold, then use the hypothesis
            out += [("simpl", 7.0), ("simpl in *", 2.0)]
        if any(t.startswith(("forall ", "exists ")) for _, t in props) or "exists " in view.conclusion:
            out.append(("firstorder", 3.0))
        for rank, name in enumerate(_by_first_mention(data, view.conclusion)):
            # Recursive functions usually recurse on their first argument: the variable that occurs
            # first in the conclusion is the best guess for induction.
            weight = (6.0 / (rank + 1) if mentions(view.conclusion, name) else 1.0) / (4.0 if has_ih else 1.0)
            out += [(f"induction {name}", weight), (f"destruct {name}", weight / 2)]
        for name, typ in props:
            out += _hypothesis_tactics(name, typ, view.conclusion)
        return out + self._math_tactics(view)

    def _math_tactics(self, view: GoalView) -> list[tuple[str, float]]:
        """Decision procedures, hints and splits for numbers, and unfolding the header's definitions."""
        domain = numbers.goal_domain(view)
        out = numbers.decision_tactics(domain) + numbers.nra_hints(view, domain) + numbers.sqrt_hints(view)
        out += numbers.fixing_equations(view) + numbers.destruct_hypotheses(view) + numbers.range_splits(view)
        out += numbers.computations(view) + numbers.real_functions(view)
        out += numbers.real_hypotheses(view, domain)
        text = " ".join([view.conclusion, *(t for _, t in view.hypotheses)])
        out += [(f"unfold {name} in *", 4.0) for name in self.definitions if mentions(text, name)]
        return out


_DEFINITION = re.compile(r"\b(?:Definition|Fixpoint|Function|Let|CoFixpoint)\s+([A-Za-z_][\w']*)")
_COMMENT = re.compile(r"\(\*.*?\*\)", re.DOTALL)


def header_definitions(header: str) -> tuple[str, ...]:
    """The names a header defines (``Definition``, ``Fixpoint`` ...), in order; comments are skipped."""
    names = _DEFINITION.findall(_COMMENT.sub(" ", header))
    return tuple(dict.fromkeys(names))


def _by_first_mention(names: list[str], text: str) -> list[str]:
    """``names`` ordered by where they first occur in ``text`` (absent ones last, in their order)."""
    def position(name: str) -> int:
        match = re.search(rf"(?<![\w']){re.escape(name)}(?![\w'])", text)
        return match.start() if match else len(text)
    return sorted(names, key=position)


def _classify(hypotheses: tuple[tuple[str, str], ...]) -> dict[str, str]:
    """Sort each hypothesis into ``sort`` (a type or predicate variable), ``data`` (a value that
    ``induction``/``destruct`` can split) or ``prop`` (a proof that ``apply``/``rewrite`` can use)."""
    kinds: dict[str, str] = {}
    for name, typ in hypotheses:
        head = typ.split()[0] if typ.split() else ""
        if _is_sort(typ):
            kinds[name] = "sort"
        elif _PROP_SYMBOLS.search(typ) or _is_prop_variable(head, hypotheses):
            kinds[name] = "prop"
        elif kinds.get(head) == "sort" or head in ("Type", "Prop", "Set") or _is_number_or_function(typ):
            kinds[name] = "other"  # a value of a type variable, a real, a function: nothing to split
        else:
            kinds[name] = "data"
    return kinds


def _is_number_or_function(typ: str) -> bool:
    """A real, complex or rational number, or a function into numbers: ``induction`` cannot split it."""
    return typ in ("R", "C", "Q") or (re.fullmatch(r"[\w ]+(?: -> [\w ]+)+", typ) is not None and (
        typ.split(" -> ")[-1].strip() in ("R", "C", "Q", "nat", "Z", "bool", "positive", "N")))


def _is_prop_variable(name: str, hypotheses: tuple[tuple[str, str], ...]) -> bool:
    """Whether ``name`` is declared as a proposition or predicate (``P : Prop``, ``P : A -> Prop``)."""
    return any(n == name and t.split(" -> ")[-1].strip() == "Prop" for n, t in hypotheses)


def _conclusion_tactics(conclusion: str) -> list[tuple[str, float]]:
    """Candidates suggested by the conclusion's top-level shape."""
    out: list[tuple[str, float]] = []
    if is_quantified(conclusion):
        out.append(("intros", 12.0))
    if conclusion.startswith("exists "):
        out.append(("eexists", 3.0))
    if top_level(conclusion, "/\\") or top_level(conclusion, "<->"):
        out.append(("split", 5.0))
    if top_level(conclusion, "\\/"):
        out += [("left", 3.0), ("right", 3.0)]
    return out


def _hypothesis_tactics(name: str, typ: str, conclusion: str) -> list[tuple[str, float]]:
    """Candidates that use the hypothesis ``name : typ``."""
    out: list[tuple[str, float]] = []
    if is_equation(typ):
        out += [(f"rewrite {name}", 5.0), (f"rewrite <- {name}", 1.5)]
    if not typ.startswith("forall ") and (top_level(typ, "/\\") or top_level(typ, "\\/")
                                          or typ.startswith("exists ")):
        out.append((f"destruct {name}", 3.0))
    out.append((f"apply {name}", 2.0 if typ.split(" -> ")[-1].strip() == conclusion else 0.7))
    return out


def _is_sort(typ: str) -> bool:
    """A type or predicate variable (``A : Type``, ``P : nat -> Prop``): nothing to apply or rewrite."""
    return typ.split(" -> ")[-1].strip() in ("Prop", "Set", "Type")


def _add(weights: dict[str, float], tactic: str, weight: float) -> None:
    """Keep the largest weight a tactic was given (the fixed list and the state may both propose it)."""
    weights[tactic] = max(weights.get(tactic, 0.0), weight)
