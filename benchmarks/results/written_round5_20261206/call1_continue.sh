#!/usr/bin/env bash
# Call 1: model v12 (bundled) continued with v11's recipe on the corpus after the fifth writing round, 1,500 steps
# (or the time guard), kernels built beside it; export, length predictor refitted, model halved, all in this call.
# (Refused machine starts cost 480 s of this session's 1,800 s of device time: one training call, one tuning call.)
set -uo pipefail
export PYTHONPATH=$PWD
source benchmarks/device_jobs/kernels.sh; start_kernel_build
CONFIG=train/configs/v7_open_text_gates.json MOCAP=.devjob/mocap.tar.gz WRITTEN=2 TOTAL=1500 \
  BUDGET=${BUDGET:-588} RESERVE=${RESERVE:-170} bash benchmarks/device_jobs/continue_model.sh
