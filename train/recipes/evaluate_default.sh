#!/usr/bin/env bash
# Trains our text-motion evaluator on the corpus and scores a checkpoint on the held-out test split, with the
# training captions' phrasing (plus ground-truth and untrained-model rows) and with the held-out paraphrases.
# Usage: bash train/recipes/evaluate_default.sh WORK_DIR CHECKPOINT_DIR [EVAL_STEPS] [LIMIT]
#   WORK_DIR/corpus must be the corpus the checkpoint was trained on (its test split was never trained on).
#   MM_TEXTS / MM_REPEATS (env): MultiModality captions and generations per caption (default 50 / 10).
# An evaluator already in WORK_DIR/evaluator is reused.
set -euo pipefail
work=${1:?usage}; ckpt=${2:?usage}; steps=${3:-3000}; limit=${4:-512}
mm=(--mm-texts "${MM_TEXTS:-50}" --mm-repeats "${MM_REPEATS:-10}")
[ -f "$work/evaluator/evaluator.json" ] || \
  python -m train.evaluation.fit_evaluator --data "$work/corpus" --out "$work/evaluator" --steps "$steps"
python -m train.evaluate --checkpoint "$ckpt" --data "$work/corpus" --split test --captions texts \
  --evaluator "$work/evaluator" --limit "$limit" "${mm[@]}" --out "$work/eval_texts.json"
python -m train.evaluate --checkpoint "$ckpt" --data "$work/corpus" --split test --captions heldout \
  --evaluator "$work/evaluator" --limit "$limit" "${mm[@]}" --no-untrained --out "$work/eval_heldout.json"
