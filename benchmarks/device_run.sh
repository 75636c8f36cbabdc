#!/usr/bin/env bash
# The GPU checks of the project as one prepared run on a lent H100/H200 (the `device` tool runs it in a
# copy of the working tree; results land in $OUT). Wheels the GPU image lacks (trl, datasets and their
# pins) travel in .whl/. Each step has its own time limit so that one failure leaves the others' numbers.
# Steps: tests generate training tactic_model (all by default; name some to run only those, to fit the
# lease), and tactic_rounds (only when named). tactic_model reads the traced standard library from $TRACE
# (default runs/stdlib_trace: copy `prover trace`'s output there and name it in the run's carry; about
# 20 MiB). tactic_rounds trains the retrieval loop's tactic model (gpu preset) over the rounds of the
# retrieval run in $RUN (default runs/expert_retrieval: its run.json and round-NN/growth/ are enough;
# carry them too), its held-out pairs from $TRACE.
set -u
OUT=${OUT:-/tmp/device-out}
TRACE=${TRACE:-runs/stdlib_trace}
RUN=${RUN:-runs/expert_retrieval}
STEPS=" ${*:-tests generate training tactic_model} "
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 PYTHONPATH="$PWD"
if [ -d .whl ]; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target /tmp/site .whl/*.whl && export PYTHONPATH="$PWD:/tmp/site"
fi
step() { [[ "$STEPS" == *" $1 "* ]]; }
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$OUT/gpu.txt"
python3 -c "import torch, transformers; print('torch', torch.__version__, 'transformers', transformers.__version__)" \
    | tee -a "$OUT/gpu.txt"
step tests && timeout 150 python3 -m pytest -q -m gpu -p no:cacheprovider \
    tests/prover/policies/test_hf_policy_gpu.py \
    tests/prover/expert/test_tactic_eval.py 2>&1 | tail -20 | tee "$OUT/gpu_tests.txt"
step generate && timeout 300 python3 benchmarks/bench_gpu_generate.py --json "$OUT/generate.json" 2>&1 \
    | tail -40 | tee "$OUT/generate.txt"
step training && timeout 200 python3 benchmarks/bench_training.py --json "$OUT/training.json" 2>&1 \
    | tail -40 | tee "$OUT/training.txt"
step tactic_model && timeout 480 python3 benchmarks/bench_tactic_model.py --trace "$TRACE" --preset gpu \
    --train-seconds 240 --eval-pairs 1000 --eval-batch 32 --json "$OUT/tactic_model_gpu.json" 2>&1 \
    | tail -30 | tee "$OUT/tactic_model.txt"
step tactic_rounds && timeout 480 python3 benchmarks/bench_tactic_rounds.py "$RUN" --trace "$TRACE" \
    --out /tmp/tactic_rounds --preset gpu --train-seconds 120 --heldout-pairs 1000 --eval-batch 32 \
    --json "$OUT/tactic_rounds_gpu.json" 2>&1 | tail -30 | tee "$OUT/tactic_rounds.txt"
exit 0
