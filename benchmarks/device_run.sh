#!/usr/bin/env bash
# The GPU checks of the project as one prepared run on a lent H100/H200 (the `device` tool runs it in a
# copy of the working tree; results land in $OUT). Wheels the GPU image lacks (trl, datasets and their
# pins) travel in .whl/. Each step has its own time limit so that one failure leaves the others' numbers.
set -u
OUT=${OUT:-/tmp/device-out}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 PYTHONPATH="$PWD"
if [ -d .whl ]; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target /tmp/site .whl/*.whl && export PYTHONPATH="$PWD:/tmp/site"
fi
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$OUT/gpu.txt"
python3 -c "import torch, transformers; print('torch', torch.__version__, 'transformers', transformers.__version__)" \
    | tee -a "$OUT/gpu.txt"
timeout 150 python3 -m pytest -q -m gpu -p no:cacheprovider tests/prover/test_hf_policy_gpu.py 2>&1 \
    | tail -20 | tee "$OUT/gpu_tests.txt"
timeout 300 python3 benchmarks/bench_gpu_generate.py --json "$OUT/generate.json" 2>&1 | tail -40 \
    | tee "$OUT/generate.txt"
timeout 200 python3 benchmarks/bench_training.py --json "$OUT/training.json" 2>&1 | tail -40 \
    | tee "$OUT/training.txt"
