#!/usr/bin/env bash
# Data-parallel scaling of the denoiser stage: the same run (config, seed, steps) with N = 1, 2, ... processes
# under torchrun, then benchmarks/ddp_scaling.py compares samples/s and loss curves.
# Usage: bash train/recipes/ddp_scaling.sh DATA VAE_DIR WORK [BATCH] [STEPS] [PROCS]
#   DATA: corpus in the HumanML3D layout; VAE_DIR: a VAE-stage model dir or an engine checkpoint;
#   PROCS: space-separated process counts, default "1 2" (one process per GPU; gloo on CPU).
#   BATCH (default 512): the global batch of every run (strong scaling), or with MODE=weak the batch of each
#   process, so N processes train on N*BATCH samples per step (weak scaling).
# CONFIG (env) picks the training config, default train/configs/default.json.
set -euo pipefail
data=${1:?usage: ddp_scaling.sh DATA VAE_DIR WORK [BATCH] [STEPS] [PROCS]}
vae=${2:?VAE_DIR missing}; work=${3:?WORK missing}
batch=${4:-512}; steps=${5:-200}; procs=${6:-"1 2"}; mode=${MODE:-strong}
config=${CONFIG:-train/configs/default.json}
case $mode in strong|weak) ;; *) echo "MODE must be strong or weak, got $mode" >&2; exit 2 ;; esac
# NVLink multicast stays off (shared GPUs can be put out of service by it); harmless elsewhere.
export NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1 NVSHMEM_DISABLE_NVLS=1
# NCCL's set-up report (transport between the GPUs: P2P/NVLink, shared memory...) goes to a file per run and
# process, next to the run's logs: the all-reduce's cost depends on it.
export NCCL_DEBUG=${NCCL_DEBUG:-INFO} NCCL_DEBUG_SUBSYS=${NCCL_DEBUG_SUBSYS:-INIT,P2P,SHM,NET,GRAPH}
runs=()
for n in $procs; do
  global=$batch; [ "$mode" = weak ] && global=$(( batch * n ))
  echo "[$(date +%H:%M:%S)] denoiser, $n process(es), global batch $global, $steps steps"
  rm -rf "$work/$mode-n$n"; mkdir -p "$work/$mode-n$n"
  export NCCL_DEBUG_FILE="$work/$mode-n$n/nccl.%h.%p.log"
  torchrun --standalone --nproc_per_node="$n" -m train.fit --config "$config" --data "$data" --out "$work/$mode-n$n" \
    --stage denoiser --vae "$vae" --global-batch "$global" --max-steps "$steps" --log-every 10
  runs+=(--run "$n=$work/$mode-n$n")
done
python benchmarks/ddp_scaling.py "${runs[@]}" --out "$work/ddp_scaling_$mode.json"
