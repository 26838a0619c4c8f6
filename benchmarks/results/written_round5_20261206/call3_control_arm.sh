#!/usr/bin/env bash
# Call 3: the control arm. v12 continued exactly as in call 1 but on the corpus with the round-4 bank (no fifth
# round), refitted, halved, tuned the same way; the tuned model's delta back. Run from a copy of the repository
# whose bank is the round-4 one, so corpus and tuning phrasings both lack round 5.
set -uo pipefail
T0=$(date +%s)
rm -rf /tmp/ctl_repo && mkdir /tmp/ctl_repo && cp -r . /tmp/ctl_repo/ && cd /tmp/ctl_repo
cp .devjob/bank_round4.json train/procedural/written_phrasings.json
export PYTHONPATH=$PWD
mkdir -p "$OUT/ctl"
WORK=/tmp/cm_ctl OUT="$OUT/ctl" CONFIG=train/configs/v7_open_text_gates.json MOCAP=.devjob/mocap.tar.gz WRITTEN=2 \
  TOTAL=1500 BUDGET=${BUDGET:-390} RESERVE=${RESERVE:-120} bash benchmarks/device_jobs/continue_model.sh > /tmp/ctl.out 2>&1
tail -5 /tmp/ctl.out; rm -f "$OUT"/ctl/model.tar.part*
n=ctl; rm -rf /tmp/tuned/$n; mkdir -p /tmp/tuned/$n
timeout $(( 585 - ($(date +%s) - T0) )) python3 -m train.text_tuning --checkpoint /tmp/cm_ctl/model --data /tmp/cm_ctl/corpus \
  --wordnet /tmp/wn/wordnet --out /tmp/tuned/$n/model --steps 2500 --batch 64 --lr 1e-4 --anchor-weight 2.0 --seed 1 \
  --phrasings --phrasing-share 0.5 --device cuda --curve /tmp/tuned/$n/curve.jsonl --gist-lr 1e-3 \
  > /tmp/tuned/$n/tuning.log 2>&1
echo "tuned $n: exit $? after $(( $(date +%s) - T0 )) s"; tail -2 /tmp/tuned/$n/tuning.log
python3 benchmarks/device_jobs/encoder_delta.py extract /tmp/tuned/$n/model /tmp/tuned/$n/delta > /dev/null &&
  tar cf "$OUT/tuned_$n.tar" -C /tmp/tuned --exclude=model $n
ls -laR "$OUT"
