"""The command line's run options and the one function that turns them into a ``RunSpec``.

``add_run_options`` gives ``prove``, ``sweep`` and ``train`` the backend, search, driver, policy and
backend-specific options (generated from the config classes); ``add_server_options`` the policy servers'.
``run_spec(args)`` builds the validated spec from the parsed options (a config file's values are among
them, as defaults: ``prover.cli.config_file``), reporting every invalid value at once; the argparse
``Namespace`` goes no further.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from planner import PlannerClientConfig, PlannerConfig
from prover.backends import BACKENDS, BackendSettings, backend_classes
from prover.cli.config_file import TACTICS_DEST, with_option
from prover.cli.options import GIVEN_OPTIONS, add_config_options, config_from_args
from prover.parallel.policy_server import PolicyServerConfig
from prover.planner_settings import PlannerSettings
from prover.policies.hf_policy_config import HFPolicyConfig
from prover.policies.spec import POLICIES, PolicySpec, natural_width
from prover.run_spec import BACKEND_SKIPPED, DriverConfig, RunSpec, Tables, render_toml
from prover.theorem_input import InputError, read_text, require_file
from search import BackendUnavailableError, SearchConfig
from search.validation import ConfigError, Problem

if TYPE_CHECKING:
    from prover.retrieval.policy import RetrievalConfig

logger = logging.getLogger(__name__)

T = TypeVar("T")

PROVE_TIME_LIMIT = 120.0  # one theorem from the command line: minutes at most, not BFS-Prover-V2's 600 s
DEFAULT_POLICY = {"lean": "model", "coq": "tactics"}  # BFS-Prover-V2, the default model, is a Lean prover
DERIVED = ("tactics_per_node", "tactic_timeout")  # search settings whose default the policy or backend gives


class Problems:
    """Collects the invalid values of every part of a spec, so that all are reported at once."""

    def __init__(self) -> None:
        self.messages: list[str] = []
        self.errors: list[InputError] = []  # the errors that were not invalid values (a file not found ...)

    def build(self, table: str, make: Callable[[], T]) -> T | None:
        """``make()``, or ``None`` after noting its problems (named ``table.key``)."""
        try:
            return make()
        except ConfigError as exc:
            self.messages += [with_option(table, problem.message) if problem.message.startswith(problem.key)
                              else f"{table}: {problem.message}" for problem in exc.problems]
        except InputError as exc:
            self.messages.append(str(exc))
            self.errors.append(exc)
        return None

    def check(self) -> None:
        """Raise one ``InputError`` listing every problem (a lone error that is no invalid value, as it
        was raised)."""
        if len(self.messages) == 1 and self.errors:
            raise self.errors[0]
        if self.messages:
            raise InputError("invalid configuration: " + "; ".join(self.messages))


def add_run_options(parser: argparse.ArgumentParser, *, single: bool = False) -> None:
    """Backend, search, driver, policy and backend-specific options, shared by prove, sweep and train.
    ``single``: for one theorem at the command line (prove), whose default time budget is shorter."""
    parser.add_argument("--backend", choices=sorted(BACKENDS), default="repl",
                        help="proof assistant: " + "; ".join(f"{s.name}: {s.summary}"
                                                             for s in BACKENDS.values()) + " (default: repl)")
    search = parser.add_argument_group("search", "best-first search (BFS-Prover-V2 defaults)")
    time_limit = SearchConfig.__dataclass_fields__["time_limit"].default
    defaults = {"tactics_per_node": None, "tactic_timeout": None,
                "time_limit": PROVE_TIME_LIMIT if single else time_limit}
    add_config_options(search, SearchConfig, defaults=defaults, helps={
        "time_limit": "wall-clock budget of the search, in seconds (default: "
                      + (f"{PROVE_TIME_LIMIT:g} for one theorem; sweeps use {time_limit:g} as BFS-Prover-V2)"
                         if single else f"{time_limit:g} per attempt, as BFS-Prover-V2)"),
        "tactics_per_node": "tactics asked of the policy per expanded state (default: 4 for a model, "
                            "the whole list for --policy tactics)",
        "tactic_timeout": "time limit of one tactic, in seconds (default: 12 for Lean as BFS-Prover-V2, "
                          "5 for Coq, whose tactics are fast or diverge)"})
    add_config_options(search, DriverConfig)
    add_policy_options(parser)
    add_backend_options(parser)


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
    from prover.policies.openai_policy import OpenAIPolicyConfig

    endpoint = parser.add_argument_group("openai policy", "options of --policy openai")
    add_config_options(endpoint, OpenAIPolicyConfig, prefix="openai")
    from prover.retrieval.policy import RetrievalConfig

    retrieval = parser.add_argument_group("retrieval policy", "options of --policy retrieval")
    retrieval.add_argument("--corpus", "--retrieval-corpus", dest="corpus", metavar="DATASET",
                           help="with --policy retrieval: a traced dataset (`prover trace --out DATASET`)")
    add_config_options(retrieval, RetrievalConfig, prefix="retrieval", skip=("corpus",))


def add_backend_options(parser: argparse.ArgumentParser) -> None:
    """One option group per backend whose module is importable."""
    for spec in BACKENDS.values():
        try:
            _, config_cls = backend_classes(spec.name)
        except BackendUnavailableError as exc:
            logger.debug("backend %s has no options: %s", spec.name, exc)
            continue
        group = parser.add_argument_group(f"{spec.name} backend", spec.summary)
        add_config_options(group, config_cls, prefix=spec.name, skip=BACKEND_SKIPPED)


def add_server_options(parser: argparse.ArgumentParser) -> None:
    server = parser.add_argument_group(
        "policy server", "with a model policy, batching server actors (--server-replicas) serve every worker")
    add_config_options(server, PolicyServerConfig, prefix="server")


def run_spec(args: argparse.Namespace, *, server: bool = False, problems: Problems | None = None) -> RunSpec:
    """The run's validated spec from the parsed options; ``server``: with the policy servers' settings
    (sweeps). Raises ``InputError`` listing every invalid value (with those ``problems`` holds already: a
    command's own settings), ``BackendUnavailableError`` when the backend's module cannot load."""
    problems = problems or Problems()
    assistant = BACKENDS[args.backend].assistant
    policy = problems.build("policy", lambda: policy_spec(args, assistant))
    search = problems.build("search", lambda: search_config(args, policy))
    driver = problems.build("driver", lambda: config_from_args(DriverConfig, args))
    imports = policy.required_imports() if policy is not None else ()
    timeout = None if search is None else search.tactic_timeout  # a bad one is reported once, as search's
    backend = problems.build(args.backend, lambda: backend_settings(args, imports, timeout))
    planner = problems.build("planner", lambda: planner_settings(args))
    servers = problems.build("server", lambda: config_from_args(PolicyServerConfig, args, prefix="server")
                             ) if server else None
    problems.check()
    assert policy is not None and search is not None and driver is not None and backend is not None
    if planner is not None and driver.sessions > 1:
        logger.warning("--sessions %d has no effect with --planner: the plan's subgoal searches each use one "
                       "session (the sequential driver)", driver.sessions)
    derived = tuple(name for name in DERIVED if getattr(args, name) is None)
    return RunSpec(backend=backend, policy=policy, search=search, driver=driver, planner=planner,
                   server=servers, derived=derived)


def print_config(tables: Tables, spec: RunSpec) -> int:
    """``--print-config``: the effective configuration as TOML on stdout (a file ``--config`` reads);
    returns the exit code, 0."""
    print(render_toml(tables, spec.commented()), end="")
    return 0


def policy_kind(args: argparse.Namespace, assistant: str) -> str:
    """``--policy``, else the default for the proof assistant (never a model that cannot apply)."""
    return args.policy or DEFAULT_POLICY.get(assistant, "model")


def tactic_list(args: argparse.Namespace) -> tuple[str, ...] | None:
    """The user's tactic list (``--tactics``, ``--tactics-file`` or a config file's list), or ``None`` for
    the assistant's built-in one."""
    if args.tactics and args.tactics_file:
        raise InputError("give --tactics or --tactics-file, not both")
    if args.tactics_file:
        path = Path(args.tactics_file)
        require_file(path, "--tactics-file")
        lines = read_text(path).splitlines()
        tactics = tuple(line.strip() for line in lines if line.strip() and not line.strip().startswith("#"))
        if not tactics:
            raise InputError(f"{path}: no tactics in the file (one per line; # starts a comment)")
        return tactics
    if args.tactics is not None:
        tactics = tuple(t.strip() for t in args.tactics.split(",") if t.strip())
        if not tactics:
            raise InputError(f"--tactics {args.tactics!r}: no tactics (give them separated by commas)")
        return tactics
    return getattr(args, TACTICS_DEST, None)


def policy_option_dests() -> dict[str, tuple[str, ...]]:
    """Each policy's options, by their destinations: those that mean something only with that policy."""
    from prover.policies.openai_policy import OpenAIPolicyConfig
    from prover.retrieval.policy import RetrievalConfig

    def dests(config_cls: type, prefix: str) -> tuple[str, ...]:
        return tuple(f"{prefix}_{f.name}" for f in dataclasses.fields(config_cls)
                     if f.init and f.name != "corpus")

    return {"tactics": ("tactics", "tactics_file"), "model": dests(HFPolicyConfig, "model"),
            "openai": dests(OpenAIPolicyConfig, "openai"),
            "retrieval": ("corpus", *dests(RetrievalConfig, "retrieval"))}


def check_policy_options(args: argparse.Namespace, kind: str, assistant: str) -> None:
    """Raise ``InputError`` naming the options written on the command line that belong to another policy
    than ``kind``, the one in use: a forgotten ``--policy retrieval`` would run the tactic list without a
    word. A config file's values are not checked (one file may hold several policies' tables), nor are
    ``prover train``'s (its model options name the model it trains, whatever policy sweeps first)."""
    if getattr(args, "command", None) == "train":
        return
    written: dict[str, str] = getattr(args, GIVEN_OPTIONS, {})
    foreign = {other: [written[dest] for dest in dests if dest in written]
               for other, dests in policy_option_dests().items() if other != kind}
    foreign = {other: options for other, options in foreign.items() if options}
    if not foreign:
        return
    parts = [f"{', '.join(options)} appl{'ies' if len(options) == 1 else 'y'} to --policy {other}"
             for other, options in foreign.items()]
    if args.policy is None:
        backend = getattr(args, "backend", assistant)
        in_use = f"no --policy was given and --backend {backend} uses --policy {kind} by default"
    else:
        in_use = f"the policy in use is --policy {kind}"  # given here or in --config's file
    (other, options), *more = foreign.items()
    if more:
        fix = "choose one policy with --policy and give only its options"
    elif args.policy is None:
        fix = f"add --policy {other}"
    else:
        fix = f"leave {'it' if len(options) == 1 else 'them'} out, or use --policy {other}"
    raise InputError(f"{'; '.join(parts)}, but {in_use}: {fix}")


def policy_spec(args: argparse.Namespace, assistant: str) -> PolicySpec:
    """The policy recipe from the parsed options; raises ``InputError`` (also for options of another
    policy written on the command line: ``check_policy_options``) or ``ConfigError``."""
    kind = policy_kind(args, assistant)
    check_policy_options(args, kind, assistant)
    if kind == "tactics":
        return PolicySpec("tactics", assistant, tactic_list(args))
    if kind == "openai":
        from prover.policies.openai_policy import OpenAIPolicyConfig

        endpoint = config_from_args(OpenAIPolicyConfig, args, prefix="openai")
        _warn_if_lean_model("openai", endpoint.model, OpenAIPolicyConfig().model, assistant)
        return PolicySpec("openai", assistant, endpoint=endpoint)
    if kind == "retrieval":
        return PolicySpec("retrieval", assistant, retrieval=retrieval_config(args))
    model = config_from_args(HFPolicyConfig, args, prefix="model")
    _warn_if_lean_model("model", model.model, HFPolicyConfig().model, assistant)
    return PolicySpec("model", assistant, model=model)


def _warn_if_lean_model(kind: str, model: str, default: str, assistant: str) -> None:
    """The default model is BFS-Prover-V2, a Lean step prover: say so when it would serve another
    assistant (``--model`` / ``--openai-model`` names one trained for it)."""
    if assistant != "lean" and model == default:
        option = "--model" if kind == "model" else f"--{kind}-model"
        logger.warning("--policy %s with %s, a Lean step prover, on a %s backend: give %s a step prover "
                       "trained for it", kind, model, assistant.capitalize(), option)


def retrieval_config(args: argparse.Namespace) -> RetrievalConfig:
    """``--corpus`` and the ``--retrieval-*`` options; raises ``InputError`` when the corpus is missing or
    is not a traced dataset (before any search starts)."""
    from prover.retrieval.policy import RetrievalConfig

    corpus = getattr(args, "corpus", None)
    if not corpus:
        raise InputError("--policy retrieval needs --corpus DATASET (a folder written by `prover trace`)")
    if not (Path(corpus) / "schema.json").is_file():
        raise InputError(f"{corpus}: not a traced dataset (no schema.json; make one with `prover trace`)")
    return config_from_args(RetrievalConfig, args, prefix="retrieval", corpus=str(corpus))


def search_config(args: argparse.Namespace, policy: PolicySpec | None) -> SearchConfig:
    """The search settings: the options given, else the defaults of the backend and the policy."""
    width = args.tactics_per_node
    if width is None:
        width = 4
        if policy is not None and policy.kind == "tactics":
            width = natural_width(policy()) or 4
        elif policy is not None and policy.retrieval is not None:
            width = policy.retrieval.width
    return config_from_args(SearchConfig, args, tactics_per_node=width, tactic_timeout=tactic_timeout(args))


def tactic_timeout(args: argparse.Namespace) -> float:
    """``--tactic-timeout``, else the backend's default: the search's limit of one tactic, and the
    backend's where no search gives one (plan checks), so the two never differ."""
    timeout = args.tactic_timeout
    return BACKENDS[args.backend].tactic_timeout if timeout is None else float(timeout)


def backend_settings(args: argparse.Namespace, imports: tuple[str, ...] = (),
                     timeout: float | None = None) -> BackendSettings:
    """Backend ``--backend`` configured from its options, with ``imports`` (the libraries a policy's
    tactics need) added to its own and ``timeout`` (the search's) as its tactic limit (its own default
    when ``None``). Raises ``BackendUnavailableError`` when its module cannot load and ``ConfigError`` for
    invalid settings."""
    _, config_cls = backend_classes(args.backend)
    limit: dict[str, float] = {} if timeout is None else {"tactic_timeout": timeout}
    config: Any = config_from_args(config_cls, args, prefix=args.backend, **limit)
    return BackendSettings(args.backend, config).with_imports(imports)


def planner_settings(args: argparse.Namespace) -> PlannerSettings | None:
    """The settings of ``--planner``, or ``None`` without it; raises ``ConfigError`` listing the problems
    of both planner configs."""
    if not getattr(args, "planner", False):
        return None
    found: list[Problem] = []
    configs = []
    for config_cls in (PlannerClientConfig, PlannerConfig):
        try:
            configs.append(config_from_args(config_cls, args, prefix="planner"))
        except ConfigError as exc:
            found += exc.problems
    if found:
        raise ConfigError("planner configuration", tuple(found))
    client, plan = configs
    assert isinstance(client, PlannerClientConfig) and isinstance(plan, PlannerConfig)
    return PlannerSettings(client, plan)


def policy_chosen(args: argparse.Namespace) -> bool:
    """Whether the user chose the policy: ``--policy``, or a tactic list of their own."""
    own_list = (getattr(args, "tactics", None) or getattr(args, "tactics_file", None)
                or getattr(args, TACTICS_DEST, None))
    return args.policy is not None or bool(own_list)


def describe_policy(spec: PolicySpec, *, chosen: bool) -> str:
    """One line naming the policy a command uses, and (``chosen`` false) that it is the backend's
    default."""
    names = {"model": f"the model {spec.label}", "openai": f"the completions endpoint {spec.label}",
             "retrieval": f"retrieval over {spec.label.removeprefix('retrieval:')}"}
    if spec.kind == "tactics" and spec.tactics is None:
        name = f"the built-in {'Coq' if spec.assistant == 'coq' else 'Lean'} tactic list"
    elif spec.kind == "tactics" and spec.tactics is not None:
        name = "the tactic list " + ", ".join(spec.tactics[:6]) + (" ..." if len(spec.tactics) > 6 else "")
    else:
        name = names.get(spec.kind, spec.label)
    if spec.kind == "retrieval" and spec.retrieval is not None and spec.retrieval.tactic_list_weight == 0:
        name += (" alone (--retrieval-tactic-list-weight 0.7 mixes in the tactic list, as the benchmarks "
                 "do)")
    elif spec.kind == "retrieval" and spec.retrieval is not None and spec.retrieval.tactic_list_weight < 1:
        name += f" mixed with the tactic list at {spec.retrieval.tactic_list_weight:g}"
    default = "" if chosen else " (the default for this backend; --policy chooses another)"
    return f"policy: {name}{default}"
