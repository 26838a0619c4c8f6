#!/bin/bash
# Session 12: continue model v2 (a second, lower LR schedule from the bundled model, same corpus) over several
# calls on one warm machine, plus GPU measurements (#25 timelines/levers, #23 control latency).
# Call 1 (FIRST=1): kernels (bg) + corpus + CMU mocap; once kernels are in: CUDA tests + BENCH1 benches; then train.
# Later calls: --resume. SPEED=1: after training, the compiled speed levers.
set -u
cd "$(dirname "$0")/.."
export PYTHONUNBUFFERED=1 PYTHONPATH=$PWD
T0=$(date +%s); DEADLINE=$((T0 + ${BUDGET:-560}))
W=/tmp/w; mkdir -p $W
TOTAL=${TOTAL:-6000}
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
  wait $kpid; stamp "kernels: $(tail -1 $W/kernels.log)"
  python3 -c "from motion_core.ssm import backends; print('mamba kernels', backends.cuda_ops() is not None)" 2>&1 | tee -a $OUT/job.log
fi
if [ "${BENCH1:-0}" = 1 ]; then
  stamp "CUDA tests (graph sampler, inpainting capture)"
  python3 -m pytest -q -x tests/test_graph_sampler.py -k "cuda and not compiled" -p no:cacheprovider 2>&1 | tail -3 | tee -a $OUT/job.log
  stamp "timelines: eager vs graphs (10 / 60 / 600 s, DDIM 10)"
  python3 benchmarks/bench_long.py --device cuda --modes eager default --durations 10 60 600 --steps 10 --repeats 1 \
    --no-transitions --profile --out $OUT/bench_long_cuda.json > $W/long.log 2>&1
  stamp "bench_long exit $?"; grep -E "^ +[0-9.]+ +[0-9.]+ +[0-9.]+|ratio|==" $W/long.log | head -20 | tee -a $OUT/job.log
  stamp "control latency on the GPU"
  python3 benchmarks/paths.py --device cuda --paths 0 --pin-takes 0 --latency-repeats 10 --out $W/paths > $W/paths.log 2>&1
  stamp "paths exit $?"; grep latency $W/paths.log | tee -a $OUT/job.log; cp $W/paths/paths.json $OUT/paths_latency_cuda.json
fi
left=$(( DEADLINE - $(date +%s) - ${RESERVE:-55} - ${SPEED_RESERVE:-0} ))
stamp "denoiser: up to step $TOTAL, time limit ${left}s"
python3 -m train.fit --config train/configs/v2_continue.json --data $W/corpus --out $W/run --stage denoiser \
  --vae motion_core/default_model --init-from motion_core/default_model \
  --global-batch 512 --max-steps $TOTAL --precision bf16 --log-every 100 \
  --time-limit $left "${resume[@]}" > $W/train.log 2>&1
stamp "denoiser exit $?: $(tail -1 $W/run/denoiser/log.jsonl | cut -c1-220)"
rm -rf $W/model && python3 -m train.export --vae motion_core/default_model --denoiser $W/run --out $W/model > $W/export.log 2>&1
stamp "export exit $?: $(tail -1 $W/export.log | cut -c1-200)"
python3 -m train.half_precision $W/model > $W/half.log 2>&1; stamp "fp16 exit $?: $(tail -1 $W/half.log | cut -c1-200)"
rm -f $W/model.tar; tar -C $W -cf $W/model.tar model && split -b 15000000 -d $W/model.tar $OUT/model.tar.part
cp $W/run/denoiser/log.jsonl $OUT/denoiser_log.jsonl
grep -v "^\s*$" $W/train.log | tail -4 | cut -c1-300 >> $OUT/job.log
if [ "${SPEED:-0}" = 1 ]; then
  stamp "speed levers, compiled"
  timeout $(( DEADLINE - $(date +%s) - 10 )) python3 benchmarks/speed_levers.py --compile --latents 49 18000 --repeats 10 \
    --variants per-scan+spatial-fold fused-temporal+spatial-fold --packed-lengths 256 512 --no-kernels \
    --out $OUT/levers_compiled.json > $W/levers.log 2>&1
  stamp "levers exit $?"; grep -E "latents|ratio" $W/levers.log | tee -a $OUT/job.log
fi
stamp "JOB DONE"
