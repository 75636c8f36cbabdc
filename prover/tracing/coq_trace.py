"""Replaying one ``.v`` file through coqtop and recording every tactic step of its proofs.

The file's sentences (``coq_source``) go to one ``coqtop -emacs`` (the backend's ``CoqTop``) in order.
coqtop's prompt names the open proof, so a sentence sent while a proof is open and that reads as a tactic
(after an optional goal selector a lower-case word, or a capitalised or qualified name that is no command:
``is_tactic``) is a step: the state before it and after it are read exactly as ``CoqSession`` reads them
(``goals.py``: the display after the command, ``Show.`` when none was printed, ``Show k.`` for later goals
in full), after the same ``Set Printing Depth``, so the text a row holds is the text a policy is shown in a
search.

A proof's steps are kept when it ends with ``Qed``/``Defined``/``Save``; ``Admitted``/``Abort`` proofs are
skipped and counted, and so are proofs in which a sentence failed (then ``Abort.`` leaves the proof and the
rest of it is not sent). A statement that fails makes its proof skipped too. A sentence past its time limit
kills coqtop: the proofs after it are ``not-reached`` and the unit says why. Commands outside proofs that
fail are kept in the unit's ``extra["failed_commands"]``; a failed ``Require`` (a development replayed
without its load path) is also logged as a warning, since every proof that uses it then fails.

Under ``Set Nested Proofs Allowed`` a lemma stated inside another proof is not traced, nor is the proof
around it (its steps would use a lemma its statement's context lacks): each gets its own ``failed`` record,
so the coverage counts both. A failed obligation's proof is named as coqtop names obligations, after its
program (``f_obligation_2``; ``f_obligation`` for a ``Next Obligation`` whose number is unknown).

A sentence coqtop cannot run as one is never read as if it had: one over the 16 KiB a line to coqtop may
hold is not sent, and one holding a dot and a blank before its end (kept whole for a notation symbol
ending in a dot, ``a .+. b``) is followed by a probe (``Check prover_trace_sync_N_.``) whose reply must
come next; if coqtop read the line as several sentences, their replies are drained up to the probe's, so
later replies are read in step. Either way the sentence fails: inside a proof the proof fails, outside
one it is a failed command (its statement's proof, if one follows, fails). A tactic row is recorded only
where the state before it shows a goal (``Unshelve`` when only shelved goals remain is not a step; the
unit's ``extra["steps_without_goals"]`` counts them); a tactic after which no focused goal is left (the
proof done, a bullet's goals done, or only shelved or given-up goals left) has an empty ``state_after``
and ``closed`` true.
"""

from __future__ import annotations

import hashlib
import logging
import re
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from prover.tracing.coq_source import SourceError, SourceSentence, inner_ends, split_source
from prover.tracing.dataset import ProofRecord, UnitRecord
from prover.tracing.schema import StepRow
from search.backends.coq.config import CoqBackendConfig
from search.backends.coq.coqtop import MAX_BATCH_BYTES, CoqTop, Reply, UnframedReply
from search.backends.coq.goals import (
    Display,
    GoalDisplayError,
    canonical_pp,
    parse_display,
    parse_shown_goal,
)
from search.backends.coq.sentences import tactic_body
from search.backends.process import ProcessError
from search.errors import ProverError
from search.validation import MAX_SECONDS, Validated, setting

logger = logging.getLogger(__name__)

MAX_FAILED_COMMANDS = 10  # failed commands outside proofs kept in a unit's record
MAX_PIECES = 50  # replies read past a sentence coqtop split, looking for the probe's (then: out of step)
SYNC_MARKER = "prover_trace_sync_"  # the probe ``Check prover_trace_sync_N_.`` names it; nothing defines it
LOAD_COMMANDS = frozenset({"Require", "From", "Load"})
END_OK = frozenset({"Qed", "Defined", "Save"})
END_SKIP = {"Admitted": "admitted", "Abort": "aborted"}
_SELECTOR = re.compile(
    r"(?:all|par|!|\[\s*[A-Za-z_][\w']*\s*\]|\d+(?:\s*-\s*\d+)?(?:\s*,\s*\d+(?:\s*-\s*\d+)?)*)\s*:(?!=)\s*"
)


class _NotRun(ProverError):
    """A sentence coqtop did not run as one sentence (too long to send, or read as several, its replies
    drained): it counts as failed; the message says why."""


@dataclass(frozen=True, kw_only=True)
class CoqTraceConfig(Validated):
    """How files are replayed: the backend settings (coqtop, its arguments, memory, printing depth: the
    same as the searches that will read the data) and the time limit of one sentence, in seconds."""

    config_name = "Coq trace configuration"

    backend: CoqBackendConfig = field(
        default_factory=CoqBackendConfig,
        metadata={"help": "coqtop and its settings, as the searches that read the data use them"})
    sentence_timeout: float = setting(
        120.0, above=0, max=MAX_SECONDS,
        help="seconds one sentence of a file may take before coqtop is killed")


@dataclass(frozen=True)
class TraceJob:
    """One file to trace: its path, its name in the dataset (relative to the corpus root), the corpus and
    trace names, and extra coqtop arguments for this file (its load path, ``-topfile`` with its path so the
    toplevel has the file's own logical name, ``-noinit`` for the prelude's own files)."""

    path: str
    unit: str
    source: str
    trace: str
    extra_args: tuple[str, ...] = ()
    dotted: tuple[str, ...] = ()  # dotted notation symbols its sibling files declare (split_source)


# Vernacular commands a proof may hold between its tactics: not steps. Any other capitalised first word
# inside a proof is a tactic (``Time tac``, ``Unshelve``, a user's ``Ltac Esimpl``, ``Z.le_elim H``).
COMMAND_WORDS = frozenset({
    "Show", "Check", "Print", "About", "Locate", "Search", "SearchPattern", "SearchRewrite", "SearchHead",
    "Eval", "Compute", "Focus", "Unfocus", "Unfocused", "Set", "Unset", "Local", "Global", "Hint", "Opaque",
    "Transparent", "Strategy", "Require", "Import", "Export", "Open", "Close", "Arguments", "Implicit",
    "Notation", "Infix", "Reserved", "Tactic", "Ltac", "Ltac2", "Proof", "Existential", "Guarded", "Undo",
    "Restart", "Back", "BackTo", "Redirect", "Fail", "Instructions", "Optimize", "Create", "Remove", "Add",
    "Declare", "Typeclasses", "Obligation", "Obligations", "Next", "Solve", "Goal", "Section", "End",
    "Module", "Variable", "Variables", "Hypothesis", "Hypotheses", "Let", "Scheme", "Generalizable",
    "Context", "Test", "Debug", "Info", "Succeed", "Abort", "Admitted", "Qed", "Defined", "Save",
    "Definition", "Fixpoint", "CoFixpoint", "Instance", "Existing", "Inductive", "CoInductive", "Record",
    "Structure", "Class", "Coercion", "Canonical", "Universe", "Universes", "Constraint", "Polymorphic",
    "Monomorphic", "Program", "Equations", "Derive", "Extraction", "Recursive", "Separate", "Time",
    "Axiom", "Axioms", "Parameter", "Parameters", "Conjecture", "Conjectures", "Delimit", "Bind", "Include",
    "Register", "Primitive", "Function", "Functional", "Identity", "Abbreviation", "Combined", "Cd",
    "Load", "Drop", "Quit", "Reset", "From", "Theorem", "Lemma", "Fact", "Remark", "Corollary",
    "Proposition", "Example", "Property", "Timeout", "Attributes", "Comments", "Default",
})
_NESTED_OPTION = re.compile(r"(?:(?:Local|Global|Export)\s+)?(Set|Unset)\s+Nested\s+Proofs\s+Allowed\b")
_PREFIXES = re.compile(r"^(?:(?:Time|Timeout\s+\d+|Info\s+\d+)\s+)+")  # before a tactic, not part of it


def is_tactic(sentence: SourceSentence, *, in_proof: bool = False) -> bool:
    """A tactic sentence: after an optional goal selector, a lower-case word, ``(`` or ``[``; inside a
    proof (``in_proof``) also a capitalised or qualified name that is no command (``Z.le_elim H``,
    ``Unshelve``, a file's own ``Ltac Esimpl``), and ``Time``/``Timeout N``/``Info N`` before a tactic
    (recorded without them: a search sends the tactic alone)."""
    if sentence.kind != "sentence":
        return False
    selector = _SELECTOR.match(sentence.text)
    rest = sentence.text[selector.end():] if selector else sentence.text
    if not rest:
        return False
    if rest[0].islower() or rest[0] in "([":
        return True
    if not in_proof:
        return False
    prefix = _PREFIXES.match(rest)
    if prefix is not None:
        return is_tactic(SourceSentence(rest[prefix.end():], 0, 0, 0), in_proof=True)
    word = re.match(r"[A-Za-z_][\w']*(?:\.[A-Za-z_][\w']*)*", rest)
    if word is None:
        return False
    name = word.group()
    return "." in name or (name not in COMMAND_WORDS and name not in _STATEMENTS
                           and name not in _PROOF_KEYWORDS and name not in END_SKIP)


def command_word(sentence: SourceSentence) -> str:
    """The sentence's first word once ``Time``/``Timeout N`` are set aside (``Time Qed.`` ends a proof)."""
    prefix = _PREFIXES.match(sentence.text)
    if prefix is None:
        return sentence.first_word
    match = re.match(r"[A-Za-z_][\w']*", sentence.text[prefix.end():])
    return match.group() if match else ""


def proof_with(text: str) -> str:
    """The tactic of ``Proof with T.`` or ``Proof using x with T.``, or ''. Everything after the first
    ``with`` is the tactic (``Proof with auto using h.``: Coq runs ``auto using h``)."""
    match = re.match(r"Proof\b.*?\bwith\s+(.*?)\.?\s*$", text, re.S)
    return match.group(1).strip() if match else ""


def expand_ellipsis(tactic: str, with_tactic: str) -> str:
    """``t...`` under ``Proof with w`` as the tactic it runs, ``t; w`` (each part parenthesised when it
    holds a ``;`` or ``|``), so the row is a tactic a search can send; without ``Proof with``, ``t...``
    runs ``t`` alone (a search would send ``t....``, which Coq's lexer refuses): ``t``. Any other tactic
    as it is."""
    if not tactic.endswith("..."):
        return tactic
    if not with_tactic:
        return tactic[:-3].rstrip()

    def part(text: str) -> str:
        wrapped = text.startswith("(") and text.endswith(")")
        return f"({text})" if re.search(r"[;|]", text) and not wrapped else text

    return f"{part(tactic[:-3].rstrip())}; {part(with_tactic)}"


def closes_with_term(sentence: SourceSentence) -> bool:
    """``Proof <term>.``: the proof given as a term, which ends it (no ``Qed`` follows)."""
    match = re.match(r"Proof\b\s*(.*?)\.?\s*$", sentence.text, re.S)
    rest = match.group(1).strip() if match else ""
    return bool(rest) and not re.match(r"(using|with|Mode)\b", rest)


def source_digest(data: bytes) -> str:
    """The digest a unit record keeps of the file it traced (``extra["sha256"]``)."""
    return hashlib.sha256(data).hexdigest()


def trace_coq_file(job: TraceJob, config: CoqTraceConfig) -> tuple[UnitRecord, list[StepRow]]:
    """Replay ``job``'s file; return its record and the rows of its traced proofs.

    Never raises for what the file holds (unreadable files, Coq errors and time-outs are in the record);
    raises ``BackendUnavailableError``-free ``OSError`` only if coqtop cannot be run at all.
    """
    started = time.monotonic()
    try:
        data = Path(job.path).read_bytes()
        text = data.decode("utf-8-sig")  # a BOM, as coqc allows it
        sentences = split_source(text, job.unit, job.dotted)
    except (OSError, UnicodeDecodeError, SourceError) as exc:
        return UnitRecord(job.source, job.unit, job.trace, None, 0, error=f"unreadable: {exc}",
                          path=job.path), []
    replay = _Replay(job, config)
    try:
        replay.run(sentences)
    finally:
        replay.close()
    extra: dict[str, object] = {"sha256": source_digest(data)}  # a changed file is traced again
    if replay.failed_commands:
        extra |= {"failed_commands": replay.failed_commands[:MAX_FAILED_COMMANDS],
                  "failed_command_count": len(replay.failed_commands), "failed_loads": replay.failed_loads}
    if replay.steps_without_goals:
        extra["steps_without_goals"] = replay.steps_without_goals
    record = UnitRecord(job.source, job.unit, job.trace, None, len(replay.rows), tuple(replay.proofs),
                        error=replay.error, seconds=round(time.monotonic() - started, 3), extra=extra,
                        path=job.path)
    return record, replay.rows


@dataclass
class _Proof:
    name: str
    line: int
    statement: str
    rows: list[StepRow] = field(default_factory=list)
    failure: str = ""
    with_tactic: str = ""  # ``Proof with T.``: what a tactic's ``...`` stands for


class _Replay:
    """The state of one file's replay: coqtop, the open proof, what was recorded."""

    def __init__(self, job: TraceJob, config: CoqTraceConfig) -> None:
        self.job = job
        self.config = config
        backend = config.backend
        self.backend = replace(backend, coq_args=(*backend.coq_args, *job.extra_args))
        self.top: CoqTop | None = None
        self.rows: list[StepRow] = []
        self.proofs: list[ProofRecord] = []
        self.error = ""
        self.failed_commands: list[str] = []  # "line N: sentence: error" of commands outside proofs
        self.failed_loads = 0  # of those, the Require/Load commands
        self.steps_without_goals = 0  # tactics run where no goal was shown (``Unshelve``): not rows
        self._probes = 0  # sync probes sent (each names its own marker)
        self._proof: _Proof | None = None
        self._skipping = False  # inside a proof whose statement or a sentence failed: send nothing
        self._nested_ends = 0  # proof ends to skip past besides the next one (a nested proof's)
        self._nested_allowed = False  # the file set Nested Proofs Allowed (statements may sit in proofs)
        self._failed_statement: SourceSentence | None = None
        self._failed_error = ""  # what coqtop said of the failed statement
        self._skipped_proof = ""  # the name of the proof being skipped (its nested statements name it)
        self._program = ""  # the last ``Program`` declaration's name: what ``Next Obligation`` belongs to
        self._output = ""  # what the last command in the open proof printed
        self._state: tuple[Display, str] | None = None  # the open proof's current state, once read
        self._workdir: tempfile.TemporaryDirectory[str] | None = None  # coqtop's working directory

    def close(self) -> None:
        if self.top is not None:
            self.top.close()
        if self._workdir is not None:
            self._workdir.cleanup()
            self._workdir = None

    def run(self, sentences: list[SourceSentence]) -> None:
        timeout = self.config.sentence_timeout
        try:
            # Coq writes caches (lia's .lia.cache, nia's) into its working directory: never the caller's
            self._workdir = tempfile.TemporaryDirectory(prefix="coq-trace-")
            self.top = CoqTop(self.backend, name=f"coqtop[{self.job.unit}]", cwd=self._workdir.name)
            self.top.start(self.backend.start_timeout)
            self._command(f"Set Printing Depth {self.backend.printing_depth}.", timeout)
            for index, sentence in enumerate(sentences):
                try:
                    self._step(sentence, timeout)
                except ProcessError as exc:
                    self.error = f"line {sentence.line}: coqtop stopped: {exc}"
                    self._not_reached(sentences[index:])
                    return
            if self._proof is not None:  # counted, not silently dropped from the coverage
                proof, self._proof = self._proof, None
                self.proofs.append(ProofRecord(proof.name, proof.line, "failed", 0, proof.statement,
                                               "no Qed, Defined or Admitted before the end of the file"))
        except (OSError, ProcessError) as exc:
            self.error = f"coqtop did not start: {exc}"
            self._not_reached(sentences)

    def _command(self, text: str, timeout: float) -> tuple[Reply, bool]:
        """Run one sentence: its reply and whether it succeeded (the state id moved). Raises ``_NotRun``
        for a sentence too long to send, or one that coqtop read as several (``inner_ends``: then a probe
        follows it, and the replies before the probe's are drained)."""
        assert self.top is not None
        before = self.top.state_id
        probe = f"Check {SYNC_MARKER}{self._probes}_." if inner_ends(text) else ""
        size = len(text.encode()) + 1 + (len(probe) + 1 if probe else 0)
        if size > MAX_BATCH_BYTES:
            raise _NotRun(f"not sent: {len(text.encode())} bytes, over the {MAX_BATCH_BYTES} bytes a line "
                          "to coqtop may hold")
        if not probe:
            reply = self.top.command(text, timeout)
            return reply, reply.state_id != before
        self._probes += 1
        self.top.send([text, probe])
        reply = self.top.read_reply(timeout)
        pieces = 1 + self._replies_before(probe[len("Check "):-1], timeout)
        if pieces > 1:
            raise _NotRun(f"coqtop read it as {pieces} sentences (it holds a dot followed by a blank, kept "
                          f"for a notation ending in a dot that is not in scope): {text[:80]!r}")
        return reply, reply.state_id != before

    def _replies_before(self, marker: str, timeout: float) -> int:
        """Read replies up to the probe's own (its error names ``marker``); how many came before it."""
        assert self.top is not None
        for extra in range(MAX_PIECES):
            try:
                reply = self.top.read_reply(timeout)
            except UnframedReply:  # more output behind this reply: it is not the probe's, which comes last
                continue
            if marker in reply.output:
                return extra
        raise ProcessError(f"coqtop[{self.job.unit}]: no reply to the sync probe {marker} among the next "
                           f"{MAX_PIECES}: its replies cannot be matched to the sentences any more")

    def _not_run(self, sentence: SourceSentence, problem: str, timeout: float) -> None:
        """A sentence that coqtop did not run as one (``_NotRun``): inside a proof the proof fails (its
        rest is skipped); outside, a failed command, whose proof fails if one follows."""
        if self._proof is not None:
            word = command_word(sentence)
            self._fail(f"line {sentence.line}: {problem}", timeout,
                       skip_rest=word not in END_OK and word not in END_SKIP)
            return
        self._command_failed(sentence, problem)
        self._failed_statement = sentence
        self._failed_error = " ".join(problem.split())[:200]
        if self.top is not None and self.top.proof is not None:  # its pieces opened a proof: leave it
            self._command("Abort All.", timeout)

    def _step(self, sentence: SourceSentence, timeout: float) -> None:
        word = command_word(sentence)
        if self._skipping:
            if _opens_proof(sentence) and self._nested_allowed:
                self._nested_ends += 1  # a proof nested in the one being skipped: one more end to pass
                self._nested_record(_declared_name(sentence.text), sentence)
                return
            if not _opens_proof(sentence):
                if word in END_OK or word in END_SKIP or closes_with_term(sentence):
                    self._skipping = self._nested_ends > 0
                    self._nested_ends = max(self._nested_ends - 1, 0)
                return
            # Without nested proofs a statement cannot belong to the skipped proof (its end was lost, e.g.
            # a tactic without its period swallowed the Qed): it is the file's next lemma, replayed.
            self._skipping, self._nested_ends = False, 0
        try:
            if self._proof is None:
                self._outside(sentence, timeout)
            elif word in END_OK or word in END_SKIP:
                self._end(sentence, timeout)
            else:
                try:
                    self._inside(sentence, timeout)
                except GoalDisplayError as exc:
                    self._fail(f"line {sentence.line}: unreadable goals: {exc}", timeout)
        except _NotRun as exc:
            self._not_run(sentence, str(exc), timeout)

    def _outside(self, sentence: SourceSentence, timeout: float) -> None:
        if self._failed_statement is not None and self._statement_name(self._failed_statement.text) and (
                sentence.first_word == "Proof" or sentence.kind != "sentence" or is_tactic(sentence)):
            self._statement_failed(self._failed_statement)
            self._failed_statement = None
            word = command_word(sentence)
            self._skipping = word not in END_OK and word not in END_SKIP and not closes_with_term(sentence)
            return
        if _PROGRAM.match(sentence.text):
            self._program = _declared_name(sentence.text)
        reply, ok = self._command(sentence.text, timeout)
        self._failed_statement = None
        if ok and (nested := _NESTED_OPTION.match(sentence.text)) is not None:
            self._nested_allowed = nested.group(1) == "Set"
        if not ok:
            self._command_failed(sentence, reply.error or "")
            self._failed_statement = sentence
            self._failed_error = " ".join((reply.error or "failed").split())[:200]
            return
        if reply.proof is not None:
            self._proof = _Proof(reply.proof, sentence.line, sentence.text)
            self._output, self._state = reply.output, None

    def _statement_failed(self, failed: SourceSentence) -> None:
        """Record the proof of a statement that failed (a proof follows it) as failed; its sentences are
        then skipped."""
        name = self._statement_name(failed.text)
        detail = "the statement failed"
        if (obligation := _OBLIGATION.match(failed.text)) is not None:
            program = self._obligation_program(obligation)
            detail += f": {failed.text.rstrip('.')} ({program}): {self._failed_error}"
        self.proofs.append(ProofRecord(name, failed.line, "failed", statement=failed.text, detail=detail))
        self._skipped_proof = name

    def _command_failed(self, sentence: SourceSentence, error: str) -> None:
        text = " ".join(sentence.text.split())
        error = " ".join(error.split()) or "failed"
        self.failed_commands.append(f"line {sentence.line}: {text[:80]}: {error[:200]}")
        if sentence.first_word in LOAD_COMMANDS:
            self.failed_loads += 1
            logger.warning("%s: line %d: %s failed: %s; the proofs that need it will fail (build the "
                           "development first, then replay the file with its load path: a _CoqProject above "
                           "it, or --coq-coq-args '-R DIR NAME')", self.job.unit, sentence.line, text[:80],
                           error[:200])
        else:
            logger.debug("%s:%d: %s", self.job.unit, sentence.line, error)

    def _inside(self, sentence: SourceSentence, timeout: float) -> None:
        proof = self._proof
        assert proof is not None
        tactic = is_tactic(sentence, in_proof=True)
        before = self._current_state(timeout) if tactic else None
        reply, ok = self._command(sentence.text, timeout)
        if not ok:
            self._fail(f"line {sentence.line}: {reply.error or 'the sentence failed'}", timeout)
            if _opens_proof(sentence) and self._nested_allowed:  # a nested statement that failed
                self._nested_record(_declared_name(sentence.text), sentence)
            return
        if reply.proof is None:  # ``Proof <term>.``, or another sentence that ended the proof
            by_term = closes_with_term(sentence)
            if proof.rows and not by_term:
                self.rows.extend(proof.rows)
                self.proofs.append(ProofRecord(proof.name, proof.line, "traced", len(proof.rows),
                                               proof.statement))
            else:
                status = "term" if by_term else "no-tactics"
                self.proofs.append(ProofRecord(proof.name, proof.line, status, 0, proof.statement,
                                               f"line {sentence.line}: closed by {sentence.text[:60]!r}"))
            self._proof = None
            return
        if reply.proof != proof.name:  # a statement inside the proof
            self._fail(f"line {sentence.line}: a nested proof ({reply.proof}) inside it: not traced", timeout)
            self._nested_record(reply.proof, sentence)
            self._command("Abort All.", timeout)
            self._nested_ends = 1  # the inner proof's end, then the outer's
            return
        self._output, self._state = reply.output, None
        if sentence.first_word == "Proof":
            proof.with_tactic = proof_with(sentence.text) or proof.with_tactic
        if before is None:
            return
        if not before[1]:  # no goal shown (only shelved ones: ``Unshelve``): no state a search could be in
            self.steps_without_goals += 1
            return
        display, after = self._current_state(timeout)
        if display is Display.NONE:  # neither goals nor a notice, even for ``Show.``: no state to record
            raise GoalDisplayError(f"no goals and no notice shown after {sentence.text[:60]!r}")
        closed = display in _NO_FOCUSED_GOAL  # exactly when ``after`` is empty
        proof.rows.append(StepRow(
            self.job.source, "coq", self.job.unit, proof.name, sentence.line, sentence.column,
            len(proof.rows), before[1],
            expand_ellipsis(tactic_body(_PREFIXES.sub("", sentence.text)), proof.with_tactic),
            after, closed, self.job.trace))

    def _end(self, sentence: SourceSentence, timeout: float) -> None:
        proof = self._proof
        assert proof is not None
        reply, ok = self._command(sentence.text, timeout)
        word = command_word(sentence)
        if not ok or reply.proof is not None:
            self._fail(f"line {sentence.line}: {word}: {reply.error or 'the proof stayed open'}", timeout,
                       skip_rest=False)
            return
        if word in END_SKIP:
            status = END_SKIP[word]
        else:
            status = "traced" if proof.rows else "no-tactics"
            self.rows.extend(proof.rows)
        self.proofs.append(ProofRecord(proof.name, proof.line, status,
                                       len(proof.rows) if status == "traced" else 0, proof.statement))
        self._proof = None

    def _fail(self, detail: str, timeout: float, *, skip_rest: bool = True) -> None:
        """Leave the open proof (``Abort.``), counting it failed; skip its remaining sentences."""
        proof = self._proof
        assert proof is not None
        self.proofs.append(ProofRecord(proof.name, proof.line, "failed", 0, proof.statement, detail))
        self._proof = None
        self._skipping = skip_rest
        self._skipped_proof = proof.name
        assert self.top is not None
        if self.top.proof is not None:
            self._command("Abort.", timeout)

    def _nested_record(self, name: str, sentence: SourceSentence) -> None:
        """A proof stated inside a proof that is not traced (``Set Nested Proofs Allowed``): its own record,
        so that the coverage counts it, skipped with where it stands."""
        self.proofs.append(ProofRecord(
            name or f"line_{sentence.line}", sentence.line, "failed", statement=sentence.text,
            detail=f"line {sentence.line}: a nested proof: not traced (stated inside the proof of "
                   f"{self._skipped_proof}, which is not traced)"))

    def _statement_name(self, text: str) -> str:
        """The name of the proof a statement opens: as coqtop names an obligation's proof
        (``Obligation 2 of f.`` -> ``f_obligation_2``; ``Next Obligation.`` -> ``f_obligation`` after the
        last ``Program`` declaration, its number being unknown once it failed), else ``_declared_name``."""
        obligation = _OBLIGATION.match(text)
        if obligation is None:
            return _declared_name(text)
        program, number = self._obligation_program(obligation), obligation.group(1)
        return f"{program}_obligation_{number}" if number else f"{program}_obligation"

    def _obligation_program(self, obligation: re.Match[str]) -> str:
        """The program an obligation sentence (its ``_OBLIGATION`` match) belongs to: the one it names
        (``of f``), else the last ``Program`` declaration (``unknown_program`` when none came before)."""
        return (obligation.group(2) or self._program or "unknown_program").split(".")[-1]

    def _current_state(self, timeout: float) -> tuple[Display, str]:
        """The open proof's state as the backend shows it (``CoqSession._read_state``'s reading)."""
        if self._state is None:
            self._state = read_state(self.top, self._output, timeout)
        return self._state

    def _not_reached(self, sentences: list[SourceSentence]) -> None:
        if self._proof is not None:
            self.proofs.append(ProofRecord(self._proof.name, self._proof.line, "not-reached",
                                           statement=self._proof.statement, detail=self.error))
            self._proof = None
        for sentence in sentences:
            name = _declared_name(sentence.text)
            if name and _opens_proof(sentence):
                self.proofs.append(ProofRecord(name, sentence.line, "not-reached", statement=sentence.text,
                                               detail=self.error))


# what coqtop shows when the tactic left no focused goal: its row has state_after "" and closed true
_NO_FOCUSED_GOAL = frozenset({Display.FINISHED, Display.UNFOCUSED, Display.SHELF, Display.GAVE_UP})
_STATEMENTS = frozenset({"Theorem", "Lemma", "Fact", "Remark", "Corollary", "Proposition", "Example",
                         "Property"})
_PROOF_KEYWORDS = frozenset({"Definition", "Instance", "Fixpoint"})


def _opens_proof(sentence: SourceSentence) -> bool:
    """Whether the sentence states something to prove (read from its words, without running it)."""
    return sentence.first_word in _STATEMENTS or (
        sentence.first_word in _PROOF_KEYWORDS and ":=" not in sentence.text)


# ``Next Obligation.``, ``Obligation 2 of f with tac.``: groups (number, program), each optional
_OBLIGATION = re.compile(r"(?:Next\s+)?Obligation(?:\s+(\d+))?"
                         r"(?:\s+of\s+([A-Za-z_][\w']*(?:\.[A-Za-z_][\w']*)*))?\s*(?:with\b|\.?\s*$)", re.S)
_PROGRAM = re.compile(r"(?:#\[[^\]]*\bprogram\b|(?:(?:Local|Global|Polymorphic|Monomorphic)\s+)*Program\s)")


def _declared_name(text: str) -> str:
    """The name a declaration sentence declares (``Lemma foo ...`` -> ``foo``; ``Goal`` -> coqtop's
    ``Unnamed_thm``), or ''. Obligations are named by ``_Replay._statement_name``."""
    if re.match(r"Goal\b", text):
        return "Unnamed_thm"
    match = re.match(r"(?:#\[[^\]]*\]\s*)?(?:(?:Local|Global|Program|Polymorphic)\s+)*[A-Z]\w*\s+"
                     r"([A-Za-z_][\w']*)", text)
    return match.group(1) if match else ""


def read_state(top: CoqTop | None, output: str, timeout: float) -> tuple[Display, str]:
    """What the display ``output`` says and the canonical state text (empty unless goals remain)."""
    assert top is not None
    view = parse_display(output)
    if view.display is Display.NONE:
        view = parse_display(top.command("Show.", timeout).output)
    if view.display is not Display.GOALS:
        return view.display, ""
    bodies = [view.body]
    for k in range(2, view.count + 1):
        bodies.append(parse_shown_goal(top.command(f"Show {k}.", timeout).output, k))
    return Display.GOALS, canonical_pp(view.header, bodies)
