#!/usr/bin/env bash
# Call 1 (session 41): the bundled model (v17) grown from one bottleneck attention mixer to three (the new two start
# as the identity: train.stages.grown_mid_layers / start_as_identity), continued with v11's recipe on the corpus
# (written phrasings x2 + CMU x5) with the LR schedule fitted to the call's window; exported, parts in $OUT.
set -uo pipefail
export PYTHONPATH=$PWD
source benchmarks/device_jobs/kernels.sh; start_kernel_build
echo "card $(nvidia-smi --query-gpu=name --format=csv,noheader)" | tee -a "$OUT/job.log"
CONFIG=train/configs/v18_deeper_bottleneck.json MOCAP=.devjob/mocap.tar.xz WRITTEN=2 TOTAL=3000 FIT=1 \
  BUDGET=${BUDGET:-585} RESERVE=${RESERVE:-45} bash benchmarks/device_jobs/continue_model.sh
