#!/usr/bin/env bash
# Call 2: call 1's run resumed to step 3,600, the length predictor refitted, the model halved.
set -uo pipefail
export PYTHONPATH=$PWD
RESUME=1 CONFIG=train/configs/v7_open_text_gates.json WRITTEN=2 TOTAL=3600 \
  BUDGET=${BUDGET:-585} RESERVE=${RESERVE:-160} bash benchmarks/device_jobs/continue_model.sh
