"""The retrieval loop's tactic model (``prover.expert.tactic_rounds``, ``prover train --policy retrieval
--tactic-model``) over the rounds of a retrieval expert-iteration run that has already searched (issue 15,
point 2): the same stage, the same rule (model r sees what corpus r holds: round 0 the traced train
pairs, round r the pairs round r-1 added), the same fixed held-out pairs, but in a separate folder and
without Coq, Ray or searches, so that a run made without the option, a lent GPU, or another preset gets the
numbers. The run folder is only read (its ``run.json`` and ``round-NN/growth/added.jsonl``).

CPU (a loaded 2-core box: the tiny preset, a short run per round):
    python benchmarks/bench_tactic_rounds.py RUN_DIR --out runs/tactic_rounds --preset tiny \\
        --train-seconds 120 --heldout-pairs 100 --threads 1 --json benchmarks/results/tactic_rounds_cpu.json
GPU (``benchmarks/device_run.sh`` runs it): ``--preset gpu --train-seconds 120 --heldout-pairs 1000``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import sys
from datetime import date
from pathlib import Path
from typing import Any

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from prover.expert import PRESETS, RetrievalLoopConfig, TacticRounds, TrainConfig  # noqa: E402
from prover.expert.retrieval_report import CorpusRound, tactic_markdown, tactic_summary  # noqa: E402
from prover.expert.stages import round_dir, stage_info  # noqa: E402
from prover.theorem_input import InputError  # noqa: E402

logger = logging.getLogger("bench_tactic_rounds")


def grown_rounds(run: Path) -> int:
    """How many rounds of ``run`` finished their growth stage (0, 1, ... without a gap)."""
    count = 0
    while stage_info(round_dir(run, count), "grow") is not None:
        count += 1
    return count


def run(args: argparse.Namespace) -> dict[str, Any]:
    manifest = json.loads((args.run / "run.json").read_text(encoding="utf-8"))
    trace = args.trace or Path(manifest["corpus"])
    loop = RetrievalLoopConfig(tactic_model=args.model, tactic_train_pairs=args.train_pairs,
                               tactic_heldout_pairs=args.heldout_pairs, tactic_k=args.k,
                               tactic_max_new_tokens=args.max_new_tokens, tactic_eval_batch=args.eval_batch)
    rounds = TacticRounds(args.out, loop, TrainConfig(max_seconds=args.train_seconds, device=args.device,
                                                      seed=args.seed))
    plan = rounds.plan(trace)
    last = grown_rounds(args.run) if args.rounds is None else min(args.rounds, grown_rounds(args.run))
    markers = []
    for number in range(last + 1):
        added = [round_dir(args.run, number - 1) / "growth" / "added.jsonl"] if number else []
        markers.append(rounds.run_round(number, added))
    device = rounds.device()
    machine = {"platform": platform.platform(), "cpus": os.cpu_count(), "torch": torch.__version__,
               "torch_threads": torch.get_num_threads(), "device": device,
               "gpu": torch.cuda.get_device_name(0) if device == "cuda" else None,
               "load_average_1_5_15_min": [round(x, 2) for x in os.getloadavg()]}
    return {"date": date.today().isoformat(), "machine": machine, "run": str(args.run), "plan": plan,
            "rounds": markers}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run", type=Path,
                        help="a retrieval expert-iteration run folder (`prover train --out`)")
    parser.add_argument("--out", type=Path, required=True, help="folder of the tactic model's rounds")
    parser.add_argument("--trace", type=Path, default=None,
                        help="the traced dataset (default: the run's corpus)")
    parser.add_argument("--preset", dest="model", choices=sorted(PRESETS), default="tiny")
    parser.add_argument("--model", dest="model", help="a model folder to continue from instead of a preset")
    parser.add_argument("--train-seconds", type=float, default=120.0, help="training time per round")
    parser.add_argument("--train-pairs", type=int, default=None, help="round 0's traced pairs (default: all)")
    parser.add_argument("--heldout-pairs", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=None, help="the last round (default: every grown one)")
    parser.add_argument("--k", type=int, default=5)
    parser.add_argument("--max-new-tokens", type=int, default=48)
    parser.add_argument("--eval-batch", type=int, default=8)
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    if args.threads:
        torch.set_num_threads(args.threads)
    if not (args.run / "run.json").is_file():
        parser.error(f"{args.run}: no run.json: not a `prover train --policy retrieval` run folder")
    try:
        out = run(args)
    except (InputError, ValueError) as exc:  # a bad trace, settings, or a folder planned otherwise
        parser.error(str(exc))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(out, indent=1), encoding="utf-8")
    rows = [CorpusRound(round=m["round"], tactic=tactic_summary(m)) for m in out["rounds"]]
    print(json.dumps(out["machine"]))
    print("\n".join(tactic_markdown(rows)))


if __name__ == "__main__":
    main()
