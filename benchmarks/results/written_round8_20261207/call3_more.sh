#!/usr/bin/env bash
# Run 2026-12-07 09:22-09:30 on one H100 (session 36; call3/), right after round 7's call1_continue.sh and
# `NAME=v16 call2_tune_eval.sh` on the same warm machine: call 2's tuned model (v16) continued once more on call 1's
# corpus (kernels already built), then its text encoder tuned again (v16b). Model parts (fp32, as exported) and
# deltas.tar come back; `encoder_delta.py apply` rebuilds v16b here. Its R@3/FID ran as a fourth call (call3/r3/):
#   BASELINE=motion_core/default_model CHECKPOINT=/tmp/tune_text/models/v16b CORPUS=/tmp/r3corpus \
#     EVALUATOR=.devjob/evaluator LITERAL=0 UNTRAINED=0 PYTHON=python3 T_EVAL=90 OUT=/tmp/r3b \
#     bash benchmarks/device_jobs/eval_r3.sh
set -uo pipefail
export PYTHONPATH=$PWD
mkdir -p /tmp/cm2 && ln -sfn /tmp/continue_model/corpus /tmp/cm2/corpus
touch /tmp/kernels.done
BASE=/tmp/tune_text/models/v16 WORK=/tmp/cm2 CONFIG=train/configs/v7_open_text_gates.json TOTAL=4000 FIT=1 \
  BUDGET=300 RESERVE=30 EVALUATOR=/none bash benchmarks/device_jobs/continue_model.sh
CHECKPOINT=/tmp/cm2/model CORPUS=/tmp/continue_model/corpus REPORTS=0 BUDGET=240 WORK=/tmp/tune2 \
  VARIANTS="v16b:2500:64:0.5:1e-4::1e-3" bash benchmarks/device_jobs/tune_text.sh
ls -la "$OUT"
