#!/usr/bin/env bash
# Call 2: the gist arm resumed to step 2,000 (call 1's time guard stopped it at 1,500), refitted and halved; beside
# it the control arm: v11 continued the same way on the same corpus without the gist. Kept as it ran: its tune()
# is never called (the gist arm's tuning, planned here, would not have fitted the call; both tunings ran in call 3,
# call3_text_tuning.sh), and the WordNet it unpacks is what call 3 used.
set -uo pipefail
export PYTHONPATH=$PWD
T0=$(date +%s)
G=/tmp/continue_model
mkdir -p /tmp/wn && tar xzf .devjob/wordnet.tar.gz -C /tmp/wn
mkdir -p /tmp/cm_control/corpus "$OUT/control" "$OUT/gist" && cp -r $G/corpus/. /tmp/cm_control/corpus/
WORK=/tmp/cm_control OUT="$OUT/control" CONFIG=train/configs/v7_open_text_gates.json WRITTEN=2 TOTAL=2000 \
  BUDGET=560 RESERVE=130 bash benchmarks/device_jobs/continue_model.sh > /tmp/control.out 2>&1 &
RESUME=1 BASE=/tmp/g10 OUT="$OUT/gist" CONFIG=train/configs/v7_open_text_gates.json WRITTEN=2 TOTAL=2000 \
  BUDGET=420 RESERVE=160 bash benchmarks/device_jobs/continue_model.sh > /tmp/gist2.out 2>&1
cat /tmp/gist2.out
tune() {  # $1 checkpoint, $2 name, $3... extra arguments
  local m=$1 n=$2; shift 2; mkdir -p /tmp/tuned/$n
  python3 -m train.text_tuning --checkpoint $m --data $G/corpus --wordnet /tmp/wn/wordnet --out /tmp/tuned/$n/model \
    --steps 2500 --batch 64 --lr 1e-4 --anchor-weight 2.0 --seed 1 --phrasings --phrasing-share 0.5 --device cuda \
    --curve /tmp/tuned/$n/curve.jsonl "$@" > /tmp/tuned/$n/tuning.log 2>&1
  echo "tuned $n: exit $? after $(( $(date +%s) - T0 )) s"; tail -2 /tmp/tuned/$n/tuning.log
  python3 benchmarks/device_jobs/encoder_delta.py extract /tmp/tuned/$n/model /tmp/tuned/$n/delta > /dev/null &&
    tar cf "$OUT/tuned_$n.tar" -C /tmp/tuned --exclude=model $n
}
wait
cat /tmp/control.out; echo "call 2 done after $(( $(date +%s) - T0 )) s"
tar cf "$OUT/logs.tar" -C "$OUT" --remove-files control/job.log control/denoiser_log.jsonl gist/job.log gist/denoiser_log.jsonl
ls -R "$OUT"
