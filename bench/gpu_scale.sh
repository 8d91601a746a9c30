#!/usr/bin/env bash
# Step fusion and mixed precision on one lent GPU (Keras 3 on JAX; no TensorFlow there).
# Needs the keras, namex and optree wheels for Python 3.12 in .whl/ (see BENCHMARKS.md).
set -euo pipefail
out=${OUT:-/tmp}
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
export PYTHONPATH=/tmp/site:$PWD/inst/python KERAS_BACKEND=jax PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv | tee "$out/gpu.txt"
python3 bench/scale.py gpu --repeats "${REPEATS:-3}" | tee "$out/scale-gpu.md"
