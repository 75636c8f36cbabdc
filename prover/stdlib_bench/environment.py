"""A stdlib lemma's environment: its own file replayed up to the lemma, through a trusted path.

The untrusted inputs of the benchmark are the tactics a policy proposes, and they go through the Coq
backend's sessions and safety filter like any search's. The file prefix is not user input: it is read
only from the installed standard library (a file under ``$(coqc -where)/theories``, named by its path
there) and replayed here, never through the header filter meant for users' headers. The lemma's own proof
and everything after it are never sent.

``PrefixReplay`` sends the prefix's sentences to a coqtop as ``prover trace`` does: a sentence that fails
outside a proof is dropped; a proof in which a sentence fails is aborted and dropped whole, its remaining
sentences skipped up to its end (``Qed``, ``Defined``, ``Admitted``, ``Abort`` or a ``Proof <term>.``,
the tracer's rule). ``kept`` lists the sentences that stand, so the verified file (``proof_file``) holds
exactly the environment the search saw; ``failed`` lists the sentences Coq answered with an error.

A lemma whose prefix had a failed sentence is not attempted (``PrefixFailedError``): its environment is
not its file's (with CoqHammer's preamble a proof can fail that compiles without it, e.g. ``auto with *``
closing one more goal), and what depends on the failed sentence is wrong too: its ``End M.``, say, leaves
the module open, so the lemma's ``qualified`` name and ``closers`` no longer describe where it is. A
failure is a sentence answered with an error (coqtop keeps its state id and prints ``Error:``); one that
kept the state id without an error would be a no-op, not a failure. Queries (``Check``, ``Print``,
``Search``, ``Show``...) take a new state id in Coq 8.16 like any command that succeeds.

``PrefixPool`` is the Coq backend's coqtop pool for one file: a coqtop at the state right after the
prefix of the lemma being attempted, advanced (never rebuilt) from one lemma of the file to the next.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from prover.stdlib_bench.lemmas import StdlibLemma
from prover.theorem_input import InputError
from prover.tracing.coq_sentence_kinds import ends_proof
from prover.tracing.coq_source import SourceSentence
from search.backends.coq.config import CoqBackendConfig
from search.backends.coq.coqtop import CoqTop
from search.backends.coq.header_pool import CoqtopPool, Lease
from search.backends.coq.sentences import tactic_sentence
from search.backends.process import ProcessError
from search.errors import BackendUnavailableError, InvalidTheoremError
from search.types import Theorem

logger = logging.getLogger(__name__)

HAMMER = "From Hammer Require Import Tactics."


class PrefixError(InvalidTheoremError):
    """The file's prefix could not be replayed (coqtop died or timed out on a trusted sentence), or a
    sentence of it failed (``PrefixFailedError``): the lemma is an environment error."""


@dataclass(frozen=True)
class FailedSentence:
    """A sentence of the prefix that Coq answered with an error: its index among the file's sentences, its
    line, its text and Coq's message."""

    index: int
    line: int
    text: str
    error: str

    def describe(self) -> str:
        text = " ".join(self.text.split())
        error = " ".join(self.error.split())
        return f"line {self.line}: {text[:80]!r} failed: {error[:300]}"


class PrefixFailedError(PrefixError):
    """A sentence of the file before the lemma failed in the replay: the lemma's environment is not its
    file's, so it is not attempted (an environment error, counted by neither method)."""

    def __init__(self, name: str, failed: FailedSentence) -> None:
        super().__init__(name, f"the file prefix does not replay as its source: {failed.describe()} (a "
                               "lemma after a failed sentence is not attempted)")
        self.failed = failed


def trusted_source(root: Path, unit: str) -> Path:
    """The installed stdlib file ``unit``; raises ``ValueError`` for a path outside ``root``."""
    path = (root / unit).resolve()
    if not path.is_relative_to(root.resolve()) or path.suffix != ".v" or not path.is_file():
        raise ValueError(f"{unit!r} is not a .v file of the installed standard library under {root}")
    return path


def read_stdlib_file(root: Path, unit: str) -> str:
    """The installed source of the standard library's file ``unit`` (``trusted_source``). Raises
    ``InputError`` when ``root`` does not hold it (a corpus traced from elsewhere, or a wrong ``theories``
    folder)."""
    try:
        path = trusted_source(root, unit)
    except ValueError:
        raise InputError(f"{root / unit}: no such file: the corpus's standard-library file {unit} is not "
                         f"under {root} (stdlib lemmas need the installed sources the corpus was traced "
                         "from)") from None
    return path.read_text(encoding="utf-8")


class PrefixReplay:
    """Drives one coqtop through a file's sentences, keeping track of which of them stand."""

    def __init__(self, top: CoqTop, sentences: Sequence[SourceSentence], timeout: float) -> None:
        self.top = top
        self.sentences = sentences
        self.timeout = timeout
        self.position = 0  # sentences [0, position) were sent
        self.kept: list[int] = []
        self.failed: list[FailedSentence] = []  # the sentences Coq answered with an error, in order
        self._open: int | None = None  # where the open proof's statement is in ``kept``
        self._skipping = False

    def advance(self, end: int) -> None:
        """Send sentences ``position .. end-1``; raises ``ProcessError`` when coqtop dies or hangs."""
        while self.position < end:
            self._one(self.position, self.sentences[self.position])
            self.position += 1

    def _one(self, index: int, sentence: SourceSentence) -> None:
        if self._skipping:
            self._skipping = not ends_proof(sentence)
            return
        in_proof = self.top.proof is not None
        before = self.top.state_id
        reply = self.top.command(sentence.text, self.timeout)
        if reply.state_id != before:
            if not in_proof and reply.proof is not None:
                self._open = len(self.kept)
            self.kept.append(index)
            if reply.proof is None:
                self._open = None
            return
        error = reply.error
        if error is None:  # a no-op: nothing changed, nothing failed
            return
        self.failed.append(FailedSentence(index, sentence.line, sentence.text, error))
        if in_proof and self._open is not None:  # the proof fails: drop it whole
            self.top.command("Abort.", self.timeout)
            del self.kept[self._open:]
            self._open = None
            self._skipping = not ends_proof(sentence)


class PrefixPool(CoqtopPool):
    """The coqtop pool of one stdlib file (``keep=1``): ``at(lemma)`` picks the lemma, and every lease
    is a coqtop right after that lemma's prefix (its ``header_state``). A parked coqtop behind the lemma is
    advanced through the sentences in between; one past it is replaced by a fresh one.

    ``take`` raises ``PrefixFailedError`` for a lemma after a sentence that failed in the replay (the
    first such sentence is ``failure``; the coqtop that met it is closed, and later lemmas of the file
    raise at once), and ``PrefixError`` when coqtop dies or hangs on the prefix."""

    def __init__(self, config: CoqBackendConfig, sentences: Sequence[SourceSentence], *,
                 preamble: Sequence[str] = (HAMMER,), sentence_timeout: float = 120.0) -> None:
        super().__init__(config, keep=1)
        self.sentences = sentences
        self.preamble = tuple(preamble)
        self.sentence_timeout = sentence_timeout
        self.target = 0
        self._replays: dict[CoqTop, PrefixReplay] = {}  # each live coqtop of this pool -> its replay
        self.replayed = 0  # sentences sent to build environments
        self.last_kept: tuple[int, ...] = ()  # the sentences standing in the last lease's prefix
        self.failure: FailedSentence | None = None  # the file's first sentence that failed in a replay

    def at(self, lemma: StdlibLemma) -> None:
        self.target = lemma.index

    def take(self, theorem: Theorem) -> Lease:
        if self.failure is not None and self.failure.index < self.target:
            raise PrefixFailedError(theorem.name, self.failure)
        lease = self._pop("prefix")
        if lease is not None:
            replay = self._replays.get(lease.top)
            if lease.top.alive and replay is not None and replay.position <= self.target:
                return self._advance(lease, replay, theorem)
            self._forget(lease)
        return self._fresh(theorem)

    def give_back(self, lease: Lease) -> None:
        super().give_back(lease)  # may close it, or a parked coqtop it evicts
        self._prune()

    def close(self) -> None:
        super().close()
        self._prune()

    def _prune(self) -> None:
        """Forget the replays of coqtops that are closed (or died): a later coqtop is never matched to
        one (nor kept alive by the dict)."""
        for top in [top for top in self._replays if not top.alive]:
            del self._replays[top]

    def _fresh(self, theorem: Theorem) -> Lease:
        top = CoqTop(self.config, name=f"coqtop[prefix:{theorem.name}]", cwd=self._cwd())
        try:
            top.start(self.config.start_timeout)
            for sentence in (*self.preamble, f"Set Printing Depth {self.config.printing_depth}."):
                before = top.state_id
                reply = top.command(sentence, self.config.start_timeout)
                if reply.state_id == before:
                    raise BackendUnavailableError("coq", f"{sentence} failed: {reply.error}")
        except (OSError, ProcessError) as exc:
            top.close()
            raise BackendUnavailableError("coq", f"coqtop did not start: {exc}") from exc
        except BaseException:
            top.close()
            raise
        self.started += 1
        replay = PrefixReplay(top, self.sentences, self.sentence_timeout)
        self._replays[top] = replay
        return self._advance(Lease("prefix", top, top.state_id, reused=False), replay, theorem)

    def _advance(self, lease: Lease, replay: PrefixReplay, theorem: Theorem) -> Lease:
        """``lease``'s coqtop advanced to the target's prefix; on any error (an interrupt included) the
        coqtop is closed, never left running outside the pool."""
        start = replay.position
        try:
            replay.advance(self.target)
            self.replayed += self.target - start
            if replay.failed:
                self.failure = replay.failed[0]
                raise PrefixFailedError(theorem.name, replay.failed[0])
            self.last_kept = tuple(replay.kept)
            _register_empty_header(lease.top, theorem, self.config)
        except ProcessError as exc:
            self._forget(lease)
            raise PrefixError(theorem.name, f"the file prefix did not replay: {exc}") from exc
        except BaseException:
            self._forget(lease)
            raise
        lease.header_state = lease.top.state_id
        lease.reused = start > 0
        return lease

    def _forget(self, lease: Lease) -> None:
        self._replays.pop(lease.top, None)
        lease.top.close()


def _register_empty_header(top: CoqTop, theorem: Theorem, config: CoqBackendConfig) -> None:
    """The theorem's own header is empty: the trusted prefix is the environment below it. Loading that
    empty header through the backend's header loader registers the coqtop with its statement checks (no
    shadows), where the backend has them (``header_freshness``, landing beside this benchmark)."""
    try:
        from search.backends.coq.header_freshness import load_header
    except ImportError:
        return
    load_header(top, Theorem(theorem.name, theorem.statement), config)


# ``Module [Import|Export] NAME <: T ...`` without ``:=``: a module checked against an interface at its End.
_ASCRIBED = re.compile(r"^(\s*Module\s+(?:(?:Import|Export)\s+)?([A-Za-z_][\w']*))\s*<:[^=]*\.\s*$", re.S)


def proof_file(sentences: Sequence[SourceSentence], kept: Sequence[int], lemma: StdlibLemma,
               tactics: Sequence[str], preamble: Sequence[str] = (HAMMER,)) -> str:
    """The whole file the kernel checks: the preamble, the prefix as it stood in the search's coqtop, the
    lemma with the found proof and ``Qed.``, then the ``End``s of the sections and modules around it.

    A module still open at the lemma that its source ascribes an interface (``Module M <: T.``) is opened
    without the ascription: its ``End`` here comes right after the lemma, before the fields ``T`` asks for
    that the source defines later, so the check ``<: T`` makes at ``End`` would reject every proof. The
    ascription only checks the module against ``T`` (it does not seal it), so nothing inside, the lemma
    included, means anything else without it."""
    still_open = {closer.removeprefix("End ").removesuffix(".") for closer in lemma.closers}
    prefix = [_unascribed(sentences[i].text, still_open) for i in kept]
    lines = [*preamble, *prefix, lemma.statement, "Proof."]
    lines += [f"  {tactic_sentence(t)}" for t in tactics]
    lines += ["Qed.", *lemma.closers]
    return "\n".join(lines) + "\n"


def _unascribed(text: str, still_open: set[str]) -> str:
    """``text`` without its ``<: T`` when it opens one of the modules in ``still_open`` with one."""
    match = _ASCRIBED.match(text)
    if match is None or match.group(2) not in still_open:
        return text
    return f"{match.group(1).strip()}."
