#!/usr/bin/env bash
# The precision benchmark on a lent GPU machine (Keras 3 on JAX; no TensorFlow there).
# Needs the keras, namex and optree wheels for Python 3.12 in .whl/ (see BENCHMARKS.md).
set -euo pipefail
out=${OUT:-/tmp}
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
export PYTHONPATH=/tmp/site:$PWD/inst/python KERAS_BACKEND=jax PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv | tee "$out/gpu.txt"
python3 -c "import jax, keras, kerascraft as kc; print('jax', jax.__version__, 'keras', keras.__version__); print(kc.use_mixed_precision('auto'))" | tee -a "$out/gpu.txt"
python3 bench/precision.py --scale large --policies float32,mixed_float16,mixed_bfloat16 \
  --highest-baseline --repeats "${REPEATS:-3}" --epochs 3 --out "$out/precision-gpu.json" | tee "$out/precision-gpu.md"
