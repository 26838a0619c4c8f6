#!/usr/bin/env bash
# Issue 21, item 4: held-out R@3 and FID of the bundled model, one device call (~420 s wall in all).
#
#   bash benchmarks/device_jobs/eval_r3.sh            # on the GPU machine, repo root as cwd, $OUT set
#   TINY=1 OUT=/tmp/out bash benchmarks/device_jobs/eval_r3.sh   # CPU smoke run of the same chain
#
# Steps, each under `timeout` so one slow step cannot eat the budget (a failed step does not stop the others):
#   1. corpus: the first $NUM clips of the 20,000-clip seed-0 corpus the model was trained on, with that corpus's
#      splits (--split-of 20000), so the test split scored here is clips the model never trained on
#   2. evaluator: our T2M-style evaluator fitted on the corpus's train split (--time-limit: it always saves)
#   3. train.evaluate on the test split, captions heldout (paraphrases) and synonyms (held-out synonyms; clips
#      without one are skipped), each as read by the engine and with --literal (captions as written)
# Into $OUT: log.txt (set -x with timestamps), timings.tsv (step, exit status, seconds), corpus.json,
# eval_{heldout,synonyms}{,_literal}.json, and the evaluator's files (each only if under 16 MB).
# BASELINE=DIR also scores that checkpoint (the model the bundled one replaces) with the same evaluator, clips and
# seeds, into $OUT/eval_baseline_{heldout,synonyms}.json: side by side, since each fitted evaluator has its own
# scale. LITERAL=0 skips the --literal runs (captions as written; saves ~90 s of a call).
# Knobs (env): TINY, PYTHON, NUM, WORKERS, EVAL_STEPS, EVAL_TIME, LIMIT, MM_TEXTS, MM_REPEATS, WORK, BASELINE,
# LITERAL.
set -uo pipefail
: "${OUT:?set OUT to the output folder}"
mkdir -p "$OUT"
exec > >(tee -a "$OUT/log.txt") 2>&1
PY=${PYTHON:-python}
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
if [ "${TINY:-0}" = 1 ]; then
  # CPU smoke run: 600 clips give ~60 test clips (~30 with a synonym caption), so R-precision (batches of 32)
  # is defined for the heldout runs.
  NUM=${NUM:-600}; WORKERS=${WORKERS:-2}; EVAL_STEPS=${EVAL_STEPS:-50}; EVAL_TIME=${EVAL_TIME:-600}
  LIMIT=${LIMIT:-32}; MM_TEXTS=${MM_TEXTS:-4}; MM_REPEATS=${MM_REPEATS:-2}
  T_CORPUS=600; T_FIT=900; T_EVAL=${T_EVAL:-900}; DEVICE=${DEVICE:-cpu}
else
  # GPU: 8,000 clips (800 test, ~400 with a synonym caption) in ~25 s on 16 cores (30 clips/s/core measured
  # on the 2-core dev machine); evaluator 3000 steps (fit_evaluator's default) or 110 s, whichever comes first.
  NUM=${NUM:-8000}; WORKERS=${WORKERS:-$(nproc)}; EVAL_STEPS=${EVAL_STEPS:-3000}; EVAL_TIME=${EVAL_TIME:-110}
  LIMIT=${LIMIT:-512}; MM_TEXTS=${MM_TEXTS:-32}; MM_REPEATS=${MM_REPEATS:-10}
  T_CORPUS=90; T_FIT=150; T_EVAL=${T_EVAL:-45}; DEVICE=${DEVICE:-cuda}
fi
WORK=${WORK:-/tmp/eval_r3}
CKPT=${CHECKPOINT:-motion_core/default_model}
# An earlier corpus and evaluator are linked in, never generated or fitted again. Resolved before the rm below
# (a link inside $WORK would go with it), and refused when they lie inside $WORK themselves.
resolve() {   # resolve NAME PATH: the folder PATH points to, or exit
  local found; found=$(realpath -e "$2" 2> /dev/null) && [ -d "$found" ] || { echo "$1=$2: no such folder"; exit 2; }
  case "$found/" in "$(realpath -m "$WORK")"/*) echo "$1=$2 lies inside WORK=$WORK, which this run empties"; exit 2;;
  esac
  echo "$found"
}
[ -z "${CORPUS:-}" ] || CORPUS=$(resolve CORPUS "$CORPUS") || { echo "$CORPUS"; exit 2; }
[ -z "${EVALUATOR:-}" ] || EVALUATOR=$(resolve EVALUATOR "$EVALUATOR") || { echo "$EVALUATOR"; exit 2; }
rm -rf "$WORK"; mkdir -p "$WORK"
[ -z "${CORPUS:-}" ] || ln -s "$CORPUS" "$WORK/corpus"
[ -z "${EVALUATOR:-}" ] || ln -s "$EVALUATOR" "$WORK/evaluator"
source "$(dirname "$0")/steps.sh"   # step NAME TIMEOUT_S COMMAND...

echo "eval_r3 $(date -u +%FT%TZ) commit $(git rev-parse --short HEAD 2>/dev/null || echo '?') tiny=${TINY:-0}"
echo "checkpoint $CKPT corpus ${CORPUS:-generated} evaluator ${EVALUATOR:-fitted} device $DEVICE"
$PY -c "import sys, torch; print(sys.version.split()[0], 'torch', torch.__version__, 'cuda', torch.cuda.is_available(), torch.cuda.get_device_name(0) if torch.cuda.is_available() else '')"
nproc

if [ -z "${CORPUS:-}" ]; then
  step corpus "$T_CORPUS" $PY -m train.procedural --out "$WORK/corpus" --num "$NUM" --seed 0 --split-of 20000 \
    --workers "$WORKERS"
fi
cp "$WORK/corpus/"{train,val,test}.txt "$OUT/" 2>/dev/null
$PY - "$WORK/corpus" > "$OUT/corpus.json" <<'EOF'
import json, pathlib, sys
root = pathlib.Path(sys.argv[1])
out = {}
for split in ("train", "val", "test"):
    ids = (root / f"{split}.txt").read_text().split() if (root / f"{split}.txt").is_file() else []
    out[split] = {"clips": len(ids), **{d: sum((root / d / f"{i}.txt").is_file() for i in ids)
                                        for d in ("texts", "texts_heldout", "texts_heldout_synonyms")}}
print(json.dumps(out))
EOF
cat "$OUT/corpus.json"

if [ -z "${EVALUATOR:-}" ]; then
  step evaluator "$T_FIT" $PY -m train.evaluation.fit_evaluator --data "$WORK/corpus" --out "$WORK/evaluator" \
    --steps "$EVAL_STEPS" --time-limit "$EVAL_TIME" --device "$DEVICE" --log-every 250
  mkdir -p "$OUT/evaluator"
  for f in "$WORK/evaluator"/*; do
    [ -f "$f" ] && [ "$(stat -c %s "$f")" -lt 16000000 ] && cp "$f" "$OUT/evaluator/"
  done
  ls -l "$WORK/evaluator" "$OUT/evaluator"
fi

# WAIT_FOR=FILE: generation is fast only with the mamba kernels, which another job may still be building
if [ -n "${WAIT_FOR:-}" ]; then
  echo "=== $(date +%T) waiting for $WAIT_FOR"; while [ ! -e "$WAIT_FOR" ]; do sleep 2; done
fi
evaluate() {   # evaluate NAME CHECKPOINT CAPTIONS [EXTRA...]
  local name=$1 checkpoint=$2 captions=$3; shift 3
  step "$name" "$T_EVAL" $PY -m train.evaluate --checkpoint "$checkpoint" --data "$WORK/corpus" --split test \
    --captions "$captions" --evaluator "$WORK/evaluator" --limit "$LIMIT" --mm-texts "$MM_TEXTS" \
    --mm-repeats "$MM_REPEATS" --device "$DEVICE" --out "$OUT/$name.json" "$@"
}
for captions in heldout synonyms; do
  floor=(); [ "${UNTRAINED:-1}" = 1 ] || floor=(--no-untrained)
  evaluate "eval_${captions}" "$CKPT" "$captions" "${floor[@]}"   # the untrained floor (unless UNTRAINED=0) once
  if [ "${LITERAL:-1}" = 1 ]; then
    evaluate "eval_${captions}_literal" "$CKPT" "$captions" --literal --no-untrained
  fi
  if [ -n "${BASELINE:-}" ]; then
    evaluate "eval_baseline_${captions}" "$BASELINE" "$captions" --no-untrained
  fi
done

echo "=== $(date +%T) done, ${SECONDS} s in all"
cat "$OUT/timings.tsv"
