"""Building the step-prover policy the user asked for."""

from __future__ import annotations

import argparse
from pathlib import Path

from prover.cli_options import add_config_options, config_from_args
from prover.theorem_input import InputError
from search import DEFAULT_LEAN_TACTICS, FixedTacticPolicy, Policy

POLICIES = ("model", "tactics")


def add_policy_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("policy", "which step prover proposes tactics")
    group.add_argument("--policy", choices=POLICIES, default="model",
                       help="model: a causal LM (BFS-Prover-V2 prompt `STATE:::`); tactics: a fixed "
                            "tactic list, no model (default: model)")
    group.add_argument("--tactics", metavar="LIST",
                       help="with --policy tactics: comma-separated tactics, best first "
                            "(default: a built-in list for the proof assistant)")
    group.add_argument("--tactics-file", type=Path, metavar="FILE",
                       help="with --policy tactics: one tactic per line, best first")
    from prover.hf_policy_config import HFPolicyConfig

    model = parser.add_argument_group("model policy", "options of --policy model")
    add_config_options(model, HFPolicyConfig, prefix="model")


def tactic_list(args: argparse.Namespace) -> tuple[str, ...] | None:
    """The user's tactic list, or ``None`` for the assistant's built-in one."""
    if args.tactics and args.tactics_file:
        raise InputError("give --tactics or --tactics-file, not both")
    if args.tactics_file:
        if not args.tactics_file.is_file():
            raise InputError(f"{args.tactics_file}: no such file")
        lines = args.tactics_file.read_text(encoding="utf-8").splitlines()
        return tuple(line.strip() for line in lines if line.strip() and not line.startswith("#"))
    if args.tactics:
        return tuple(t.strip() for t in args.tactics.split(",") if t.strip())
    return None


def make_policy(args: argparse.Namespace, assistant: str) -> Policy:
    """The policy from the parsed options; raises ``InputError`` or ``ModelLoadError``."""
    if args.policy == "tactics":
        tactics = tactic_list(args)
        try:
            if assistant == "coq" and tactics is None:
                from search.backends.coq import CoqTacticPolicy

                return CoqTacticPolicy()
            return FixedTacticPolicy(tactics or DEFAULT_LEAN_TACTICS)
        except ValueError as exc:
            raise InputError(f"invalid tactic list: {exc}") from exc
    from prover.hf_policy import HFPolicy
    from prover.hf_policy_config import HFPolicyConfig

    try:
        config = config_from_args(HFPolicyConfig, args, prefix="model")
    except ValueError as exc:
        raise InputError(str(exc)) from exc
    return HFPolicy(config)


def natural_width(policy: Policy) -> int | None:
    """How many tactics a fixed list offers per state (the default width for such a policy)."""
    if isinstance(policy, FixedTacticPolicy):
        return len(policy.tactics)
    width = getattr(policy, "width", None)
    return width if isinstance(width, int) else None
