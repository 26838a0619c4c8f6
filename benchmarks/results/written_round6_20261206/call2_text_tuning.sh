#!/usr/bin/env bash
# Call 2: call 1's model's text encoder tuned once with v12's recipe (gist lr 1e-3) on call 1's corpus, on the same
# warm machine; the tuned weights back as a delta ($OUT/deltas.tar; `encoder_delta.py apply` rebuilds the model).
set -uo pipefail
export PYTHONPATH=$PWD
CHECKPOINT=/tmp/continue_model/model CORPUS=/tmp/continue_model/corpus REPORTS=0 BUDGET=${BUDGET:-420} \
  VARIANTS="v14:2500:64:0.5:1e-4::1e-3" bash benchmarks/device_jobs/tune_text.sh
ls -la "$OUT"
