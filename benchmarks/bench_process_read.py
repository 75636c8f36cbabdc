"""Reading one long answer from a child process: ``ManagedProcess.read_until`` against a plain read of the
same bytes in the same run.

A proof assistant's answer can be tens of MB (a Lean tactic that unfolds a term, ``interval_cases`` over a
wide range). The child here writes ``SIZE`` MB in one go and then a blank line (the Lean REPL's framing);
the product reads up to the blank line through its selector loop; two baselines read the same answer in
the same run: a plain ``os.read`` loop until the pipe closes (the floor), and the product as it was before
it searched only the bytes read since its last search (every search from the buffer's start: time grows
with the square of the answer). Each time is the median of ``--repeats`` reads.

Run: ``python benchmarks/bench_process_read.py [--sizes 4 16 32] [--repeats 3]``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

from search.backends.process import STDOUT, ManagedProcess

WRITER = ("import sys\nw = sys.stdout.buffer\n"
          "w.write(b'[\"' + b'x' * (SIZE << 20) + b'\"]\\n\\n')\nw.flush()\n")


def writer(size: int) -> list[str]:
    return [sys.executable, "-c", WRITER.replace("SIZE", str(size))]


def rescanning_seconds(size: int) -> float:
    """The product with its search always from the buffer's start (the reader before the fix)."""
    find = ManagedProcess._find
    ManagedProcess._find = staticmethod(lambda buffer, terminator, scanned=0: find(buffer, terminator, 0))
    try:
        return product_seconds(size)
    finally:
        ManagedProcess._find = staticmethod(find)


def product_seconds(size: int) -> float:
    with ManagedProcess(writer(size)) as process:
        started = time.perf_counter()
        text, _ = process.read_until(STDOUT, b"\n\n", timeout=600)
        seconds = time.perf_counter() - started
    assert len(text) > size << 20
    return seconds


def baseline_seconds(size: int) -> float:
    child = subprocess.Popen(writer(size), stdout=subprocess.PIPE)
    assert child.stdout is not None
    started, total = time.perf_counter(), 0
    while chunk := os.read(child.stdout.fileno(), 1 << 16):
        total += len(chunk)
    seconds = time.perf_counter() - started
    child.wait()
    assert total > size << 20
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[4, 16, 32], help="answer sizes in MB")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    rows = []
    for size in args.sizes:
        times = {name: statistics.median(measure(size) for _ in range(args.repeats))
                 for name, measure in (("product", product_seconds), ("plain_read", baseline_seconds),
                                       ("rescanning", rescanning_seconds))}
        rows.append({"mb": size, **{f"{k}_s": round(v, 3) for k, v in times.items()},
                     "product_vs_plain": round(times["product"] / times["plain_read"], 2),
                     "rescanning_vs_product": round(times["rescanning"] / times["product"], 1)})
    print(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
