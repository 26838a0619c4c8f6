#!/usr/bin/env bash
# Trains our text-motion evaluator on the corpus and scores a checkpoint on the held-out split, with the
# training captions' phrasing and with the held-out paraphrases.
# Usage: bash train/recipes/evaluate_default.sh WORK_DIR CHECKPOINT_DIR [EVAL_STEPS] [LIMIT]
set -euo pipefail
work=${1:?usage}; ckpt=${2:?usage}; steps=${3:-3000}; limit=${4:-512}
python -m train.evaluation.fit_evaluator --data "$work/corpus" --out "$work/evaluator" --steps "$steps"
for captions in texts heldout; do
  python -m train.evaluate --checkpoint "$ckpt" --data "$work/corpus" --split test --captions "$captions" \
    --evaluator "$work/evaluator" --limit "$limit" --out "$work/eval_$captions.json"
done
