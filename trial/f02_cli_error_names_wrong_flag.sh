#!/bin/bash
# Fault: CLI errors name the library's argument instead of the flag the user typed.
#  baselines --kind mdtz      -> "error: --baseline: expected one of ..., an array, a callable, ..." (no --baseline flag here)
#  train-explaingan --classes 3 3 -> "error: classes: expected two different classes" (not "--classes")
# Fixed on branch w47 in commit 08d7386 (test: tests/cli/test_bad_inputs.py::test_cli_error_names_the_flag_the_user_typed).
# Needs a classifier: tfx-explain train-classifier --dataset digits --epochs 1 --out $T/clf
T=${T:-/tmp/w47}; cd "$(dirname "$0")/.."; export TF_CPP_MIN_LOG_LEVEL=2 PYTHONPATH=.
nice -n 19 python3 -m tfx_explain.cli baselines --model $T/clf/model.keras --kind mdtz --target-class 3 --limit 4 --out $T/b 2>&1 | tail -1
nice -n 19 python3 -m tfx_explain.cli train-explaingan --model $T/clf/model.keras --classes 3 3 --steps 1 --out $T/e 2>&1 | tail -1
nice -n 19 python3 -m tfx_explain.cli train-explaingan --model $T/clf/model.keras --classes 3 12 --steps 1 --out $T/e 2>&1 | tail -1
