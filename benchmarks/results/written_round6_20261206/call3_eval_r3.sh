#!/usr/bin/env bash
# Call 3: R@3/FID of the tuned model (still on the warm machine from call 2) beside v13 (bundled), with session 30's
# evaluator carried as .devjob/evaluator (the one every CPU R@3 figure since v12 used) on the same 8,000-clip corpus,
# regenerated here (seed 0, --split-of 20000: the clips are the same).
export PYTHONPATH=$PWD
source benchmarks/device_jobs/kernels.sh; kernels_ready && echo kernels ok
python3 -m train.procedural --out /tmp/r3corpus --num 8000 --seed 0 --split-of 20000 --workers 16 > /dev/null 2>&1
ls /tmp/r3corpus/texts | wc -l
BASELINE=motion_core/default_model CHECKPOINT=/tmp/tune_text/models/v14 CORPUS=/tmp/r3corpus EVALUATOR=.devjob/evaluator \
  LITERAL=0 UNTRAINED=0 PYTHON=python3 T_EVAL=90 bash benchmarks/device_jobs/eval_r3.sh > /dev/null 2>&1
tail -8 "$OUT/log.txt"; ls "$OUT"
