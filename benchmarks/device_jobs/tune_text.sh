#!/usr/bin/env bash
# Text-tuning variants of one model side by side on the GPU machine, each then measured there with model_report
# beside the untuned model (same seeds and prompts; compare only within the call: GPU figures are not CPU ones).
#
#   VARIANTS="recipe:2500:64:0.5:1e-4 long:6000:64:0.5:1e-4 ..." bash benchmarks/device_jobs/tune_text.sh
#
# Each variant is name:steps:batch:phrasing-share:lr[:bank[:gist-lr]], bank a phrasing bank file (default, or
# empty: the bundled one), gist-lr the learning rate of a sentence gist's projection (a model grafted with
# train.sentence_gist; default lr); `train.text_tuning --device cuda` with --anchor-weight 2 and --seed ${SEED:-1},
# all variants at once.
# Carry ".devjob" with texts.tar.xz (train.txt and texts/ of the model's training corpus: tuning reads only its
# training captions) and wordnet.tar.gz (a WordNet dict folder named wordnet/), and ".device-cache" for the
# kernels, which this script builds in the background unless the machine has them (the evaluation waits).
# Env: CHECKPOINT (default motion_core/default_model), DEVICE (default cuda; cpu for a dry run), REPORT_ARGS
# (model_report's arguments), BUDGET (seconds the whole job may take, default 570: reports still running then
# are stopped, what is done is kept), OUT, CORPUS (a corpus already on the machine, e.g. continue_model.sh's
# /tmp/continue_model/corpus, instead of .devjob/texts.tar.xz), REPORTS=0 (tune and send the deltas only: the
# one-tuning-per-model step after a continuation, measured on the CPU afterwards).
#
# Timing (one H100, 2026-12-06): five variants at once, beside the kernel build, took 576 s to tune (2,500 steps
# at batch 64: ~240 s each; 6,000 steps, or 2,500 at batch 256: ~500 s), leaving no time to report in a 600-s
# call: tune at most three short variants per call, or report here on the CPU from the deltas.
#
# Writes $OUT/deltas.tar (per variant, the tuned encoder weights and config: `encoder_delta.py apply
# CHECKPOINT DIR OUT` rebuilds the model here) as soon as the tunings end, then $OUT/results.tar.gz (logs,
# curves, one model_report JSON per variant and base.json for the untuned model).
set -uo pipefail
T0=$(date +%s)
OUT=${OUT:-/tmp/out}; BUDGET=${BUDGET:-570}; SEED=${SEED:-1}; DEVICE=${DEVICE:-cuda}
CHECKPOINT=${CHECKPOINT:-motion_core/default_model}
REPORT_ARGS=${REPORT_ARGS:---seeds 2 --paraphrases 2 --synonyms 1 --gt-clips 4 --batch 64 --training 2}
WORK=/tmp/tune_text; RESULTS=$WORK/results
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*"; }
left() { echo $(( BUDGET - ($(date +%s) - T0) )); }
source "$(dirname "$0")/kernels.sh"   # kernels_ready, start_kernel_build

[ -n "${VARIANTS:-}" ] || { echo "set VARIANTS (see the head of this script)"; exit 2; }
rm -rf "$WORK"   # an earlier call's variants would be packed with this call's
mkdir -p "$OUT" "$WORK/corpus" "$WORK/models" "$WORK/deltas" "$RESULTS"
if [ "$DEVICE" = cuda ]; then ( start_kernel_build ); fi   # a subshell's job: the tunings' `wait` skips it
if [ -n "${CORPUS:-}" ]; then rmdir "$WORK/corpus" && ln -s "$(realpath "$CORPUS")" "$WORK/corpus"
else tar xJf .devjob/texts.tar.xz -C "$WORK/corpus"; fi || exit 2
tar xzf .devjob/wordnet.tar.gz -C "$WORK" || exit 2

names=()
for variant in $VARIANTS; do
  IFS=: read -r name steps batch share lr bank gist_lr <<< "$variant"
  names+=("$name"); mkdir -p "$RESULTS/$name"
  python3 -m train.text_tuning --checkpoint "$CHECKPOINT" --data "$WORK/corpus" --wordnet "$WORK/wordnet" \
    --out "$WORK/models/$name" --steps "$steps" --batch "$batch" --lr "$lr" --anchor-weight 2.0 --seed "$SEED" \
    --phrasings ${bank:+"$bank"} --phrasing-share "$share" ${gist_lr:+--gist-lr "$gist_lr"} --device "$DEVICE" \
    --curve "$RESULTS/$name/curve.jsonl" \
    > "$RESULTS/$name/tuning.log" 2>&1 &
done
stamp "tuning ${names[*]}"
wait
for name in "${names[@]}"; do
  tail -2 "$RESULTS/$name/tuning.log" | sed "s/^/$name: /"
  python3 benchmarks/device_jobs/encoder_delta.py extract "$WORK/models/$name" "$WORK/deltas/$name" > /dev/null
done
tar cf "$OUT/deltas.tar" -C "$WORK" deltas && stamp "deltas: $(du -h "$OUT/deltas.tar" | cut -f1)"
[ "${REPORTS:-1}" = 0 ] && { tar czf "$OUT/results.tar.gz" -C "$WORK" results; stamp "no reports (REPORTS=0)"; exit 0; }

while [ "$DEVICE" = cuda ] && [ ! -e /tmp/kernels.done ] && ! kernels_ready 2> /dev/null && [ "$(left)" -gt 120 ]
do sleep 2; done
kernels_ready 2> /dev/null && stamp "kernels ready" || stamp "no kernels: reporting with the torch scan"
report() {  # $1 = model folder, $2 = report name
  local limit=$(( $(left) - 15 )); [ "$limit" -gt 30 ] || limit=30
  timeout "$limit" python3 benchmarks/model_report.py $REPORT_ARGS --checkpoint "$1" --device "$DEVICE" \
    --out "$RESULTS/$2.json" > "$RESULTS/$2.log" 2>&1
}
report "$CHECKPOINT" base &
for name in "${names[@]}"; do report "$WORK/models/$name" "$name/report" & done
wait
stamp "reports done"
for json in "$RESULTS"/base.json "$RESULTS"/*/report.json; do
  [ -e "$json" ] && python3 -c "import json, sys; o = json.load(open(sys.argv[1]))['overall']
print(sys.argv[1], *(f'{k} {o[k]:.3f}' for k in ('pass_rate', 'paraphrase_pass_rate', 'synonym_pass_rate',
      'training_pass_rate', 'skating') if o.get(k) is not None))" "$json"
done
tar czf "$OUT/results.tar.gz" -C "$WORK" results && stamp "results packed"
