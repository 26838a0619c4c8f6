#!/usr/bin/env bash
# Not run yet (2026-12-07: no device machine). The seventh round's call 1: model v14 (bundled) continued with v11's
# recipe on the corpus after the seventh writing round, kernels built beside it; export, length predictor refitted,
# model halved, all in one call (round 6's call 1). TOTAL by card, so the cosine schedule ends inside the time
# guard: 7.8 steps/s on an H100, 5.9 on an H200 (rounds 5 and 6; round 6 planned 2,000 on an H200 and stopped at
# 1,500 with the learning rate at 2.5e-5). The training window is BUDGET - ~170 s (corpus, kernels) - RESERVE;
# training overshoots its limit by ~27 s and export + refit + fp16 take ~112 s.
# Copy to .devjob/ and carry [".devjob/mocap.tar.xz", ".device-cache", ".devjob/call1_continue.sh"] with
# benchmarks/results/ moved out of the tree for the call (56.4 MB of repository + 10.2 MB of mocap pass 64 MiB).
# Then round 6's call2_text_tuning.sh (VARIANTS name v15) and call3_eval_r3.sh (v15 for v14) on the warm machine.
set -uo pipefail
export PYTHONPATH=$PWD
source benchmarks/device_jobs/kernels.sh; start_kernel_build
card=$(nvidia-smi --query-gpu=name --format=csv,noheader)
case "$card" in *H200*) TOTAL=1500;; *) TOTAL=2000;; esac
echo "card $card, TOTAL $TOTAL" | tee -a "$OUT/job.log"
CONFIG=train/configs/v7_open_text_gates.json MOCAP=.devjob/mocap.tar.xz WRITTEN=2 TOTAL=$TOTAL \
  BUDGET=${BUDGET:-588} RESERVE=${RESERVE:-150} bash benchmarks/device_jobs/continue_model.sh
