#!/bin/bash
# Session 13 (2026-12-04): the bundled model asked in held-out words, with word readings (default) and without
# (--literal), same seeds, on one H200. Record of what ran; results land in $OUT.
set -u
cd "$(dirname "$0")/../.."
export PYTHONUNBUFFERED=1 PYTHONPATH=$PWD
T0=$(date +%s)
stamp(){ echo "[$(date +%H:%M:%S) +$(( $(date +%s) - T0 ))s] $*" | tee -a $OUT/readings_job.log; }
SEEDS=${SEEDS:-4}
for mode in read literal; do
  flag=""; [ $mode = literal ] && flag="--literal"
  stamp "model_report $mode (seeds $SEEDS, 2 paraphrases + 1 synonym per action)"
  timeout ${MR_LIMIT:-200} python3 benchmarks/model_report.py --device cuda --seeds $SEEDS --paraphrases 2 --synonyms 1 \
    --batch 64 --threads 8 $flag --out $OUT/model_report_$mode.json > /tmp/mr_$mode.log 2>&1
  stamp "exit $?: $(grep overall /tmp/mr_$mode.log | tail -1)"
done
for phrasing in unseen v2; do
  for mode in read literal; do
    flag=""; [ $mode = literal ] && flag="--literal"
    stamp "action_checks $phrasing $mode"
    timeout ${AC_LIMIT:-60} python3 benchmarks/action_checks.py --device cuda --alone 4 --seconds auto \
      --phrasing $phrasing $flag --out $OUT/action_checks_${phrasing}_$mode.json > /tmp/ac.log 2>&1
    stamp "exit $?: $(tail -2 /tmp/ac.log | tr '\n' ' ' | cut -c1-300)"
  done
done
