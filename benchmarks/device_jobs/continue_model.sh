#!/usr/bin/env bash
# Continue the bundled model on the GPU for one call, exporting at its end (only the repository outlives a
# machine). Issue 21: model v5 = the bundled model grown with text attention at two more U-Net levels
# (train/configs/v5_text_levels.json; `--init-from` keeps every trained tensor, the new gates start shut).
#
#   setsid bash -c 'ONLY=mamba MAX_JOBS=10 bash .device-cache/build_kernels.sh > /tmp/kernels.log 2>&1;
#     touch /tmp/kernels.done' < /dev/null > /dev/null 2>&1 &        # unless this machine built them already
#   CONFIG=train/configs/v5_text_levels.json MOCAP=.devjob/mocap.tar.gz bash benchmarks/device_jobs/continue_model.sh
#
# Corpus: the bundled model's (20,000 procedural clips, seed 0; copied from compare_denoisers.sh's work folder when
# that ran on this machine) plus the converted CMU clips (MOCAP: a tar.gz of `python -m train.mocap`'s output,
# merged by MERGE with each training clip listed REPEAT times). Then: train until TOTAL steps or the time guard,
# export, copy the bundled model's vocabulary section (same corpus, same words; its WordNet readings need
# WordNet, which the device lacks), split the model into $OUT parts of 15 MB; then, time allowing, refit the
# length predictor, halve to fp16 and pack again.
# WRITTEN=K adds K training captions per clip in the written phrasings (`python -m train.procedural
# --written-phrasings K`; the corpus is then generated here, never copied). Keep the copied vocabulary section (the
# procedural captions' core words): rebuilt on the written corpus's words, the readings stop reading words the
# written phrasings bring into the core words the model knows better, and v8's held-out pass fell 0.701 -> 0.650
# (benchmarks/results/readings_v8_20261206/).
# FIT=1 fits the LR schedule to the time limit as the step rate is measured (`train.fit --fit-schedule-to-time`):
# TOTAL is then an upper bound, and a call on a slower card still ends annealed instead of cut off mid-cosine.
# If an evaluator exists (EVALUATOR, fitted by compare_denoisers.sh on the same corpus), R@3/FID on held-out
# paraphrases go to $OUT too. RESUME=1 continues $W/run instead of starting from the bundled model; BASE=DIR
# starts from another (a model with a sentence gist: graft and apply its tuning's delta in the same call, e.g.
# `python3 -m train.sentence_gist ... --out /tmp/g && python3 benchmarks/device_jobs/encoder_delta.py apply /tmp/g
# .devjob/DELTA /tmp/g10 && BASE=/tmp/g10 ...`: the tree and carry must stay under 64 MiB).
set -uo pipefail
: "${OUT:?set OUT}" "${CONFIG:?set CONFIG}"
cd "$(dirname "$0")/../.."
export PYTHONUNBUFFERED=1 PYTHONPATH=$PWD
T0=$(date +%s); DEADLINE=$((T0 + ${BUDGET:-570}))
W=${WORK:-/tmp/continue_model}; mkdir -p "$W"
BASE=${BASE:-motion_core/default_model}   # the model to continue (e.g. one grafted with train.sentence_gist)
EVALUATOR=${EVALUATOR:-/tmp/compare_denoisers/evaluator}
stamp() { echo "[$(date +%T) +$(( $(date +%s) - T0 ))s] $*" | tee -a "$OUT/job.log"; }
source benchmarks/device_jobs/kernels.sh   # kernels_ready

# A fresh machine has no kernels: without a build under way (its log) the job would wait 400 s for nothing (it did
# once, when the machine that had built them was given back between two calls), so it stops here at once.
if [ ! -e /tmp/kernels.done ] && [ ! -e /tmp/kernels.log ] && ! kernels_ready 2> /dev/null; then
  stamp "no mamba kernels and no build under way: start build_kernels.sh in the background first (see above)"
  exit 3
fi
if [ ! -d "$W/corpus/texts" ]; then
  if [ -d /tmp/compare_denoisers/corpus/texts ] && [ "${WRITTEN:-0}" = 0 ]; then
    cp -r /tmp/compare_denoisers/corpus "$W/corpus"
  else python3 -m train.procedural --out "$W/corpus" --num 20000 --seed 0 --workers 12 \
    --written-phrasings "${WRITTEN:-0}" > "$W/corpus.log" 2>&1; fi
  stamp "corpus: $(ls "$W/corpus/texts" | wc -l) texts"
  if [ -n "${MOCAP:-}" ]; then
    python3 "${MERGE:-benchmarks/device_jobs/merge_mocap.py}" "$W/corpus" "$MOCAP" --repeat "${REPEAT:-5}" 2>&1 | tail -1 | tee -a "$OUT/job.log"
  fi
fi
touch "$W/corpus.ready"   # refine_decoder.sh, when it runs beside this job, trains on the same corpus
while [ ! -e /tmp/kernels.done ] && [ $(( $(date +%s) - T0 )) -lt 400 ]; do sleep 2; done
kernels_ready || { stamp "no kernels"; exit 3; }
if [ "${RESUME:-0}" = 1 ]; then start=(--resume); else rm -rf "$W/run"; start=(--init-from "$BASE"); fi
left=$(( DEADLINE - $(date +%s) - ${RESERVE:-110} ))
stamp "train: up to step ${TOTAL:-2400}, time limit ${left}s"
python3 -m train.fit --config "$CONFIG" --data "$W/corpus" --out "$W/run" --stage denoiser --vae "$BASE" \
  "${start[@]}" --global-batch 512 --max-steps "${TOTAL:-2400}" --precision bf16 --log-every 100 \
  --time-limit "$left" ${FIT:+--fit-schedule-to-time} > "$W/train.log" 2>&1
stamp "train exit $?: $(tail -1 "$W/run/denoiser/log.jsonl" | cut -c1-200)"
cp "$W/run/denoiser/log.jsonl" "$OUT/denoiser_log.jsonl"
rm -rf "$W/model" && python3 -m train.export --vae "$BASE" --denoiser "$W/run" --out "$W/model" > "$W/export.log" 2>&1
stamp "export exit $?"
python3 - "$W/model/config.json" "$BASE/config.json" <<'PY'
import json, sys
ours, base = (json.load(open(p)) for p in sys.argv[1:])
ours["vocabulary"] = base["vocabulary"]
json.dump(ours, open(sys.argv[1], "w"), indent=1)
PY
pack() {
  rm -f "$OUT"/model.tar.part* && tar -C "$W" -cf "$W/model.tar" model &&
    split -b 15000000 -d "$W/model.tar" "$OUT/model.tar.part"
}
# The model comes back first, as exported (a call cut off at its limit returns what $OUT holds, nothing of /tmp);
# then the length predictor is refitted for the new text encoder and the model halved, if time allows. If not,
# run `python3 -m train.length --checkpoint M --data CORPUS` and `python3 -m train.half_precision M` on the CPU.
# A text tuning after this call changes what the predictor reads: refit it once more on the tuned model (CPU,
# ~4 min for 20,000 clips), as v15's was (benchmarks/results/written_round7_20261206/).
pack; stamp "model parts (as exported, fp32): $(ls "$OUT" | tr '\n' ' ')"
if timeout $(( DEADLINE - $(date +%s) - 20 )) python3 -m train.length --checkpoint "$W/model" --data "$W/corpus" \
    > "$W/length.log" 2>&1; then
  stamp "length refitted: $(tail -1 "$W/length.log" | cut -c1-200)"
  python3 -m train.half_precision "$W/model" > "$W/half.log" 2>&1 && pack && stamp "model parts repacked (fp16)"
else stamp "length not refitted (time or error): $(tail -1 "$W/length.log" | cut -c1-200)"; fi
if [ -d "$EVALUATOR" ] && [ $(( DEADLINE - $(date +%s) )) -gt 30 ]; then
  timeout $(( DEADLINE - $(date +%s) )) python3 -m train.evaluate --checkpoint "$W/model" --data "$W/corpus" \
    --split test --captions heldout --evaluator "$EVALUATOR" --limit 512 --mm-texts 32 --mm-repeats 10 \
    --no-untrained --device cuda --out "$OUT/eval_heldout.json" > "$W/eval.log" 2>&1
  stamp "evaluate exit $?: $(tail -1 "$W/eval.log" | cut -c1-200)"
fi
stamp "done"
