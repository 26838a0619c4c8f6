#!/usr/bin/env bash
# Call 2 of 2, same warm machine: call 1's model's text encoder tuned once with v12's recipe (gist lr 1e-3) on call 1's
# corpus ($OUT/deltas.tar; `encoder_delta.py apply` rebuilds the model here), then R@3/FID of the tuned model beside
# v14 (bundled) with session 30's evaluator (.devjob/evaluator) on the same 8,000-clip corpus, regenerated while the
# tuning runs (seed 0, --split-of 20000). eval_r3's files come back packed as $OUT/r3.tar. NAME: the tuned model's
# name (v15 when it ran; the next round's call passes NAME=v16).
set -uo pipefail
export PYTHONPATH=$PWD
NAME=${NAME:-v15}
python3 -m train.procedural --out /tmp/r3corpus --num 8000 --seed 0 --split-of 20000 --workers 6 > /dev/null 2>&1 &
CHECKPOINT=/tmp/continue_model/model CORPUS=/tmp/continue_model/corpus REPORTS=0 BUDGET=240 \
  VARIANTS="$NAME:2500:64:0.5:1e-4::1e-3" bash benchmarks/device_jobs/tune_text.sh
wait; ls /tmp/r3corpus/texts | wc -l
BASELINE=motion_core/default_model CHECKPOINT=/tmp/tune_text/models/$NAME CORPUS=/tmp/r3corpus \
  EVALUATOR=.devjob/evaluator LITERAL=0 UNTRAINED=0 PYTHON=python3 T_EVAL=90 OUT=/tmp/r3out \
  bash benchmarks/device_jobs/eval_r3.sh > /dev/null 2>&1
tail -8 /tmp/r3out/log.txt; tar -C /tmp -cf "$OUT/r3.tar" r3out; ls -la "$OUT"
