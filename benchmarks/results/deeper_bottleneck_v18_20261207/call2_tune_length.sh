#!/usr/bin/env bash
# Call 2 (session 41), same warm machine as call 1 (/tmp/continue_model): call 1's model's text encoder tuned once
# with v15's recipe (as v17's), then the length predictor refitted on the tuned model and the model halved, here
# (no CPU corpus rebuild); the finished model comes back in parts of 15 MB.
set -uo pipefail
export PYTHONPATH=$PWD
T0=$(date +%s)
NAME=${NAME:-v18}
CHECKPOINT=/tmp/continue_model/model CORPUS=/tmp/continue_model/corpus REPORTS=0 BUDGET=${TUNE_BUDGET:-280} \
  VARIANTS="$NAME:2500:64:0.5:1e-4::1e-3" bash benchmarks/device_jobs/tune_text.sh
M=/tmp/final/$NAME; rm -rf /tmp/final && mkdir -p /tmp/final && cp -r /tmp/tune_text/models/$NAME "$M" || exit 3
echo "[$(( $(date +%s) - T0 )) s] tuned; length refit" | tee -a "$OUT/job2.log"
python3 -m train.length --checkpoint "$M" --data /tmp/continue_model/corpus > /tmp/final/length.log 2>&1
echo "[$(( $(date +%s) - T0 )) s] length exit $?: $(tail -1 /tmp/final/length.log | cut -c1-200)" | tee -a "$OUT/job2.log"
cp /tmp/final/length.log "$OUT/length_refit.log"
python3 -m train.half_precision "$M" > /tmp/final/half.log 2>&1; echo "half exit $?" | tee -a "$OUT/job2.log"
rm -f "$OUT"/final.tar.part* && tar -C /tmp/final -cf /tmp/final.tar "$NAME" && split -b 15000000 -d /tmp/final.tar "$OUT/final.tar.part"
ls -la "$OUT" | tee -a "$OUT/job2.log"
