#!/bin/bash
# Call 2 (warm machine only): continue model v2's denoiser from call 1's export, with the CMU clips added.
set -u
cd "$(dirname "$0")/.."
export PYTHONUNBUFFERED=1 PYTHONPATH=$PWD
T0=$(date +%s); DEADLINE=$((T0 + ${BUDGET:-540}))
W=/tmp/w
stamp(){ echo "[$(date +%H:%M:%S) +$(( $(date +%s) - T0 ))s] $*" | tee -a $OUT/job.log; }
[ -d $W/model ] && python3 -c "from motion_core.ssm import backends; assert backends.cuda_ops() is not None" \
  || { stamp "cold machine: no call-1 state or kernels; stopping"; exit 3; }
python3 .devjob/merge_mocap.py $W/corpus .devjob/mocap.tar --keep-stats 2>&1 | tail -1 | tee -a $OUT/job.log
left=$(( DEADLINE - $(date +%s) - 75 ))
steps=$(( left * ${RATE:-68} / 10 ))
stamp "denoiser: +$steps steps from call 1's model"
python3 -m train.fit --config .devjob/v2_run.json --data $W/corpus --out $W/run2 --stage denoiser --vae $W/run/vae/model \
  --init-from $W/model --global-batch 512 --max-steps $steps --precision bf16 --keep-models --log-every 100 > $W/train2.log 2>&1
stamp "denoiser exit $?: $(tail -1 $W/train2.log | cut -c1-200)"
python3 -m train.export --vae $W/run/vae/model --denoiser $W/run2 --out $W/model2 > $W/export2.log 2>&1
stamp "export exit $?: $(tail -1 $W/export2.log)"
timeout 40 python3 -m train.length --checkpoint $W/model2 --data $W/corpus > $W/length.log 2>&1
stamp "length exit $?: $(tail -1 $W/length.log | cut -c1-200)"
tar -C $W -cf $W/model2.tar model2 && split -b 15000000 -d $W/model2.tar $OUT/model2.tar.part
cp $W/run2/denoiser/log.jsonl $OUT/denoiser2_log.jsonl 2>/dev/null
stamp "JOB DONE"
