#!/bin/bash
# Session 17 (v7.sh): as v6.sh, but every phase exports the model to $OUT (a lost machine loses nothing).
# Session 16: model v4 = v3's denoiser + text encoder continued (low-LR restart, train/configs/v4_continue.json)
# over v3's VAE, on the 20,000-clip seed-0 corpus compare_denoisers.sh built (/tmp/compare_denoisers/corpus)
# plus CMU x5. Evaluated with compare_denoisers' evaluator (fitted on that corpus's train split) on its test split.
# PHASE=2: copy corpus + mocap, old-model evals in the background, train. PHASE=3: resume, export, evals.
set -u
cd "$(dirname "$0")/.."
export PYTHONUNBUFFERED=1 PYTHONPATH=$PWD
T0=$(date +%s); DEADLINE=$((T0 + ${BUDGET:-560}))
W=/tmp/w7; C=$W; mkdir -p $W
TOTAL=${TOTAL:-3600}
CFG=train/configs/v4_continue.json
stamp(){ echo "[$(date +%H:%M:%S) +$(( $(date +%s) - T0 ))s] $*" | tee -a $OUT/job.log; }
evaluate(){  # evaluate CKPT NAME CAPTIONS [extra]
  timeout 150 python3 -m train.evaluate --checkpoint $1 --data $C/corpus --split test --captions $3 \
    --evaluator $C/evaluator --limit 512 --mm-texts 32 --mm-repeats 10 --device cuda --out $W/eval_$2_$3.json "${@:4}" \
    > $W/eval_$2_$3.log 2>&1
  stamp "eval $2 $3 exit $?: $(tail -2 $W/eval_$2_$3.log | tr '\n' ' ' | cut -c1-300)"
}
resume=()
if [ "${PHASE:-2}" = 2 ]; then
  setsid bash -c 'ONLY=mamba MAX_JOBS=10 bash .device-cache/build_kernels.sh > /tmp/kernels.log 2>&1; touch /tmp/kernels.done' < /dev/null > /dev/null 2>&1 &
  rm -rf $W/corpus; python3 -m train.procedural --out $W/corpus --num 20000 --seed 0 --workers 12 > $W/corpus.log 2>&1
  stamp "corpus exit $?: $(ls $W/corpus/texts | wc -l) texts"
  python3 .devjob/merge_mocap.py $W/corpus .devjob/mocap.tar --repeat 5 2>&1 | tail -1 | tee -a $OUT/job.log
  ( timeout 200 python3 -m train.evaluation.fit_evaluator --data $W/corpus --out $W/evaluator --steps 3000 --time-limit 110 \
      --device cuda --log-every 250 > $W/evaluator.log 2>&1; stamp "evaluator exit $?: $(tail -1 $W/evaluator.log | cut -c1-200)"
    while [ ! -e /tmp/kernels.done ]; do sleep 2; done
    evaluate motion_core/default_model v3 heldout; evaluate motion_core/default_model v3 synonyms ) &
  epid=$!
  while [ ! -e /tmp/kernels.done ]; do sleep 2; done; stamp "kernels: $(tail -1 /tmp/kernels.log)"
else
  resume=(--resume)
  stamp "resuming at step $(python3 -c "import torch;print(torch.load('$W/run/denoiser/state.pt',weights_only=False)['step'])")"
fi
python3 -c "from motion_core.ssm import backends; assert backends.cuda_ops() is not None" || { stamp "no kernels"; exit 3; }
left=$(( DEADLINE - $(date +%s) - ${RESERVE:-40} ))
stamp "denoiser: up to step $TOTAL, time limit ${left}s"
python3 -m train.fit --config $CFG --data $W/corpus --out $W/run --stage denoiser \
  --vae motion_core/default_model --init-from motion_core/default_model \
  --global-batch 512 --max-steps $TOTAL --precision bf16 --log-every 100 \
  --time-limit $left "${resume[@]}" > $W/train.log 2>&1
stamp "denoiser exit $?: $(tail -1 $W/run/denoiser/log.jsonl | cut -c1-220)"
cp $W/run/denoiser/log.jsonl $OUT/denoiser_log.jsonl
grep -v "^\s*$" $W/train.log | tail -3 | cut -c1-300 >> $OUT/job.log
rm -rf $W/model && python3 -m train.export --vae motion_core/default_model --denoiser $W/run --out $W/model > $W/export.log 2>&1
stamp "export exit $?: $(tail -1 $W/export.log | cut -c1-200)"
python3 -m train.half_precision $W/model > $W/half.log 2>&1; stamp "fp16 exit $?: $(tail -1 $W/half.log | cut -c1-200)"
rm -f $W/model.tar; tar -C $W -cf $W/model.tar model && split -b 15000000 -d $W/model.tar $OUT/model.tar.part
stamp "model parts: $(ls $OUT | tr '\n' ' ')"
if [ "${PHASE:-2}" = 2 ]; then
  wait $epid
else
  evaluate $W/model v4 heldout --no-untrained; evaluate $W/model v4 synonyms --no-untrained
fi
tar -C $W -cf $OUT/evals.tar $(cd $W && ls eval_* 2>/dev/null)
stamp "JOB DONE"
