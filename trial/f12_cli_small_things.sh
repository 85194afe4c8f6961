#!/bin/bash
# Report only (CLI messages / docs gap). Needs $T/clf/model.keras (train-classifier --dataset digits --epochs 1).
# 1. train-ganmex with the default (reference) preset on a CPU prints "about 0 min for 1 steps" before the real
#    error (the dataset does not fit the model): the notice should round up / say seconds, and come after the checks.
# 2. `evaluate --limit 4` (no such flag) says "see tfx-explain --help", not the subcommand's --help.
# 3. Docs gap: `explain` takes only dataset names (digits, TFDS names); a user with a folder or an .npy of their own
#    images has no CLI route (--dataset my.npy: "unknown dataset"), and cli.md does not say so.
T=${T:-/tmp/w47}; cd "$(dirname "$0")/.."; export TF_CPP_MIN_LOG_LEVEL=2 PYTHONPATH=.
M=$T/clf/model.keras; f() { grep -v "^I0000\|^E0000\|^W0000\|oneDNN\|cuda\|absl"; }
nice -n 19 python3 -m tfx_explain.cli train-ganmex --model $M --dataset cifar10 --steps 1 --out $T/g1 2>&1 | f | tail -2
nice -n 19 python3 -m tfx_explain.cli evaluate --model $M --dataset digits --limit 4 --out $T/ev 2>&1 | f | tail -1
python3 -c "import numpy as np; np.save('$T/mine.npy', np.zeros((4, 28, 28, 1), np.float32))"
nice -n 19 python3 -m tfx_explain.cli explain --model $M --dataset $T/mine.npy --method saliency --out $T/mine 2>&1 | f | tail -1
