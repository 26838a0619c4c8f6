#!/bin/bash
# Session 13, call 3: eval_r3 again (evaluation now reads captions as the engine does; call 2's non-literal
# runs had crashed on the untrained row), then model_report with and without word readings. Record of what ran.
cd "$(dirname "$0")/../.."
T0=$(date +%s)
(ONLY=mamba MAX_JOBS=10 bash .device-cache/build_kernels.sh > /tmp/kernels.log 2>&1; touch /tmp/kernels.done) &
WAIT_FOR=/tmp/kernels.done PYTHON=python3 WORKERS=6 bash benchmarks/device_jobs/eval_r3.sh > /dev/null 2>&1
echo "eval_r3 done at +$(( $(date +%s) - T0 ))s"; cat $OUT/timings.tsv
left=$(( 575 - ($(date +%s) - T0) ))
per=$(( left / 2 ))
for mode in read literal; do
  flag=""; [ $mode = literal ] && flag="--literal"
  timeout $per python3 benchmarks/model_report.py --device cuda --seeds 2 --paraphrases 1 --synonyms 1 --gt-clips 4 \
    --batch 64 --threads 8 $flag --out $OUT/model_report_$mode.json > $OUT/model_report_$mode.log 2>&1
  echo "model_report $mode exit $? at +$(( $(date +%s) - T0 ))s: $(grep overall $OUT/model_report_$mode.log | tail -1)"
  tail -2 $OUT/model_report_$mode.log
done
