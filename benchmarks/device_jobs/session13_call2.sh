#!/bin/bash
# Session 13, call 2: mamba kernels built in the background while eval_r3 makes its corpus and fits the
# evaluator; its train.evaluate steps wait for the kernels. Record of what ran.
cd "$(dirname "$0")/../.."
(ONLY=mamba MAX_JOBS=10 bash .device-cache/build_kernels.sh > /tmp/kernels.log 2>&1; touch /tmp/kernels.done) &
WAIT_FOR=/tmp/kernels.done PYTHON=python3 WORKERS=6 bash benchmarks/device_jobs/eval_r3.sh
tail -2 /tmp/kernels.log
python3 -c "from motion_core.ssm import backends; print('mamba kernels', backends.cuda_ops() is not None)"
