"""The step-prover policy a run uses, as a picklable recipe (``PolicySpec``) that each sweep worker builds
itself (but a retrieval index, built once and shared: ``PolicySpec.for_workers``), and the clients of shared
policy servers (``ServedPolicy``). The command line's options become a ``PolicySpec`` in
``prover.cli.spec``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from prover.parallel.policy_server import ServedPolicy as ServedPolicy  # the policy servers' client factory
from prover.policies.hf_policy_config import HFPolicyConfig
from prover.theorem_input import InputError
from search import DEFAULT_LEAN_TACTICS, Candidate, FixedTacticPolicy, Policy, Theorem, fingerprint_of

if TYPE_CHECKING:
    from prover.policies.openai_policy import OpenAIPolicyConfig
    from prover.retrieval.policy import RetrievalConfig

POLICIES = ("model", "tactics", "openai", "retrieval")


@dataclass(frozen=True)
class PolicySpec:
    """A picklable recipe for a policy, so that each sweep worker builds its own."""

    kind: str  # one of POLICIES
    assistant: str  # lean or coq: picks the built-in tactic list
    tactics: tuple[str, ...] | None = None
    model: HFPolicyConfig | None = None
    endpoint: OpenAIPolicyConfig | None = None  # for kind "openai"
    retrieval: RetrievalConfig | None = None  # for kind "retrieval"

    @property
    def label(self) -> str:
        """Names the policy in sweep records: the model path or hub id, or the tactic list."""
        if self.kind == "model" and self.model is not None:
            return self.model.model
        if self.kind == "openai" and self.endpoint is not None:
            return f"{self.endpoint.model}@{self.endpoint.base_url}"
        if self.kind == "retrieval" and self.retrieval is not None:
            return f"retrieval:{self.retrieval.corpus}"
        return "tactics:" + ",".join(self.tactics or ("built-in",))

    @property
    def samples(self) -> bool:
        """Whether the policy draws its proposals at random, so that the attempts of pass@N differ: a model
        always does, an endpoint unless every attempt decodes greedily (temperature 0), a tactic list and
        retrieval never."""
        if self.kind == "model":
            return True
        if self.kind == "openai" and self.endpoint is not None:
            return self.endpoint.temperature > 0 or any(t > 0 for t in self.endpoint.attempt_temperatures)
        return False

    def required_imports(self) -> tuple[str, ...]:
        """The libraries the policy's tactics need loaded after each header (the built-in Coq tactic
        policy's ``imports``, also for retrieval); empty for models and user tactic lists."""
        if self.kind == "tactics" and self.assistant == "coq" and self.tactics is None:
            return tuple(getattr(self(), "imports", ()))
        if self.kind == "retrieval" and self.assistant == "coq":
            # the tactic list's libraries: its tactics when mixed in, and the traced ones (lia, lra, ring)
            from search.backends.coq import CoqTacticPolicy

            return tuple(CoqTacticPolicy().imports)
        return ()

    def for_workers(self) -> Callable[[], Policy]:
        """The policy factory a sweep gives its workers: for retrieval, one whose index is built here, once,
        and shared through Ray's object store (``SharedIndexPolicy``: Ray must be connected), so that no
        worker reads the corpus and fits the index again; the spec itself otherwise. Either builds the
        same policies, fingerprints included. Raises ``InputError`` for a corpus with no usable row."""
        if self.kind == "retrieval" and self.retrieval is not None:
            from prover.retrieval.shared_index import share_index

            return share_index(self.retrieval, self.assistant, self.label)
        return self

    def __call__(self) -> Policy:
        """Build the policy; raises ``InputError`` for a bad tactic list, ``ModelLoadError``."""
        if self.kind == "tactics":
            try:
                if self.assistant == "coq" and self.tactics is None:
                    from search.backends.coq import CoqTacticPolicy

                    return CoqTacticPolicy()
                return FixedTacticPolicy(DEFAULT_LEAN_TACTICS if self.tactics is None else self.tactics)
            except ValueError as exc:  # ConfigError: "invalid tactic list: " and every problem
                raise InputError(str(exc)) from exc
        if self.kind == "retrieval":
            from prover.retrieval.policy import build_retrieval_policy

            assert self.retrieval is not None
            return build_retrieval_policy(self.retrieval, self.assistant)
        if self.kind == "openai":
            from prover.policies.openai_policy import OpenAICompletionsPolicy

            assert self.endpoint is not None
            return OpenAICompletionsPolicy(self.endpoint)
        from prover.policies.hf_policy import HFPolicy

        assert self.model is not None
        return HFPolicy(self.model)


PREFLIGHT_STATE = {"lean": "⊢ True", "coq": "============================\nTrue"}  # any answer will do


def preflight(spec: PolicySpec) -> None:
    """Fail before a sweep starts when its policy cannot answer at all: a model directory that does not
    exist, a retrieval corpus with no traced step, or a completions endpoint that does not answer one
    request for a trivial state (raises ``ModelLoadError``, ``InputError`` or ``PolicyEndpointError``). A
    tactic list needs no check."""
    if spec.kind == "model" and spec.model is not None:
        from prover.policies.hf_policy_config import check_model_reference

        check_model_reference(spec.model.model)
    elif spec.kind == "retrieval" and spec.retrieval is not None:
        from prover.retrieval.policy import check_corpus_usable

        check_corpus_usable(spec.retrieval)
    elif spec.kind == "openai":
        policy = spec()
        try:
            policy.propose([PREFLIGHT_STATE.get(spec.assistant, "⊢ True")], 1)
        finally:
            close = getattr(policy, "close", None)
            if callable(close):
                close()


class LazyPolicy:
    """Builds its policy on the first ``propose``, so cheap checks (opening the session) come first;
    with ``theorem``, the policy is specialised to it (``for_theorem``)."""

    def __init__(self, spec: PolicySpec, theorem: Theorem | None = None) -> None:
        self.spec = spec
        self.theorem = theorem
        self._policy: Policy | None = None

    @property
    def fingerprint(self) -> str | None:
        """The built policy's, for a proof cache's failures (reading it builds the policy: a search reads
        it once its session is open)."""
        return fingerprint_of(self._built())

    def propose(self, states: Sequence[str], n: int) -> list[list[Candidate]]:
        return self._built().propose(states, n)

    def _built(self) -> Policy:
        if self._policy is None:
            policy = self.spec()
            self._policy = policy if self.theorem is None else for_theorem(policy, self.theorem)
        return self._policy


def for_theorem(policy: Policy, theorem: Theorem) -> Policy:
    """The policy specialised to ``theorem`` when it can be (a ``for_theorem`` method, as the Coq tactic
    policy's, which reads the header's definitions), else the policy itself."""
    specialise = getattr(policy, "for_theorem", None)
    return specialise(theorem) if callable(specialise) else policy


def natural_width(policy: Policy) -> int | None:
    """How many tactics a fixed list offers per state (the default width for such a policy)."""
    if isinstance(policy, FixedTacticPolicy):
        return len(policy.tactics)
    width = getattr(policy, "width", None)
    return width if isinstance(width, int) else None
