"""What ``prover --help``, ``prover prove --help`` and ``prover sweep --help`` say before and after their
option lists: what the command does, its defaults, the few options most runs need, examples a new user
can paste, what it writes and its exit status.

The texts are laid out by hand (``argparse.RawDescriptionHelpFormatter`` keeps their lines): each
example is a comment saying what it does, then a command to paste (long ones go on below a backslash, as
in a shell). Every ``prover ...`` example is a command line the parser accepts and whose settings
validate (tested), so the examples cannot drift from the options.
"""

from __future__ import annotations

import argparse
import shlex

FORMATTER = argparse.RawDescriptionHelpFormatter

EXIT_STATUS = """\
exit status: 0 proved, 1 not proved, 2 bad input (a statement, file or option; the message names it),
3 something needed is missing or unreachable (the proof assistant, a model, an endpoint, room on the
disk: what finished is kept, and the same command resumes)."""

PROVER_DESCRIPTION = """\
A step-level theorem prover. A policy proposes tactics for each proof state (an LLM step prover, a
served model, a retrieval policy, or a fixed tactic list); a best-first search runs them in the proof
assistant (Lean 4 through its REPL or LeanDojo, Coq through coqtop); a proof counts only once the
assistant has checked it as a whole."""

PROVER_EPILOG = """\
first steps (Coq needs no model and no GPU: apt-get install coq libcoq-hammer coinor-csdp):
  # what is installed for proving, and the command that installs what is missing
  prover doctor
  # prove one theorem: the proof coqc checked goes to stdout
  prover prove --backend coq 'Theorem t : forall n : nat, n + 0 = n.'
  # the benchmarks in a folder, with their splits and row counts
  prover benchmarks ../shared/benchmarks
  # prove a benchmark's theorems on parallel workers; the report goes to runs/first/report.md
  prover sweep ../shared/benchmarks/minif2f_rocq_valid.jsonl --backend coq --split valid \\
      --limit 12 --time-limit 60 --out runs/first
  # rewrite a sweep's report from what it has finished, while it runs or after a stop
  prover report runs/first

Lean 4: `prover setup` installs elan, Mathlib's build cache and the REPL; `prove` and `sweep` then use
the step prover ByteDance-Seed/BFS-Prover-V2-7B unless --policy says otherwise.
`prover COMMAND --help` describes each command and the options most runs need (prove, sweep and train
name the other groups; `prover COMMAND --help-all` lists every option); README.md walks through them."""
PROVER_EPILOG += "\n\n" + EXIT_STATUS  # every command exits so

PROVE_DESCRIPTION = """\
Search for a proof of one theorem and print it on stdout once the proof assistant has checked it as a
whole. The theorem is its statement as text (imports and definitions before it with --header or
--header-file), or --file FILE --name NAME: a .lean file, a .v file (a miniF2F-rocq file needs no
--name) or a row of a benchmark .jsonl file.

Defaults fit the backend: --backend repl (Lean 4, the default) proposes tactics with the step-prover
model, --backend coq with the built-in Coq tactic list; the first line on stderr names the policy
(--quiet: not printed), and an option of another policy (--corpus without --policy retrieval) is an
error. A search ends when it finds a proof, runs out of candidates, or reaches --time-limit (120 s) or
--max-expansions (none). On a terminal a live line shows its progress (--quiet: none; without a
terminal, -v prints it every 5 s); with --planner, the line starts with the plan's round and subgoal.

Most runs need only: --backend, --policy (and --model, --openai-base-url or --tactics for it),
--max-expansions, --time-limit, --json, --html: --help lists those, --help-all every setting by group;
--config FILE reads settings from a TOML file and --print-config shows them all."""

DOCTOR_DESCRIPTION = """\
Check what this machine has for proving: Lean (elan, lake, the pinned toolchain, Mathlib's build cache,
the REPL), LeanDojo and git, Coq (coqtop and coqc, the standard library's sources, Coquelicot, CoqHammer,
CSDP), torch with CUDA, and Ray. Each missing piece is printed with the command that installs it. Nothing
is installed or changed."""

DOCTOR_EPILOG = """\
exit status: 0 every required check passed (a missing GPU is reported, not required), 1 something
required is missing (each with the command that installs it); with --backend, 0 when that backend is
ready (e.g. `prover doctor --backend coq && prover sweep ... --backend coq` on a machine without Lean)."""

SETUP_EPILOG = f"""\
{EXIT_STATUS}"""

PROVE_EPILOG = f"""\
examples:
  # Coq with the built-in tactic list (no model, no GPU)
  prover prove --backend coq 'Theorem t : forall n : nat, n + 0 = n.'
  # a header before the statement, and an interactive page of the search (works offline)
  prover prove --backend coq --header 'Require Import Arith.' --html search.html \\
      'Theorem t : forall n m : nat, n + m = m + n.'
  # one row of a benchmark file, the result as one JSON object
  prover prove --backend coq --file ../shared/benchmarks/minif2f_rocq_valid.jsonl \\
      --name mathd_algebra_10 --json
  # a file of a miniF2F-rocq checkout: the theorem named like the file
  prover prove --backend coq --file valid/amc12b_2020_p5.v
  # Lean 4 (after `prover setup`) with the default step prover, BFS-Prover-V2-7B
  prover prove --header 'import Mathlib' 'theorem t (a b : ℕ) (h : a = b) : b = a :='
  # a step prover served by vLLM or SGLang (any OpenAI-compatible completions endpoint)
  prover prove --policy openai --openai-base-url http://localhost:8000/v1 \\
      --file ../shared/benchmarks/minif2f.jsonl --name mathd_algebra_10
  # through a plan: a chat model proposes subgoals, each is searched, the whole proof is checked
  prover prove --backend coq --planner --planner-base-url http://localhost:8000/v1 \\
      --planner-model MODEL --file valid/aime_1983_p9.v

{EXIT_STATUS}"""

SWEEP_DESCRIPTION = """\
Prove every theorem of a benchmark on parallel search workers (a local Ray, or a cluster with
--address). BENCH is a .jsonl file in the format of ../shared/benchmarks (name, split, header,
statement), the name of one (`prover benchmarks` lists them), or a checkout of miniF2F-rocq (its test/
and valid/ folders of .v files).

Each finished attempt is stored in OUT/results.jsonl at once: running the same command again resumes,
and a changed setting that would change results is refused, naming it. Rows known not to elaborate
(e.g. `coq_8_16`) and statements the proof assistant or its safety filter refuses are reported as
invalid with the reason. Defaults fit the backend as in `prover prove`; each attempt gets 600 s
(--time-limit) as in BFS-Prover-V2.

Most runs need only: --backend, --split, --limit, --workers, --out, --max-expansions, --time-limit,
--policy (and its model options), --attempts: --help lists those, --help-all every setting by group."""

SWEEP_EPILOG = """\
writes, in OUT (default runs/sweep):
  results.jsonl      one record per attempt: status, proof, axioms used, statistics
  report.md, report.html, report.json, solved_vs_budget.png
                     pass rates per split, per-theorem table, invalid statements with their reasons
  graphs/NAME.html   each theorem's search graph (with --planner: its plan, a page per search); a
                     name with a capital letter or a character other than a-z 0-9 _ . - gets a short
                     hash of the name (graphs/aimeII_2001_p3-8105b53f.html): report.html links each

examples:
  # the Coq benchmark that ships with the package, with the built-in tactic list
  prover sweep coq_basic --backend coq --split test --workers 2 --out runs/coq_basic
  # miniF2F in Coq, 64 expansions or 60 s per theorem (run it again to resume)
  prover sweep ../shared/benchmarks/minif2f_rocq_valid.jsonl --backend coq --split valid \\
      --max-expansions 64 --time-limit 60 --out runs/rocq-valid
  # a clone of github.com/LLM4Rocq/miniF2F-rocq: its test/*.v files
  prover sweep miniF2F-rocq --backend coq --split test --out runs/rocq-test
  # Lean 4 miniF2F with a served step prover, 8 workers sharing it
  prover sweep ../shared/benchmarks/minif2f.jsonl --split valid --policy openai \\
      --openai-base-url http://localhost:8000/v1 --workers 8 --out runs/minif2f
  # on a running Ray cluster, pass@4
  prover sweep ../shared/benchmarks/minif2f.jsonl --split test --address auto --attempts 4 \\
      --out runs/pass4
  # the report of a sweep so far, while it runs or after a stop
  prover report runs/rocq-valid

exit status: 0 the sweep finished (whatever it proved), 2 bad input, 3 something needed is missing."""


def example_commands(epilog: str) -> list[list[str]]:
    """The ``prover ...`` command lines of an epilog (a line ending in a backslash goes on below), split as
    a shell would, without ``prover``."""
    commands = []
    lines = iter(epilog.splitlines())
    for line in lines:
        if not line.startswith("  prover "):
            continue
        while line.endswith("\\"):
            line = line[:-1] + next(lines, "")
        commands.append(shlex.split(line)[1:])
    return commands

PROVE_COMMON = ("statement", "--header", "--header-file", "--file", "--name", "--backend", "--verbose",
                "--policy", "--tactics", "--model", "--openai-base-url", "--corpus", "--max-expansions",
                "--time-limit", "--tactic-timeout", "--json", "--html", "--quiet", "--config",
                "--print-config")
SWEEP_COMMON = ("benchmark", "--backend", "--split", "--limit", "--out", "--workers", "--attempts",
                "--verbose", "--policy", "--tactics", "--model", "--openai-base-url", "--corpus",
                "--max-expansions", "--time-limit", "--tactic-timeout", "--config", "--print-config")
TRAIN_COMMON = ("benchmark", "--backend", "--rounds", "--out", "--base-model", "--minimise-proofs", "--split",
                "--workers", "--policy", "--model", "--corpus", "--heldout-percent", "--max-expansions",
                "--time-limit", "--config", "--print-config")
