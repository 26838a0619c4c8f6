#!/usr/bin/env bash
# Issue 21: the Mamba U-Net against the transformer baseline trained the same way, in one device call (~570 s).
#
#   bash benchmarks/device_jobs/compare_denoisers.sh                # GPU machine, repo root as cwd, $OUT set
#   TINY=1 OUT=/tmp/out bash benchmarks/device_jobs/compare_denoisers.sh   # CPU smoke run of the same chain
#
# Same data, steps, seed, optimiser, batch, text encoder and frozen VAE (the bundled model's); only the denoiser
# differs (train/configs/compare_{mamba,transformer}.json: 5.83 M vs 5.82 M parameters). VARIANTS names the Mamba
# U-Nets to train (default "mamba"; each is train/configs/compare_NAME.json, e.g. mamba_text: text attention at two
# more levels, 6.89 M; mamba_open: the text cross-attention gate starts open, text_gate_init 1; mamba_text_open:
# both; mamba_text_all_open: text attention at every level, gates open, 7.41 M; mamba_text_open_blockmod:
# mamba_text_open + each block's own rank-64 modulation map, 7.70 M; mamba_text_scan: mamba_text_open + 8 summary
# tokens of the prompt leading every temporal scan of every level, 7.15 M); they train side by side once the
# kernels are in, and each is compared with the transformer.
# Steps:
#   1. corpus: $NUM procedural clips (seed 0), built once; both denoisers train on its train split
#   2. word vectors: the bundled model's frozen table (train.word_vectors --from-checkpoint; no download)
#   3. in the background: the transformer (needs no mamba kernels, so it starts at once), then its export,
#      model_report and train.evaluate; and our T2M evaluator, fitted once on the corpus and shared by both
#   4. the Mamba U-Net(s) once the kernels are in (WAIT_FOR), then export, model_report, train.evaluate
#   5. benchmarks/compare_denoisers.py per variant: side-by-side table; INVALID unless both reached $STEPS
# Both train with --max-steps $STEPS and a --time-limit guard that leaves $RESERVE s for what follows.
# Into $OUT: log.txt, timings.tsv, report_NAME.json per model, logs.tar (training logs log_NAME.jsonl), and
# summary_VARIANT.json per Mamba variant (the table, verdict, and both train.evaluate results).
# Knobs (env): VARIANTS, TINY, PYTHON, NUM, WORKERS, STEPS, BATCH, BUDGET, RESERVE, EVAL, WAIT_FOR, WAIT_MAX, WORK,
# SEEDS (model_report's seeds, default 2), LIMIT (test clips train.evaluate scores, default 512).
# A model its time limit stops short of STEPS is checkpointed and not reported; KEEP=1 MODELS=NAME resumes it.
# WAIT_FOR=FILE: mamba training waits (at most WAIT_MAX s) for this file, which the kernel build touches when done
# (success or not: the job then logs whether the kernels load). Launch (carry .device-cache, git-ignored):
#   setsid bash -c 'ONLY=mamba MAX_JOBS=10 bash .device-cache/build_kernels.sh > /tmp/kernels.log 2>&1;
#     touch /tmp/kernels.done' < /dev/null > /dev/null 2>&1 &
#   WAIT_FOR=/tmp/kernels.done PYTHON=python3 bash benchmarks/device_jobs/compare_denoisers.sh
# If the kernels take much over ~300 s the Mamba U-Net cannot reach STEPS in time (verdict INVALID): lower STEPS.
# Longer comparisons span two calls on one warm machine (each model alone gets the whole GPU and the call's budget):
#   MODELS=transformer BUNDLED=1 ... compare_denoisers.sh     # call 1: corpus, evaluator, transformer (+ bundled)
#   KEEP=1 MODELS=mamba_text_open VARIANTS=mamba_text_open ... compare_denoisers.sh   # call 2: reuses $WORK
# MODELS: the denoisers this call trains (default: the transformer and every variant); a variant is compared when
# both it and the transformer have a report in $WORK. KEEP=1 reuses $WORK (corpus, word vectors, evaluator, models
# trained by an earlier call) instead of starting afresh. BUNDLED=1 also scores the bundled model with the same
# evaluator (held-out paraphrases and synonyms of the test split, prompts as the engine reads them), into
# $OUT/eval_bundled_{heldout,synonyms}.json: R@3 and FID of the shipped model beside ground truth's.
set -uo pipefail
: "${OUT:?set OUT to the output folder}"
mkdir -p "$OUT"
exec > >(tee -a "$OUT/log.txt") 2>&1
PY=${PYTHON:-python}
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
T0=$(date +%s)
if [ "${TINY:-0}" = 1 ]; then
  # CPU smoke run: toy widths (configs overridden below), 5 steps, 2 actions; R-precision needs 32 test clips,
  # hence 400 clips (~40 test); the evaluator trains 50 steps (under 40 break its one-cycle LR schedule).
  NUM=${NUM:-400}; WORKERS=${WORKERS:-2}; STEPS=${STEPS:-5}; BATCH=${BATCH:-8}; LOG_EVERY=1; PRECISION=fp32
  SEEDS=1; GT_CLIPS=1; THREADS=1; ONLY=(--only walk jump_in_place); EVAL_STEPS=50; EVAL_TIME=120; LIMIT=32; MM=(2 2)
  BUDGET=${BUDGET:-1200}; RESERVE=${RESERVE:-300}; DEVICE=cpu; T_STEP=600
else
  # GPU (H200, 16 cores): the bundled model's own corpus size (20,000 clips, seed 0), ~100 s with 12 workers while
  # the kernels build (model v3's call: 95 s). Mamba: ~6 steps/s alone at batch 512 (v3's runs), so 800 steps take
  # ~140 s + ~20 s start; it starts when the kernels are in (~240 s into the call: v3's call), by which time the
  # transformer (started at ~110 s) should be done; if they overlap, each gets about half the GPU.
  NUM=${NUM:-20000}; WORKERS=${WORKERS:-12}; STEPS=${STEPS:-800}; BATCH=${BATCH:-512}; LOG_EVERY=50
  PRECISION=bf16; SEEDS=${SEEDS:-2}; GT_CLIPS=4; THREADS=4; ONLY=(); EVAL_STEPS=3000; EVAL_TIME=110
  LIMIT=${LIMIT:-512}; MM=(32 10)
  BUDGET=${BUDGET:-570}; RESERVE=${RESERVE:-100}; DEVICE=cuda; T_STEP=200
fi
EVAL=${EVAL:-1}          # 0: skip the evaluator and train.evaluate (R@3, FID)
WORK=${WORK:-/tmp/compare_denoisers}
VAE=motion_core/default_model   # frozen VAE (and the word vectors' source) shared by both denoisers
[ "${KEEP:-0}" = 1 ] || rm -rf "$WORK"; mkdir -p "$WORK"
source "$(dirname "$0")/steps.sh"   # step NAME TIMEOUT_S COMMAND...

left() { echo $(( T0 + BUDGET - $(date +%s) )); }   # seconds of this call's budget still unspent

evaluate() {  # evaluate STEP TIMEOUT CHECKPOINT CAPTIONS OUT [ARG...]: train.evaluate with the shared evaluator
  local name=$1 limit=$2 checkpoint=$3 captions=$4 out=$5; shift 5
  while [ ! -e "$WORK/evaluator.done" ]; do sleep 2; done
  step "$name" "$limit" $PY -m train.evaluate --checkpoint "$checkpoint" --data "$WORK/corpus" --split test \
    --captions "$captions" --evaluator "$WORK/evaluator" --limit "$LIMIT" --mm-texts "${MM[0]}" \
    --mm-repeats "${MM[1]}" --device "$DEVICE" --out "$out" "$@"
}

run_model() {  # run_model NAME: train (or resume), export, model_report, train.evaluate; all under $WORK/NAME
  local name=$1 dir=$WORK/$1 limit rpid resume=() reached
  [ -f "$dir/report.json" ] && { echo "=== $name: trained and reported by an earlier call (KEEP=1)"; return; }
  limit=$(( $(left) - RESERVE ))   # training's own guard; what is left then covers export, report, evaluate
  # a run an earlier call of this machine stopped at its time limit (KEEP=1) continues on the same LR schedule
  [ -e "$dir/run/denoiser/state.pt" ] && resume=(--resume) && echo "=== $name: resuming its paused run"
  step "train_$name" $(( limit + 120 )) $PY -m train.fit --config "$WORK/cfg_$name.json" --data "$WORK/corpus" \
    --out "$dir/run" --stage denoiser --vae "$VAE" --word-vectors "$WORK/word_vectors" --global-batch "$BATCH" \
    --max-steps "$STEPS" --log-every "$LOG_EVERY" --precision "$PRECISION" --device "$DEVICE" --time-limit "$limit" \
    "${resume[@]}"
  cp "$dir/run/denoiser/log.jsonl" "$dir/log.jsonl"; cp "$dir/log.jsonl" "$WORK/log_$name.jsonl"
  reached=$($PY -c 'import json, sys; print(json.loads(open(sys.argv[1]).readlines()[-1])["step"])' "$dir/log.jsonl")
  echo "=== $name reached step $reached of $STEPS: $(tail -1 "$dir/log.jsonl" | cut -c1-200)"
  if [ "$reached" -lt "$STEPS" ]; then   # paused by its time limit: report nothing half-trained
    echo "=== $name paused at step $reached: call again with KEEP=1 MODELS=$name to finish it"; return
  fi
  step "export_$name" 90 $PY -m train.export --vae "$VAE" --denoiser "$dir/run" --out "$dir/model"
  # the report and train.evaluate only read the model: run them side by side
  step "report_$name" $(( $(left) > 60 ? $(left) : 60 )) $PY benchmarks/model_report.py --checkpoint "$dir/model" \
    --seeds "$SEEDS" --paraphrases 1 --synonyms 1 --gt-clips "$GT_CLIPS" "${ONLY[@]}" --threads "$THREADS" \
    --device "$DEVICE" --out "$dir/report.json" &
  rpid=$!
  [ "$EVAL" = 1 ] && evaluate "evaluate_$name" $(( $(left) > 60 ? $(left) : 60 )) "$dir/model" heldout \
    "$dir/eval.json" --no-untrained
  wait "$rpid"
  cp "$dir/report.json" "$OUT/report_$name.json"
}

echo "compare_denoisers $(date -u +%FT%TZ) commit $(git rev-parse --short HEAD 2>/dev/null || echo '?') tiny=${TINY:-0}"
$PY -c "import sys, torch; print(sys.version.split()[0], 'torch', torch.__version__, 'cuda', torch.cuda.is_available(), torch.cuda.get_device_name(0) if torch.cuda.is_available() else '')"
nproc

if [ -e "$WORK/corpus.done" ]; then echo "=== corpus and word vectors kept from an earlier call (KEEP=1)"; else
  step corpus "$T_STEP" $PY -m train.procedural --out "$WORK/corpus" --num "$NUM" --seed 0 --workers "$WORKERS"
  step word_vectors 60 $PY -m train.word_vectors --out "$WORK/word_vectors" --from-checkpoint "$VAE"
  touch "$WORK/corpus.done"
fi

# The two configs, identical but for the denoiser block; TINY shrinks both the same way. Prints both sizes.
VARIANTS=${VARIANTS:-mamba}
$PY - "$WORK" "${TINY:-0}" transformer $VARIANTS <<'EOF'
import json, sys
from motion_core.models import build_denoiser
work, tiny = sys.argv[1], sys.argv[2] == "1"
for name in sys.argv[3:]:
    config = json.load(open(f"train/configs/compare_{name}.json"))
    den = config["denoiser"]
    if tiny:
        kind = den["model"]["type"]
        den["model"].update({"mamba_unet": {"width": 32, "spatial_groups": 4, "d_state": 4, "num_heads": 2},
                             "transformer": {"width": 32, "num_layers": 2, "num_heads": 2}}[kind])
        den["text"].update(dim=32, layers=1, heads=2, ff_dim=64)
        den["latent_scale_batches"] = 2
        config["data"].update(num_workers=0, device_bank=False)
    json.dump(config, open(f"{work}/cfg_{name}.json", "w"), indent=1)
    arch = {**den["model"], "latent_dim": 32, "text_dim": den["text"]["dim"]}
    params = sum(p.numel() for p in build_denoiser(arch).parameters())
    print(f"{name}: {den['model']} -> {params / 1e6:.3f} M denoiser parameters")
EOF

# The evaluator: fitted once, shared (KEEP=1 keeps it); evaluator.done lets waiters go on even if the fit failed.
if [ "$EVAL" = 1 ] && [ ! -e "$WORK/evaluator.done" ]; then
  ( step evaluator 200 $PY -m train.evaluation.fit_evaluator --data "$WORK/corpus" --out "$WORK/evaluator" \
      --steps "$EVAL_STEPS" --time-limit "$EVAL_TIME" --device "$DEVICE" --log-every 250
    touch "$WORK/evaluator.done" ) &
  epid=$!
fi
MODELS=${MODELS:-transformer $VARIANTS}
pids=()
trains() { [[ " $MODELS " == *" $1 "* ]]; }
trains transformer && { run_model transformer & pids+=($!); }

if [ -n "${WAIT_FOR:-}" ]; then   # the Mamba U-Net trains fast only with the mamba-ssm kernels
  echo "=== $(date +%T) waiting (at most ${WAIT_MAX:-400} s) for $WAIT_FOR"
  until [ -e "$WAIT_FOR" ] || [ $(( $(date +%s) - T0 )) -ge "${WAIT_MAX:-400}" ]; do sleep 2; done
  echo "=== $(date +%T) $( [ -e "$WAIT_FOR" ] && echo "found $WAIT_FOR" || echo "gave up on $WAIT_FOR")"
  tail -2 /tmp/kernels.log 2>/dev/null
fi
$PY -c "from motion_core.ssm import backends; print('mamba kernels', backends.cuda_ops() is not None)"
for name in $VARIANTS; do trains "$name" && { run_model "$name" & pids+=($!); }; done
if [ "${BUNDLED:-0}" = 1 ] && [ "$EVAL" = 1 ]; then   # the shipped model, scored by the same evaluator
  ( for captions in heldout synonyms; do
      evaluate "evaluate_bundled_$captions" 120 "$VAE" "$captions" "$OUT/eval_bundled_$captions.json"
    done ) &
  pids+=($!)
fi
[ ${#pids[@]} -gt 0 ] && wait "${pids[@]}"
[ -n "${epid:-}" ] && wait "$epid"   # by pid: a bare `wait` would also wait for the `tee` above, i.e. forever

for name in $VARIANTS; do
  [ -f "$WORK/$name/report.json" ] && [ -f "$WORK/transformer/report.json" ] ||
    { echo "=== compare $name: not yet (both need a report in $WORK)"; continue; }
  $PY benchmarks/compare_denoisers.py --mamba "$WORK/$name" --transformer "$WORK/transformer" \
    --out "$OUT/summary_$name.json"
  echo "=== compare $name rc $? (rc 0: a valid comparison; 2: INVALID, unequal steps)"
done
tar -C "$WORK" -cf "$OUT/logs.tar" $(cd "$WORK" && ls log_*.jsonl) 2>/dev/null
echo "=== $(date +%T) done, $(( $(date +%s) - T0 )) s in all"
cat "$OUT/timings.tsv"
ls -l "$OUT"
