#!/bin/bash
# Model v2, second sitting: ONE LR schedule of TOTAL denoiser steps spread over several calls on one warm machine.
# First call: kernels (bg) + corpus + CMU mocap (x REPEAT) + VAE, then denoiser until the deadline; later calls --resume.
# Every call exports the EMA model (float16) to $OUT, so a lost machine loses at most one call.
set -u
cd "$(dirname "$0")/.."
export PYTHONUNBUFFERED=1 PYTHONPATH=$PWD
T0=$(date +%s); DEADLINE=$((T0 + ${BUDGET:-560}))
W=/tmp/w; mkdir -p $W
TOTAL=${TOTAL:-9000}
stamp(){ echo "[$(date +%H:%M:%S) +$(( $(date +%s) - T0 ))s] $*" | tee -a $OUT/job.log; }
resume=()
if [ -f $W/run/denoiser/state.pt ]; then
  resume=(--resume)
  python3 -c "from motion_core.ssm import backends; assert backends.cuda_ops() is not None" || { stamp "no kernels"; exit 3; }
  stamp "warm: resuming at step $(python3 -c "import torch;print(torch.load('$W/run/denoiser/state.pt',weights_only=False)['step'])")"
else
  [ "${FIRST:-0}" = 1 ] || { stamp "cold machine and FIRST!=1: stopping"; exit 3; }
  (ONLY=mamba MAX_JOBS=10 bash .device-cache/build_kernels.sh > $W/kernels.log 2>&1) &
  kpid=$!
  stamp "corpus"
  python3 -m train.procedural --out $W/corpus --num ${CLIPS:-20000} --seed 0 --workers 12 > $W/corpus.log 2>&1
  stamp "corpus exit $?: $(tail -1 $W/corpus.log | cut -c1-200)"
  python3 .devjob/merge_mocap.py $W/corpus .devjob/mocap.tar --repeat ${REPEAT:-5} 2>&1 | tail -1 | tee -a $OUT/job.log
  stamp "VAE"
  python3 -m train.fit --config .devjob/v2_run.json --data $W/corpus --out $W/run --stage vae --max-steps ${VAE_STEPS:-2000} \
    --precision bf16 --log-every 100 > $W/vae.log 2>&1
  stamp "VAE exit $?: $(grep -o '"loss": [0-9.]*' $W/run/vae/log.jsonl | tail -1)"
  wait $kpid; stamp "kernels: $(tail -1 $W/kernels.log)"
  python3 -c "from motion_core.ssm import backends; print('mamba kernels', backends.cuda_ops() is not None)" 2>&1 | tee -a $OUT/job.log
fi
left=$(( DEADLINE - $(date +%s) - ${RESERVE:-55} ))
stamp "denoiser: up to step $TOTAL, time limit ${left}s"
python3 -m train.fit --config .devjob/v2_run.json --data $W/corpus --out $W/run --stage denoiser --vae $W/run/vae/model \
  --word-vectors .devjob/wv --global-batch 512 --max-steps $TOTAL --precision bf16 --log-every 100 \
  --time-limit $left "${resume[@]}" > $W/train.log 2>&1
stamp "denoiser exit $?: $(tail -1 $W/run/denoiser/log.jsonl | cut -c1-220)"
rm -rf $W/model && python3 -m train.export --vae $W/run/vae/model --denoiser $W/run --out $W/model > $W/export.log 2>&1
stamp "export exit $?: $(tail -1 $W/export.log | cut -c1-200)"
python3 -m train.half_precision $W/model > $W/half.log 2>&1; stamp "fp16 exit $?: $(tail -1 $W/half.log | cut -c1-200)"
tar -C $W -cf $W/model.tar model && split -b 15000000 -d $W/model.tar $OUT/model.tar.part
cp $W/run/denoiser/log.jsonl $OUT/denoiser_log.jsonl; cp $W/run/vae/log.jsonl $OUT/vae_log.jsonl 2>/dev/null
grep -v "^\s*$" $W/train.log | tail -4 | cut -c1-300 >> $OUT/job.log
stamp "JOB DONE"
