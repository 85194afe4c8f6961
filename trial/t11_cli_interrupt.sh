#!/bin/bash
# Trial: Ctrl-C during `explain` and `train-ganmex`, then the same command again; and --out pointing at a file.
T=${T:-/tmp/w47}; cd "$(dirname "$0")/.."; export TF_CPP_MIN_LOG_LEVEL=2 PYTHONPATH=.
M=$T/clf/model.keras
f() { grep -v "^I0000\|^E0000\|^W0000\|oneDNN\|cuda\|absl"; }
echo "== out is a file"; nice -n 19 python3 -m tfx_explain.cli explain --model $M --dataset digits --method saliency --limit 4 --out /etc/hostname 2>&1 | f | tail -2; echo "rc=${PIPESTATUS[0]}"
for cmd in "explain --model $M --dataset digits --method integrated_gradients --set steps=64 --shard-size 16 --limit 200 --out $T/int_explain" \
           "train-ganmex --model $M --dataset digits --preset cpu --steps 400 --out $T/int_ganmex"; do
  rm -rf $T/int_explain $T/int_ganmex
  echo "== SIGINT: $cmd"
  nice -n 19 python3 -m tfx_explain.cli $cmd > $T/int.log 2>&1 &
  pid=$!; sleep 22; kill -INT $pid; wait $pid; echo "rc=$?"; f < $T/int.log | tail -3
  d=$(echo $cmd | sed 's/.*--out //'); echo "left:"; find $d -maxdepth 2 | head -20
  find $d -name "*.tmp*" -o -name ".*tmp*" | sed 's/^/  TEMP LEFT: /'
  echo "== again"; timeout 300 nice -n 19 python3 -m tfx_explain.cli $cmd 2>&1 | f | tail -3
done
