"""One replayed sentence's exchange with coqtop: sending it, telling whether it ran as one sentence, and
reading the open proof's state after it.

A sentence coqtop cannot run as one is never read as if it had: one over the 16 KiB a line to coqtop may
hold is not sent, and one holding a dot and a blank before its end (kept whole for a notation symbol
ending in a dot, ``a .+. b``) is followed by a probe (``Check prover_trace_sync_N_.``) whose reply must
come next; if coqtop read the line as several sentences, their replies are drained up to the probe's, so
later replies are read in step. Either way ``SentenceSender.command`` raises ``NotRun`` and the replay
(``coq_replay``) counts the sentence failed.

The state is read exactly as ``CoqSession`` reads it (``goals.py``: the display after the command,
``Show.`` when none was printed, ``Show k.`` for later goals in full), so the text a row holds is the text
a policy is shown in a search.
"""

from __future__ import annotations

from prover.tracing.coq_source import inner_ends
from search.backends.coq.coqtop import MAX_BATCH_BYTES, CoqTop, Reply, UnframedReply
from search.backends.coq.goals import Display, canonical_pp, parse_display, parse_shown_goal
from search.backends.process import ProcessError
from search.errors import ProverError

MAX_PIECES = 50  # replies read past a sentence coqtop split, looking for the probe's (then: out of step)
SYNC_MARKER = "prover_trace_sync_"  # the probe ``Check prover_trace_sync_N_.`` names it; nothing defines it


class NotRun(ProverError):
    """A sentence coqtop did not run as one sentence (too long to send, or read as several, its replies
    drained): it counts as failed; the message says why."""


class SentenceSender:
    """Sends one file's sentences to its coqtop, each checked to have run as one sentence; ``unit`` names
    the file in errors, ``probes`` counts the sync probes sent (each names its own marker)."""

    def __init__(self, unit: str) -> None:
        self.unit = unit
        self.probes = 0

    def command(self, top: CoqTop, text: str, timeout: float) -> tuple[Reply, bool]:
        """Run one sentence: its reply and whether it succeeded (the state id moved). Raises ``NotRun``
        for a sentence too long to send, or one that coqtop read as several (``inner_ends``: then a probe
        follows it, and the replies before the probe's are drained)."""
        before = top.state_id
        probe = f"Check {SYNC_MARKER}{self.probes}_." if inner_ends(text) else ""
        size = len(text.encode()) + 1 + (len(probe) + 1 if probe else 0)
        if size > MAX_BATCH_BYTES:
            raise NotRun(f"not sent: {len(text.encode())} bytes, over the {MAX_BATCH_BYTES} bytes a line "
                         "to coqtop may hold")
        if not probe:
            reply = top.command(text, timeout)
            return reply, reply.state_id != before
        self.probes += 1
        top.send([text, probe])
        reply = top.read_reply(timeout)
        pieces = 1 + self._replies_before(top, probe[len("Check "):-1], timeout)
        if pieces > 1:
            raise NotRun(f"coqtop read it as {pieces} sentences (it holds a dot followed by a blank, kept "
                         f"for a notation ending in a dot that is not in scope): {text[:80]!r}")
        return reply, reply.state_id != before

    def _replies_before(self, top: CoqTop, marker: str, timeout: float) -> int:
        """Read replies up to the probe's own (its error names ``marker``); how many came before it."""
        for extra in range(MAX_PIECES):
            try:
                reply = top.read_reply(timeout)
            except UnframedReply:  # more output behind this reply: it is not the probe's, which comes last
                continue
            if marker in reply.output:
                return extra
        raise ProcessError(f"coqtop[{self.unit}]: no reply to the sync probe {marker} among the next "
                           f"{MAX_PIECES}: its replies cannot be matched to the sentences any more")


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
