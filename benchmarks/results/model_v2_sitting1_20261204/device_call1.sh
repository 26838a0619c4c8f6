#!/bin/bash
# Call 1 of model v2's first sitting: kernels + v2 corpus (+ CMU mocap) -> VAE -> denoiser until the deadline -> export, packed to $OUT.
set -u
cd "$(dirname "$0")/.."
export PYTHONUNBUFFERED=1
T0=$(date +%s); DEADLINE=$((T0 + ${BUDGET:-565}))
W=/tmp/w; mkdir -p $W
stamp(){ echo "[$(date +%H:%M:%S) +$(( $(date +%s) - T0 ))s] $*" | tee -a $OUT/job.log; }
(ONLY=mamba MAX_JOBS=8 bash .device-cache/build_kernels.sh > $W/kernels.log 2>&1) &
kpid=$!
stamp "corpus"
python3 -m train.procedural --out $W/corpus --num ${CLIPS:-20000} --seed 0 --workers 10 > $W/corpus.log 2>&1
stamp "corpus: $(tail -1 $W/corpus.log)"
python3 .devjob/merge_mocap.py $W/corpus .devjob/mocap.tar 2>&1 | tail -1 | tee -a $OUT/job.log
stamp "VAE"
python3 -m train.fit --config .devjob/v2_run.json --data $W/corpus --out $W/run --stage vae --max-steps ${VAE_STEPS:-2000} \
  --precision bf16 --log-every 100 > $W/vae.log 2>&1
stamp "VAE exit $?: $(grep -o '"loss": [0-9.]*' $W/vae.log | tail -1)"
wait $kpid; stamp "kernels: $(tail -1 $W/kernels.log)"
python3 -c "from motion_core.ssm import backends; print('mamba kernels', backends.cuda_ops() is not None)" 2>&1 | tee -a $OUT/job.log
left=$(( DEADLINE - $(date +%s) - 45 ))
steps=$(( left * ${RATE:-75} / 10 )); [ $steps -gt 100 ] || steps=100
stamp "denoiser: $steps steps"
python3 -m train.fit --config .devjob/v2_run.json --data $W/corpus --out $W/run --stage denoiser --vae $W/run/vae/model \
  --word-vectors .devjob/wv --global-batch 512 --max-steps $steps --precision bf16 --keep-models --log-every 100 > $W/train.log 2>&1
stamp "denoiser exit $?"
python3 -m train.export --vae $W/run/vae/model --denoiser $W/run --out $W/model > $W/export.log 2>&1
stamp "export exit $?: $(tail -1 $W/export.log)"
tar -C $W -cf $W/model.tar model && split -b 15000000 -d $W/model.tar $OUT/model.tar.part
cp $W/run/denoiser/log.jsonl $OUT/denoiser_log.jsonl 2>/dev/null; cp $W/run/vae/log.jsonl $OUT/vae_log.jsonl 2>/dev/null
tail -3 $W/train.log >> $OUT/job.log; ls -la $OUT >> $OUT/job.log
stamp "JOB DONE"
