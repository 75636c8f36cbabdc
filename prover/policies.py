"""Building the step-prover policy the user asked for."""

from __future__ import annotations

import argparse
import dataclasses
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prover.cli_options import add_config_options, config_from_args
from prover.hf_policy_config import HFPolicyConfig
from prover.theorem_input import InputError, read_text
from search import DEFAULT_LEAN_TACTICS, Candidate, FixedTacticPolicy, Policy, Theorem

logger = logging.getLogger(__name__)

POLICIES = ("model", "tactics", "openai", "retrieval")


def add_policy_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("policy", "which step prover proposes tactics")
    group.add_argument("--policy", choices=POLICIES, default=None,
                       help="model: a local causal LM (BFS-Prover-V2 prompt `STATE:::`); tactics: a "
                            "fixed tactic list, no model; openai: an OpenAI-compatible completions "
                            "endpoint (vLLM, SGLang); retrieval: tactics of the nearest traced states of "
                            "--corpus (default: model with the Lean backends; tactics, the Coq tactic "
                            "list, with --backend coq, where the default Lean model cannot apply)")
    group.add_argument("--tactics", metavar="LIST",
                       help="with --policy tactics: comma-separated tactics, best first "
                            "(default: a built-in list for the proof assistant)")
    group.add_argument("--tactics-file", type=Path, metavar="FILE",
                       help="with --policy tactics: one tactic per line, best first")
    model = parser.add_argument_group("model policy", "options of --policy model")
    add_config_options(model, HFPolicyConfig, prefix="model")
    from prover.openai_policy import OpenAIPolicyConfig

    endpoint = parser.add_argument_group("openai policy", "options of --policy openai")
    add_config_options(endpoint, OpenAIPolicyConfig, prefix="openai")
    from prover.retrieval.policy import RetrievalConfig

    retrieval = parser.add_argument_group("retrieval policy", "options of --policy retrieval")
    retrieval.add_argument("--corpus", metavar="DATASET", help="with --policy retrieval: a traced dataset "
                           "(`prover trace --out DATASET`)")
    add_config_options(retrieval, RetrievalConfig, prefix="retrieval", skip=("corpus",))


def tactic_list(args: argparse.Namespace) -> tuple[str, ...] | None:
    """The user's tactic list, or ``None`` for the assistant's built-in one."""
    if args.tactics and args.tactics_file:
        raise InputError("give --tactics or --tactics-file, not both")
    if args.tactics_file:
        if not args.tactics_file.is_file():
            raise InputError(f"{args.tactics_file}: no such file")
        lines = read_text(args.tactics_file).splitlines()
        return tuple(line.strip() for line in lines if line.strip() and not line.startswith("#"))
    if args.tactics:
        return tuple(t.strip() for t in args.tactics.split(",") if t.strip())
    return None


@dataclass(frozen=True)
class PolicySpec:
    """A picklable recipe for a policy, so that each sweep worker builds its own."""

    kind: str  # one of POLICIES
    assistant: str  # lean or coq: picks the built-in tactic list
    tactics: tuple[str, ...] | None = None
    model: HFPolicyConfig | None = None
    endpoint: Any = None  # OpenAIPolicyConfig for kind "openai"
    retrieval: Any = None  # RetrievalConfig for kind "retrieval"

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

    def __call__(self) -> Policy:
        """Build the policy; raises ``InputError`` for a bad tactic list, ``ModelLoadError``."""
        if self.kind == "tactics":
            try:
                if self.assistant == "coq" and self.tactics is None:
                    from search.backends.coq import CoqTacticPolicy

                    return CoqTacticPolicy()
                return FixedTacticPolicy(self.tactics or DEFAULT_LEAN_TACTICS)
            except ValueError as exc:
                raise InputError(f"invalid tactic list: {exc}") from exc
        if self.kind == "retrieval":
            from prover.retrieval.policy import build_retrieval_policy

            return build_retrieval_policy(self.retrieval, self.assistant)
        if self.kind == "openai":
            from prover.openai_policy import OpenAICompletionsPolicy

            return OpenAICompletionsPolicy(self.endpoint)
        from prover.hf_policy import HFPolicy

        assert self.model is not None
        return HFPolicy(self.model)


PREFLIGHT_STATE = {"lean": "⊢ True", "coq": "============================\nTrue"}  # any answer will do


def preflight(spec: PolicySpec) -> None:
    """Fail before a sweep starts when its policy cannot answer at all: a model directory that does not
    exist, or a completions endpoint that does not answer one request for a trivial state (raises
    ``ModelLoadError`` or ``PolicyEndpointError``). A tactic list needs no check."""
    if spec.kind == "model" and spec.model is not None:
        from prover.hf_policy_config import check_model_reference

        check_model_reference(spec.model.model)
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

    def propose(self, states: Sequence[str], n: int) -> list[list[Candidate]]:
        if self._policy is None:
            policy = self.spec()
            self._policy = policy if self.theorem is None else for_theorem(policy, self.theorem)
        return self._policy.propose(states, n)


def for_theorem(policy: Policy, theorem: Theorem) -> Policy:
    """The policy specialised to ``theorem`` when it can be (a ``for_theorem`` method, as the Coq tactic
    policy's, which reads the header's definitions), else the policy itself."""
    specialise = getattr(policy, "for_theorem", None)
    return specialise(theorem) if callable(specialise) else policy


DEFAULT_POLICY = {"lean": "model", "coq": "tactics"}  # BFS-Prover-V2, the default model, is a Lean prover


def policy_kind(args: argparse.Namespace, assistant: str) -> str:
    """``--policy``, else the default for the proof assistant (never a model that cannot apply)."""
    return args.policy or DEFAULT_POLICY.get(assistant, "model")


def describe_policy(spec: PolicySpec, args: argparse.Namespace) -> str:
    """One line naming the policy a command uses, and whether it was the backend's default."""
    names = {"model": f"the model {spec.label}", "openai": f"the completions endpoint {spec.label}",
             "retrieval": f"retrieval over {spec.label.removeprefix('retrieval:')}"}
    if spec.kind == "tactics" and spec.tactics is None:
        name = f"the built-in {'Coq' if spec.assistant == 'coq' else 'Lean'} tactic list"
    elif spec.kind == "tactics":
        name = "the tactic list " + ", ".join(spec.tactics[:6]) + (" ..." if len(spec.tactics) > 6 else "")
    else:
        name = names.get(spec.kind, spec.label)
    default = " (the default for this backend; --policy chooses another)" if args.policy is None else ""
    return f"policy: {name}{default}"


def _default_model() -> str:
    return next(f.default for f in dataclasses.fields(HFPolicyConfig) if f.name == "model")


def policy_spec(args: argparse.Namespace, assistant: str) -> PolicySpec:
    """The policy recipe from the parsed options; raises ``InputError``."""
    kind = policy_kind(args, assistant)
    if kind == "tactics":
        return PolicySpec("tactics", assistant, tactic_list(args))
    try:
        if kind == "openai":
            from prover.openai_policy import OpenAIPolicyConfig

            endpoint = config_from_args(OpenAIPolicyConfig, args, prefix="openai")
            return PolicySpec("openai", assistant, endpoint=endpoint)
        if kind == "retrieval":
            from prover.retrieval.policy import retrieval_config

            return PolicySpec("retrieval", assistant, retrieval=retrieval_config(args))
        model = config_from_args(HFPolicyConfig, args, prefix="model")
    except ValueError as exc:
        raise InputError(str(exc)) from exc
    if assistant != "lean" and model.model == _default_model():
        logger.warning("--policy model with %s, a Lean step prover, on a %s backend: give --model a "
                       "step prover trained for it", model.model, assistant.capitalize())
    return PolicySpec("model", assistant, model=model)


@dataclass(frozen=True)
class ServedPolicy:
    """A picklable factory of clients of shared policy-server actors (for sweep workers). Each worker
    uses one server: one on its own node when there is one (no cross-node traffic), chosen by its process
    id among them, so the workers of a node spread over its servers."""

    handles: tuple[Any, ...]
    label: str
    nodes: tuple[str | None, ...] = ()  # the node of each server, when known
    fingerprint: str | None = None  # the served model's (HFPolicyConfig.fingerprint), for the proof cache

    def __call__(self) -> Policy:
        import os

        from prover.policy_server import RemotePolicy

        return RemotePolicy(self.choose(_current_node(), os.getpid()), fingerprint=self.fingerprint)

    def shutdown(self) -> None:
        """Stop every server (the driver calls it once the sweep is over)."""
        from prover.policy_server import stop_servers

        stop_servers(self.handles)

    def choose(self, node: str | None, seed: int) -> Any:
        """The server for a worker on ``node``; ``seed`` spreads the workers of a node over its servers."""
        local = [h for h, n in zip(self.handles, self.nodes, strict=False) if node is not None and n == node]
        candidates = local or list(self.handles)
        return candidates[seed % len(candidates)]


def _current_node() -> str | None:
    try:
        import ray
    except ImportError:
        return None
    return ray.get_runtime_context().get_node_id() if ray.is_initialized() else None


def natural_width(policy: Policy) -> int | None:
    """How many tactics a fixed list offers per state (the default width for such a policy)."""
    if isinstance(policy, FixedTacticPolicy):
        return len(policy.tactics)
    width = getattr(policy, "width", None)
    return width if isinstance(width, int) else None
