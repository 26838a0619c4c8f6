#!/usr/bin/env bash
# Call 1: model v12 (bundled) continued with v11's recipe on the corpus after the fifth writing round, up to
# 3,600 steps (the time guard stops this first call near 1,500; call 2 resumes), kernels built beside it.
set -uo pipefail
export PYTHONPATH=$PWD
source benchmarks/device_jobs/kernels.sh; start_kernel_build
CONFIG=train/configs/v7_open_text_gates.json MOCAP=.devjob/mocap.tar.gz WRITTEN=2 TOTAL=3600 \
  BUDGET=${BUDGET:-585} RESERVE=${RESERVE:-125} bash benchmarks/device_jobs/continue_model.sh
