#!/bin/bash
# Trial: everyday CLI mistakes; each should exit 2 with one line naming the flag, and leave no half-written --out.
# Needs a classifier at $T/clf/model.keras (tfx-explain train-classifier --dataset digits --epochs 1 --out $T/clf).
T=${T:-/tmp/w47}; cd "$(dirname "$0")/.."
export TF_CPP_MIN_LOG_LEVEL=2 PYTHONPATH=.
cli() { nice -n 19 python3 -m tfx_explain.cli "$@"; }
try() {
  local label="$1"; shift; local out="$T/o_$(echo "$label" | tr -c 'a-zA-Z0-9' _)"
  rm -rf "$out"
  res=$(cli "$@" --out "$out" 2>&1 | grep -v "^I0000\|^E0000\|^W0000\|oneDNN\|cuda" | tail -4); rc=${PIPESTATUS[0]}
  rc=$(cli "$@" --out "$out" >/dev/null 2>&1; echo $?)
  left=$( [ -e "$out" ] && echo "OUT EXISTS: $(ls "$out" | tr '\n' ' ')" || echo "no out")
  echo "[$label] rc=$rc $left"; echo "$res" | sed 's/^/    /'
}
M=$T/clf/model.keras
try "model missing" explain --model /no/such.keras --dataset digits --method saliency --limit 4
try "model is a dir without keras" explain --model $T --dataset digits --method saliency --limit 4
try "model dir with model.keras" explain --model $T/clf --dataset digits --method saliency --limit 4
try "dataset typo" explain --model $M --dataset digitz --method saliency --limit 4
try "method typo" explain --model $M --dataset digits --method integrated_gradient --limit 4
try "baseline typo" explain --model $M --dataset digits --method integrated_gradients --baseline zeros --limit 4
try "target-class 10" explain --model $M --dataset digits --method saliency --target-class 10 --limit 4
try "target-class -1" explain --model $M --dataset digits --method saliency --target-class -1 --limit 4
try "target-class abc" explain --model $M --dataset digits --method saliency --target-class abc --limit 4
try "limit 0" explain --model $M --dataset digits --method saliency --limit 0
try "limit abc" explain --model $M --dataset digits --method saliency --limit abc
try "set bad option" explain --model $M --dataset digits --method integrated_gradients --set stepz=5 --limit 4
try "set steps str" explain --model $M --dataset digits --method integrated_gradients --set steps=abc --limit 4
try "set no =" explain --model $M --dataset digits --method integrated_gradients --set steps --limit 4
try "input-range bad" explain --model $M --dataset digits --method saliency --input-range 0-1 --limit 4
try "input-range wrong (0,255 for [0,1] data)" explain --model $M --dataset digits --method integrated_gradients --baseline max --input-range 0,255 --limit 4 --set steps=4
try "image-size mismatch" explain --model $M --dataset digits --method saliency --image-size 32 --limit 4
try "split typo" explain --model $M --dataset digits --split tset --method saliency --limit 4
try "shard-size 0" explain --model $M --dataset digits --method saliency --shard-size 0 --limit 4
try "batch-size 0" explain --model $M --dataset digits --method saliency --batch-size 0 --limit 4
try "strategy typo" explain --model $M --dataset digits --method saliency --strategy gpu:9 --limit 4
try "mdts 1-vs-1 ok" explain --model $M --dataset digits --method integrated_gradients --baseline mdts --target-class 3 --limit 4 --set steps=4
try "out is a file" explain --model $M --dataset digits --method saliency --limit 4 --out /etc/hostname
try "evaluate metric typo" evaluate --model $M --dataset digits --methods saliency --baselines zero --metrics aopc_1000x --limit 4
try "evaluate baselines GAN path missing" evaluate --model $M --dataset digits --methods saliency --baselines zero,GAN=/no/dir --metrics aopc_10 --limit 4
try "train-ganmex steps 0" train-ganmex --model $M --dataset digits --steps 0
try "train-ganmex dataset shape mismatch" train-ganmex --model $M --dataset cifar10 --steps 1
try "train-explaingan classes same" train-explaingan --model $M --dataset digits --classes 3 3 --steps 1
try "train-explaingan class 12" train-explaingan --model $M --dataset digits --classes 3 12 --steps 1
try "baselines kind typo" baselines --model $M --dataset digits --kind mdtz --target-class 3 --limit 4
