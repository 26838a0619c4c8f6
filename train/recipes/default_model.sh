#!/usr/bin/env bash
# Reproduces the shipped default model on one GPU: procedural corpus -> VAE -> denoiser -> export -> evaluation.
# Usage: bash train/recipes/default_model.sh WORK_DIR [NUM_CLIPS] [VAE_STEPS] [DENOISER_STEPS]
# Stages run in order; each stage's output lands in WORK_DIR, the exported model in WORK_DIR/default_model.
set -euo pipefail
work=${1:?usage: default_model.sh WORK_DIR [NUM_CLIPS] [VAE_STEPS] [DENOISER_STEPS]}
clips=${2:-20000}; vae_steps=${3:-8000}; den_steps=${4:-2200}
workers=${WORKERS:-$(nproc)}
mkdir -p "$work"
stamp() { echo "[$(date +%H:%M:%S)] $*"; }

stamp "corpus: $clips clips"
python -m train.procedural --out "$work/corpus" --num "$clips" --seed 0 --workers "$workers"
stamp "VAE: $vae_steps steps"
python -m train.fit --config train/configs/default.json --data "$work/corpus" --out "$work/run" \
  --stage vae --max-steps "$vae_steps" --precision bf16
stamp "denoiser: $den_steps steps"
python -m train.fit --config train/configs/default.json --data "$work/corpus" --out "$work/run" \
  --stage denoiser --max-steps "$den_steps" --precision bf16
stamp "export"
python -m train.export --vae "$work/run" --denoiser "$work/run" --out "$work/default_model"
stamp "done"
