#!/usr/bin/env bash
# Call 3: both arms' text encoders tuned at once with v11's recipe (gist arm: gist lr 1e-3), deltas back.
set -uo pipefail
export PYTHONPATH=$PWD
T0=$(date +%s)
tune() {  # $1 checkpoint, $2 name, $3... extra arguments
  local m=$1 n=$2; shift 2; rm -rf /tmp/tuned/$n; mkdir -p /tmp/tuned/$n
  timeout 500 python3 -m train.text_tuning --checkpoint $m --data /tmp/continue_model/corpus --wordnet /tmp/wn/wordnet \
    --out /tmp/tuned/$n/model --steps 2500 --batch 64 --lr 1e-4 --anchor-weight 2.0 --seed 1 --phrasings \
    --phrasing-share 0.5 --device cuda --curve /tmp/tuned/$n/curve.jsonl "$@" > /tmp/tuned/$n/tuning.log 2>&1
  echo "tuned $n: exit $? after $(( $(date +%s) - T0 )) s"; tail -2 /tmp/tuned/$n/tuning.log
  python3 benchmarks/device_jobs/encoder_delta.py extract /tmp/tuned/$n/model /tmp/tuned/$n/delta > /dev/null &&
    tar cf "$OUT/tuned_$n.tar" -C /tmp/tuned --exclude=model $n
}
tune /tmp/continue_model/model gist --gist-lr 1e-3 &
tune /tmp/cm_control/model control &
wait; ls -la "$OUT"
