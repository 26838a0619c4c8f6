#!/usr/bin/env bash
# Call 1: the gist arm. g10 rebuilt here (sentence vectors -> graft onto v11 -> g10's tuned encoder), then v11's
# continuation recipe on it, 2,000 steps, with the length predictor refitted and the model halved.
set -uo pipefail
export PYTHONPATH=$PWD
source benchmarks/device_jobs/kernels.sh; start_kernel_build
mkdir -p /tmp/sv && tar xJf .devjob/sv256.tar.xz -C /tmp/sv
python3 -m train.sentence_gist --checkpoint motion_core/default_model --sentence-vectors /tmp/sv/sv256 --out /tmp/g \
  > /tmp/graft.log 2>&1 && python3 benchmarks/device_jobs/encoder_delta.py apply /tmp/g \
  benchmarks/results/sentence_gist_20261206/g10_delta /tmp/g10 > /tmp/apply.log 2>&1 || { tail /tmp/graft.log /tmp/apply.log; exit 2; }
sha256sum /tmp/g10/model.safetensors | tee "$OUT/g10.sha256"
BASE=/tmp/g10 CONFIG=train/configs/v7_open_text_gates.json MOCAP=.devjob/mocap.tar.gz WRITTEN=2 TOTAL=2000 \
  BUDGET=${BUDGET:-585} RESERVE=${RESERVE:-125} bash benchmarks/device_jobs/continue_model.sh
