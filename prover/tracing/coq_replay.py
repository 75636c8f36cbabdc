"""The replay of one ``.v`` file's sentences through coqtop: the state machine that tells a proof's tactic
steps from its other sentences and records them (``trace_coq_file`` in ``coq_trace`` runs it).

The file's sentences (``coq_source``) go to one ``coqtop -emacs`` (the backend's ``CoqTop``) in order.
coqtop's prompt names the open proof, so a sentence sent while a proof is open and that reads as a tactic
(after an optional goal selector a lower-case word, or a capitalised or qualified name that is no command:
``is_tactic``) is a step: the state before it and after it are read exactly as ``CoqSession`` reads them
(``read_state``), after the same ``Set Printing Depth``, so the text a row holds is the text a policy is
shown in a search.

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

A sentence coqtop did not run as one (``NotRun``, ``coq_sentence_io``) fails: inside a proof the proof
fails, outside one it is a failed command (its statement's proof, if one follows, fails). A tactic row is
recorded only where the state before it shows a goal (``Unshelve`` when only shelved goals remain is not a
step; the unit's ``extra["steps_without_goals"]`` counts them); a tactic after which no focused goal is
left (the proof done, a bullet's goals done, or only shelved or given-up goals left) has an empty
``state_after`` and ``closed`` true.
"""

from __future__ import annotations

import logging
import re
import tempfile
from dataclasses import dataclass, field, replace

from prover.tracing.coq_sentence_io import NotRun, SentenceSender, read_state
from prover.tracing.coq_sentence_kinds import (
    END_SKIP,
    LOAD_COMMANDS,
    NESTED_OPTION,
    OBLIGATION,
    PROGRAM,
    TACTIC_PREFIXES,
    closes_with_term,
    command_word,
    declared_name,
    ends_proof,
    expand_ellipsis,
    is_end_word,
    is_tactic,
    opens_proof,
    proof_with,
)
from prover.tracing.coq_source import SourceSentence
from prover.tracing.coq_trace_job import CoqTraceConfig, TraceJob
from prover.tracing.dataset import ProofRecord
from prover.tracing.schema import StepRow
from search.backends.coq.coqtop import CoqTop, Reply
from search.backends.coq.goals import Display, GoalDisplayError
from search.backends.coq.sentences import tactic_body
from search.backends.process import ProcessError

logger = logging.getLogger(__name__)

# what coqtop shows when the tactic left no focused goal: its row has state_after "" and closed true
_NO_FOCUSED_GOAL = frozenset({Display.FINISHED, Display.UNFOCUSED, Display.SHELF, Display.GAVE_UP})


@dataclass
class _Proof:
    name: str
    line: int
    statement: str
    rows: list[StepRow] = field(default_factory=list)
    failure: str = ""
    with_tactic: str = ""  # ``Proof with T.``: what a tactic's ``...`` stands for


class Replay:
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
        self._sender = SentenceSender(job.unit)  # sends each sentence, probing where coqtop may split it
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
        """Run one sentence: its reply and whether it succeeded (``SentenceSender.command``, which raises
        ``NotRun`` for a sentence coqtop would not run as one)."""
        assert self.top is not None
        return self._sender.command(self.top, text, timeout)

    def _not_run(self, sentence: SourceSentence, problem: str, timeout: float) -> None:
        """A sentence that coqtop did not run as one (``NotRun``): inside a proof the proof fails (its
        rest is skipped); outside, a failed command, whose proof fails if one follows."""
        if self._proof is not None:
            self._fail(f"line {sentence.line}: {problem}", timeout,
                       skip_rest=not is_end_word(command_word(sentence)))
            return
        self._command_failed(sentence, problem)
        self._failed_statement = sentence
        self._failed_error = " ".join(problem.split())[:200]
        if self.top is not None and self.top.proof is not None:  # its pieces opened a proof: leave it
            self._command("Abort All.", timeout)

    def _step(self, sentence: SourceSentence, timeout: float) -> None:
        word = command_word(sentence)
        if self._skipping:
            if opens_proof(sentence) and self._nested_allowed:
                self._nested_ends += 1  # a proof nested in the one being skipped: one more end to pass
                self._nested_record(declared_name(sentence.text), sentence)
                return
            if not opens_proof(sentence):
                if ends_proof(sentence):
                    self._skipping = self._nested_ends > 0
                    self._nested_ends = max(self._nested_ends - 1, 0)
                return
            # Without nested proofs a statement cannot belong to the skipped proof (its end was lost, e.g.
            # a tactic without its period swallowed the Qed): it is the file's next lemma, replayed.
            self._skipping, self._nested_ends = False, 0
        try:
            if self._proof is None:
                self._outside(sentence, timeout)
            elif is_end_word(word):
                self._end(sentence, timeout)
            else:
                try:
                    self._inside(sentence, timeout)
                except GoalDisplayError as exc:
                    self._fail(f"line {sentence.line}: unreadable goals: {exc}", timeout)
        except NotRun as exc:
            self._not_run(sentence, str(exc), timeout)

    def _outside(self, sentence: SourceSentence, timeout: float) -> None:
        if self._failed_statement is not None and self._statement_name(self._failed_statement.text) and (
                sentence.first_word == "Proof" or sentence.kind != "sentence" or is_tactic(sentence)):
            self._statement_failed(self._failed_statement)
            self._failed_statement = None
            self._skipping = not ends_proof(sentence)
            return
        if PROGRAM.match(sentence.text):
            self._program = declared_name(sentence.text)
        reply, ok = self._command(sentence.text, timeout)
        self._failed_statement = None
        if ok and (nested := NESTED_OPTION.match(sentence.text)) is not None:
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
        if (obligation := OBLIGATION.match(failed.text)) is not None:
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
            if opens_proof(sentence) and self._nested_allowed:  # a nested statement that failed
                self._nested_record(declared_name(sentence.text), sentence)
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
            expand_ellipsis(tactic_body(TACTIC_PREFIXES.sub("", sentence.text)), proof.with_tactic),
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
        last ``Program`` declaration, its number being unknown once it failed), else ``declared_name``."""
        obligation = OBLIGATION.match(text)
        if obligation is None:
            return declared_name(text)
        program, number = self._obligation_program(obligation), obligation.group(1)
        return f"{program}_obligation_{number}" if number else f"{program}_obligation"

    def _obligation_program(self, obligation: re.Match[str]) -> str:
        """The program an obligation sentence (its ``OBLIGATION`` match) belongs to: the one it names
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
            name = declared_name(sentence.text)
            if name and opens_proof(sentence):
                self.proofs.append(ProofRecord(name, sentence.line, "not-reached", statement=sentence.text,
                                               detail=self.error))
