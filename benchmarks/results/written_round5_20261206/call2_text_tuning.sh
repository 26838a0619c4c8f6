#!/usr/bin/env bash
# Call 2: call 1's model's text encoder tuned once with v12's recipe (v11's + gist lr 1e-3); the tuned weights back
# as a delta (benchmarks/device_jobs/encoder_delta.py).
set -uo pipefail
export PYTHONPATH=$PWD
T0=$(date +%s)
mkdir -p /tmp/wn && tar xzf .devjob/wordnet.tar.gz -C /tmp/wn
n=v13; rm -rf /tmp/tuned/$n; mkdir -p /tmp/tuned/$n
timeout 400 python3 -m train.text_tuning --checkpoint /tmp/continue_model/model --data /tmp/continue_model/corpus \
  --wordnet /tmp/wn/wordnet --out /tmp/tuned/$n/model --steps 2500 --batch 64 --lr 1e-4 --anchor-weight 2.0 --seed 1 \
  --phrasings --phrasing-share 0.5 --device cuda --curve /tmp/tuned/$n/curve.jsonl --gist-lr 1e-3 \
  > /tmp/tuned/$n/tuning.log 2>&1
echo "tuned $n: exit $? after $(( $(date +%s) - T0 )) s"; tail -2 /tmp/tuned/$n/tuning.log
python3 benchmarks/device_jobs/encoder_delta.py extract /tmp/tuned/$n/model /tmp/tuned/$n/delta > /dev/null &&
  tar cf "$OUT/tuned_$n.tar" -C /tmp/tuned --exclude=model $n
ls -la "$OUT"
