#!/usr/bin/env bash
# Run 2026-12-07 06:58-07:07 on one H100 (session 35; call1/). Was next_call1_continue.sh in ../schedule_fit_20261207/.
# The seventh round's call 1: model v14 (bundled) continued with v11's recipe on the corpus after the seventh
# writing round, kernels built beside it; export, length predictor refitted, model halved (round 6's call 1).
# Model-agnostic (the bundled model, the bank in the repository): round 8's call 1 is this script as it stands.
# FIT=1: the LR schedule is fitted to the time window once the step rate is known (TOTAL only an upper bound).
set -uo pipefail
export PYTHONPATH=$PWD
source benchmarks/device_jobs/kernels.sh; start_kernel_build
echo "card $(nvidia-smi --query-gpu=name --format=csv,noheader)" | tee -a "$OUT/job.log"
CONFIG=train/configs/v7_open_text_gates.json MOCAP=.devjob/mocap.tar.xz WRITTEN=2 TOTAL=3000 FIT=1 \
  BUDGET=${BUDGET:-588} RESERVE=${RESERVE:-150} bash benchmarks/device_jobs/continue_model.sh
