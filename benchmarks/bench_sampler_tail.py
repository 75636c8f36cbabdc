"""The long-tactic tail: the shared-prefix sampler with and without dropping finished prompts.

A batch of states is sampled until every sample has ended (EOS) or ``max_new_tokens``; most tactics are
short, but one long sample keeps the whole batch decoding. ``SharedPrefixSampler(compact=True)`` (the
default) drops every prompt whose samples have all ended, every few steps. Both variants run in this
process on the same random model, batch and seeds; the EOS set is a random fraction of the vocabulary,
so sample lengths are geometric (mean ``1 / eos_fraction``), capped at ``--max-new-tokens``.

Run:  python benchmarks/bench_sampler_tail.py [--json results.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import torch
from random_models import random_qwen2
from transformers import Qwen2Config

from prover.policies.prefix_sampler import SharedPrefixSampler


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--prompts", type=int, default=16)
    parser.add_argument("--samples", type=int, default=4)
    parser.add_argument("--prompt-tokens", type=int, default=128)
    parser.add_argument("--max-new-tokens", type=int, default=96)
    parser.add_argument("--eos-fraction", type=float, default=0.05, help="share of the vocabulary that ends")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json", help="also write the results here")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    torch.set_num_threads(args.threads)
    config = Qwen2Config(vocab_size=1024, hidden_size=128, intermediate_size=256, num_hidden_layers=4,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=1024,
                         bos_token_id=None, eos_token_id=None, pad_token_id=None)
    model = random_qwen2(config, torch.device("cpu"), torch.float32, seed=0)
    generator = torch.Generator().manual_seed(1)
    prompts = torch.randint(0, config.vocab_size, (args.prompts, args.prompt_tokens), generator=generator)
    eos = frozenset(torch.randperm(config.vocab_size, generator=generator)[
        : max(1, int(args.eos_fraction * config.vocab_size))].tolist())
    rows = prompts.tolist()
    results = {}
    for compact in (False, True):
        sampler = SharedPrefixSampler(model, temperature=1.0, top_p=1.0, max_new_tokens=args.max_new_tokens,
                                      eos_ids=eos, pad_id=0, compact=compact)
        seconds, steps = [], []
        for repeat in range(args.repeats + 1):  # the first run warms up
            torch.manual_seed(100 + repeat)
            started = time.perf_counter()
            tokens, _ = sampler.sample(rows, args.samples)
            if repeat:
                seconds.append(time.perf_counter() - started)
                steps.append(tokens.shape[1])
        results["compact" if compact else "full batch"] = {
            "median_s": statistics.median(seconds), "seconds": [round(s, 4) for s in seconds],
            "decode_steps": steps}
    base, fast = results["full batch"]["median_s"], results["compact"]["median_s"]
    print(f"batch: {args.prompts} states x {args.prompt_tokens} tokens, {args.samples} samples, at most "
          f"{args.max_new_tokens} new tokens, EOS {len(eos)}/{config.vocab_size} of the vocabulary")
    for name, r in results.items():
        print(f"{name:<12} {r['median_s']:.3f} s  steps {r['decode_steps']}  runs {r['seconds']}")
    print(f"speed-up of dropping finished prompts: {base / fast:.2f}x")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump({"args": vars(args), "results": results, "speedup": base / fast}, handle, indent=2)


if __name__ == "__main__":
    main()
