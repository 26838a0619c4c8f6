#!/usr/bin/env bash
# Reproduces the shipped default model: procedural corpus -> VAE -> denoiser -> export -> length predictor.
# Usage: bash train/recipes/default_model.sh WORK_DIR [NUM_CLIPS] [VAE_STEPS] [DENOISER_STEPS]
# Environment:
#   NPROC         GPUs for the denoiser stage (torchrun, one process per GPU; default 1)
#   GLOBAL_BATCH  denoiser samples per step over all GPUs (default 512, as shipped)
#   VAE           an existing VAE-stage model dir or engine checkpoint: skips the VAE stage and reuses its VAE
#   INIT          an engine checkpoint whose denoiser and text encoder the denoiser stage starts from (continue
#                 training the shipped model: VAE=motion_core/default_model INIT=motion_core/default_model)
#   KEEP_MODELS   set (to anything): keep every checkpoint's EMA weights (RUN/denoiser/models/step_N/) to evaluate the curve
#   CONFIG        training config (default train/configs/default.json; model v2: train/configs/v2.json)
#   WORD_VECTORS  with a "wordvec" config: the directory python -m train.word_vectors wrote (made here if unset)
#   MOCAP         a folder of raw CMU mocap (ASF/AMC, BVH; train/mocap/README.md): its clips join the corpus
#   TIME_LIMIT    seconds: the denoiser stage checkpoints and stops at the first log step past it (a machine lent
#                 for a fixed time); run the recipe again with RESUME=1 (and VAE=WORK/run/vae/model) to continue
#                 the same LR schedule of DENOISER_STEPS
# The shipped model (v2, 2026-12-04): CONFIG=train/configs/v2.json MOCAP=<CMU folder, clips repeated 5x>, one H200,
#   WORK 20000 2000 8800 cut into three 10-minute device calls by TIME_LIMIT / RESUME=1 (8,700 steps done); the
#   device job is benchmarks/results/model_v2_sitting2_20261204/device_job.sh. Its length predictor: python -m
#   train.length on the first 3,000 clips; its vocabulary: python -m train.vocabulary --data CORPUS --checkpoint
#   MODEL --threshold 0.45. Then continued (the model bundled since): CONFIG=train/configs/v2_continue.json
#   VAE=motion_core/default_model INIT=motion_core/default_model ... WORK 20000 0 6000, the same corpus, cut into
#   three device calls (benchmarks/results/model_v21_sitting3_20261204/device_job.sh), then the length predictor
#   and vocabulary as above. Continue it the same way.
# Model v1 (the default until then) was two sittings of this recipe on the first corpus (27 actions), default config:
#   2026-11-25: VAE=<the model before it> NPROC=2 ... WORK 20000 - 3400          (2 H100s, 822 s)
#   2026-12-04: VAE=<that model> INIT=<that model> KEEP_MODELS=1 ... WORK 20000 0 4000   (1 H200, 475 s)
set -euo pipefail
work=${1:?usage: default_model.sh WORK_DIR [NUM_CLIPS] [VAE_STEPS] [DENOISER_STEPS]}
clips=${2:-20000}; vae_steps=${3:-2500}; den_steps=${4:-3400}
nproc=${NPROC:-1}; global=${GLOBAL_BATCH:-512}; workers=${WORKERS:-$(nproc)}
export NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1 NVSHMEM_DISABLE_NVLS=1  # NVLink multicast off
mkdir -p "$work"
stamp() { echo "[$(date +%H:%M:%S)] $*"; }
config=${CONFIG:-train/configs/default.json}
vectors_arg=()
if grep -q '"wordvec"' "$config"; then
  vectors=${WORD_VECTORS:-$work/word_vectors}
  [ -f "$vectors/word_vectors.safetensors" ] || python -m train.word_vectors --out "$vectors"
  vectors_arg=(--word-vectors "$vectors")
fi

stamp "corpus: $clips clips"
python -m train.procedural --out "$work/corpus" --num "$clips" --seed 0 --workers "$workers"
if [ -n "${MOCAP:-}" ]; then
  stamp "CMU mocap from $MOCAP"
  python -m train.mocap --source "$MOCAP" --out "$work/corpus" --append
fi
vae=${VAE:-$work/run/vae/model}
if [ -z "${VAE:-}" ]; then
  stamp "VAE: $vae_steps steps"
  python -m train.fit --config "$config" "${vectors_arg[@]}" --data "$work/corpus" --out "$work/run" \
    --stage vae --max-steps "$vae_steps" --precision bf16
fi
stamp "denoiser: $den_steps steps on $nproc GPU(s), global batch $global"
torchrun --standalone --nproc_per_node="$nproc" -m train.fit --config "$config" "${vectors_arg[@]}" \
  --data "$work/corpus" --out "$work/run" --stage denoiser --vae "$vae" --global-batch "$global" \
  --max-steps "$den_steps" --precision bf16 ${INIT:+--init-from "$INIT"} ${KEEP_MODELS:+--keep-models} \
  ${TIME_LIMIT:+--time-limit "$TIME_LIMIT"} ${RESUME:+--resume}
stamp "export"
python -m train.export --vae "$vae" --denoiser "$work/run" --out "$work/default_model"
stamp "length predictor (CPU, a few minutes)"
python -m train.length --checkpoint "$work/default_model" --data "$work/corpus"
stamp "done"
