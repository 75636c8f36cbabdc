"""Asking the planner model for a plan until one parses, passes the safety filters and elaborates in Lean.

Each refused answer goes back to the model in the same conversation, with every reason (the parser's
refusals, the backend filter's, Lean's errors), at most ``PlannerConfig.plan_attempts`` times per round. A
re-plan must keep the proven prefix word for word: an answer that does not start with it gets it put in
front when that clashes with nothing, and is refused otherwise; repeating the plan that just failed is
refused too. An answer the model's length limit cut off is refused (with that reason) unless its plan's
block was closed before the cut, since its last line may be a statement cut short.

The plan backend's check runs within the attempt's time left (``time_left``), and not at all once it is
spent. A plan the proof assistant times out or crashes on is a refused plan like any other: the backend
answers it as a problem, and the model hears it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from planner.client import ChatAnswer, ChatMessage, PlannerClient
from planner.config import PlannerConfig
from planner.dialect import dialect_of
from planner.errors import PlannerError
from planner.plan import Plan, PlanParse, Rejection, Subgoal
from planner.prompt import retry_message
from planner.protocols import PlanBackend, PlanProblem
from planner.result import PlanAttempt, PlannerStats
from search.best_first import TacticFilter
from search.types import Theorem

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PlanAnswer:
    """The accepted plan (``None`` when every attempt was refused), its goals from the check (one per
    subgoal, then the main goal's) and every attempt."""

    plan: Plan | None
    goals: tuple[str, ...]
    attempts: tuple[PlanAttempt, ...]


class PlanAsker:
    """Runs the ask-parse-check loop for one theorem. ``expired()`` tells when the attempt's time is up."""

    def __init__(self, client: PlannerClient, plan_backend: PlanBackend, theorem: Theorem, *,
                 config: PlannerConfig, tactic_filter: TacticFilter | None, stats: PlannerStats,
                 clock: Callable[[], float], expired: Callable[[], bool],
                 time_left: Callable[[], float | None] = lambda: None) -> None:
        self.client, self.plan_backend, self.theorem = client, plan_backend, theorem
        self.config, self.tactic_filter, self.stats = config, tactic_filter, stats
        self.clock, self.expired, self.time_left = clock, expired, time_left
        self.dialect = dialect_of(plan_backend)

    def ask(self, messages: Sequence[ChatMessage], *, prefix: tuple[Subgoal, ...] = (),
            previous: Plan | None = None) -> PlanAnswer:
        """Ask until a plan is accepted or the attempts run out. Raises the client's ``PlannerError``s
        and the plan backend's ``BackendUnavailableError``."""
        conversation = list(messages)
        attempts: list[PlanAttempt] = []
        for _ in range(self.config.plan_attempts):
            if self.expired():
                break
            completed = self._complete(conversation)
            if completed is None:  # the attempt's time ran out waiting for the model
                break
            reply, seconds = completed
            answer = reply.text
            parse = self.dialect.parse(answer, max_subgoals=self.config.max_subgoals)
            parsed = self._screen(fit_prefix(refuse_cut_plan(parse, reply), prefix, previous,
                                             self.config.max_subgoals))
            problems: tuple[PlanProblem, ...] = ()
            if parsed.usable:
                if self.expired():  # the model took the time left: the plan is not checked
                    attempts.append(PlanAttempt(answer, parsed.plan, (Rejection("", UNCHECKED_REASON),),
                                                seconds=seconds))
                    break
                check = self.plan_backend.check_plan(self.theorem, parsed.plan.lines(),
                                                     time_left=self.time_left())
                if check.ok:
                    attempts.append(PlanAttempt(answer, parsed.plan, accepted=True, seconds=seconds))
                    logger.info("%s: plan accepted:\n%s", self.theorem.name, parsed.plan.render())
                    return PlanAnswer(parsed.plan, check.goals, tuple(attempts))
                problems = check.problems
            attempts.append(PlanAttempt(answer, parsed.plan, parsed.rejections, problems, seconds=seconds))
            self.stats.plans_refused += 1
            shown = render_problems(parsed.plan, problems, self.dialect.assistant)
            reasons = [*(r.render() for r in parsed.rejections), *shown]
            logger.info("%s: plan refused: %s", self.theorem.name, "; ".join(reasons))
            conversation += [ChatMessage("assistant", answer),
                             retry_message(parsed.rejections, shown, prefix, self.dialect)]
        return PlanAnswer(None, (), tuple(attempts))

    def _complete(self, conversation: list[ChatMessage]) -> tuple[ChatAnswer, float] | None:
        """The model's answer and its seconds, waiting no longer than the attempt's time left; ``None``
        when that time ran out (the client's error then says only that)."""
        started = self.clock()
        try:
            answer = self.client.complete(conversation, timeout=self.time_left())
        except PlannerError:
            if self.expired():
                return None
            raise
        seconds = self.clock() - started
        self.stats.planner_calls += 1
        self.stats.planner_seconds += seconds
        return answer, seconds

    def _screen(self, parsed: PlanParse) -> PlanParse:
        """Add the backend's own tactic filter to the parser's (the Lean one) for every subgoal."""
        if self.tactic_filter is None:
            return parsed
        refused = [Rejection(s.source or s.text, f"refused by the backend's filter: {reason}")
                   for s in parsed.plan.subgoals if (reason := self.tactic_filter(s.text)) is not None]
        return PlanParse(parsed.plan, (*parsed.rejections, *refused)) if refused else parsed


UNCHECKED_REASON = "the attempt's time ran out before the plan was checked"
CUT_OFF_REASON = ("the answer was cut off at the length limit before the plan's block was closed, so its "
                  "last line may be cut short; write a shorter answer: the plan's lines only, no explanation")


def refuse_cut_plan(parsed: PlanParse, reply: ChatAnswer) -> PlanParse:
    """Refuse the plan of an answer cut off inside its block (see the module docstring), or inside a
    later block that may have been its revision: the fence lines after the plan's last line must close
    its block and every block opened since (an odd number of them)."""
    if not reply.cut_off:
        return parsed
    last = parsed.plan.subgoals[-1].source if parsed.plan.subgoals else ""
    after = reply.text[reply.text.rfind(last) + len(last):] if last and last in reply.text else ""
    fences = sum(line.lstrip().startswith("```") for line in after.splitlines())
    if parsed.plan.subgoals and fences % 2 == 1:
        return parsed
    return PlanParse(parsed.plan, (*parsed.rejections, Rejection("", CUT_OFF_REASON)))


def fit_prefix(parsed: PlanParse, prefix: tuple[Subgoal, ...], previous: Plan | None,
               max_subgoals: int | None = None) -> PlanParse:
    """Make a re-plan start with the proven ``prefix`` (see the module docstring)."""
    plan, rejections = parsed.plan, list(parsed.rejections)
    if prefix and plan.subgoals and not plan.shares_prefix(prefix):
        rest = tuple(s for s in plan.subgoals if not any(s.same_as(p) for p in prefix))
        clash = sorted({s.name for s in rest} & {p.name for p in prefix})
        if clash:
            rejections.append(Rejection("", f"the plan must start with the proven facts word for word; it "
                                            f"gives the names {', '.join(clash)} to other statements"))
        elif max_subgoals is not None and len(prefix) + len(rest) > max_subgoals:
            total = len(prefix) + len(rest)
            rejections.append(Rejection("", f"with the proven facts first, the plan has {total} facts, more "
                                            f"than {max_subgoals}: write fewer new ones"))
        else:
            logger.info("the re-plan left out proven facts; putting them back in front")
            plan = Plan((*prefix, *rest))
    if previous is not None and plan.subgoals and plan.lines() == previous.lines():
        rejections.append(Rejection("", "this is the plan that just failed; change it"))
    return PlanParse(plan, tuple(rejections))


def render_problems(plan: Plan, problems: Sequence[PlanProblem], assistant: str = "Lean") -> list[str]:
    """The assistant's problems as lines for the model: the subgoal they are on, then the message."""
    lines = []
    for problem in problems:
        index = problem.index
        where = plan.subgoals[index].text if index is not None and 0 <= index < len(plan) else "the plan"
        lines.append(f"{assistant}, at `{where}`: {problem.message}")
    return lines
