#!/bin/bash
# Session 14: model v3 = the bundled model fine-tuned on corpus v3 (floor actions, travelling/counted hops and
# jumps, wider training phrasings): its VAE fine-tuned (floor poses), then its denoiser continued over that VAE.
# Call 1 (FIRST=1): kernels (bg) + corpus + CMU mocap + VAE fine-tune; then the denoiser. Later calls: --resume.
set -u
cd "$(dirname "$0")/.."
export PYTHONUNBUFFERED=1 PYTHONPATH=$PWD
T0=$(date +%s); DEADLINE=$((T0 + ${BUDGET:-570}))
W=/tmp/w; mkdir -p $W
TOTAL=${TOTAL:-8000}
CFG=train/configs/v3_continue.json
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
  stamp "VAE fine-tune from the bundled model"
  python3 -m train.fit --config $CFG --data $W/corpus --out $W/run --stage vae --init-from motion_core/default_model \
    --max-steps ${VAE_STEPS:-2000} --precision bf16 --log-every 100 > $W/vae.log 2>&1
  stamp "VAE exit $?: $(tail -1 $W/run/vae/log.jsonl | cut -c1-200)"
  cp $W/run/vae/log.jsonl $OUT/vae_log.jsonl
  wait $kpid; stamp "kernels: $(tail -1 $W/kernels.log)"
  python3 -c "from motion_core.ssm import backends; print('mamba kernels', backends.cuda_ops() is not None)" 2>&1 | tee -a $OUT/job.log
fi
left=$(( DEADLINE - $(date +%s) - ${RESERVE:-50} ))
stamp "denoiser: up to step $TOTAL, time limit ${left}s"
python3 -m train.fit --config $CFG --data $W/corpus --out $W/run --stage denoiser \
  --vae $W/run/vae/model --init-from motion_core/default_model \
  --global-batch 512 --max-steps $TOTAL --precision bf16 --log-every 100 \
  --time-limit $left "${resume[@]}" > $W/train.log 2>&1
stamp "denoiser exit $?: $(tail -1 $W/run/denoiser/log.jsonl | cut -c1-220)"
rm -rf $W/model && python3 -m train.export --vae $W/run/vae/model --denoiser $W/run --out $W/model > $W/export.log 2>&1
stamp "export exit $?: $(tail -1 $W/export.log | cut -c1-200)"
python3 -m train.half_precision $W/model > $W/half.log 2>&1; stamp "fp16 exit $?: $(tail -1 $W/half.log | cut -c1-200)"
rm -f $W/model.tar; tar -C $W -cf $W/model.tar model && split -b 15000000 -d $W/model.tar $OUT/model.tar.part
cp $W/run/denoiser/log.jsonl $OUT/denoiser_log.jsonl
grep -v "^\s*$" $W/train.log | tail -3 | cut -c1-300 >> $OUT/job.log
stamp "JOB DONE"
