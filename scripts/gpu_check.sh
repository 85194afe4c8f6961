#!/usr/bin/env bash
# The prepared GPU check of issue 18 §3 (see scripts/gpu_check.py): one JSON, under 8 minutes on one GPU.
#   scripts/gpu_check.sh                    -> $OUT/gpu_check.json when OUT is set, else bench/gpu_check.json
#   scripts/gpu_check.sh --smoke --out F    -> tiny sizes on the CPU (the test suite runs this)
# Exit status 0 when every section ran and every tolerance check passed.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
export TF_CPP_MIN_LOG_LEVEL="${TF_CPP_MIN_LOG_LEVEL:-2}"
PYTHON="${PYTHON:-python3}"
# a hard stop below the 8-minute promise: the JSON written after each section survives it
exec timeout --signal=TERM --kill-after=10 "${GPU_CHECK_TIMEOUT:-470}" "$PYTHON" scripts/gpu_check.py "$@"
