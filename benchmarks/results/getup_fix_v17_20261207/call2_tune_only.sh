#!/usr/bin/env bash
# Call 2 when the budget is short: call 1's model's text encoder tuned once (v12's recipe, gist lr 1e-3) on call 1's
# corpus; $OUT/deltas.tar only (no R@3/FID). Same warm machine as call 1 (/tmp/continue_model).
set -uo pipefail
export PYTHONPATH=$PWD
NAME=${NAME:-v16}
CHECKPOINT=/tmp/continue_model/model CORPUS=/tmp/continue_model/corpus REPORTS=0 BUDGET=${BUDGET:-250} \
  VARIANTS="$NAME:2500:64:0.5:1e-4::1e-3" bash benchmarks/device_jobs/tune_text.sh
ls -la "$OUT"
