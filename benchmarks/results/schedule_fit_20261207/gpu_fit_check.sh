#!/usr/bin/env bash
# --fit-schedule-to-time on the GPU: v14 continued on a 2,000-clip corpus for a 90-s window, planned 3,000 steps
# (pure-PyTorch scan: no kernel build). Does the schedule end at its floor inside the window?
set -uo pipefail
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name --format=csv,noheader | tee "$OUT/job.log"
python3 -m train.procedural --out /tmp/c --num 2000 --seed 0 --workers 12 --written-phrasings 2 > /tmp/c.log 2>&1
echo "corpus $(ls /tmp/c/texts | wc -l)" | tee -a "$OUT/job.log"
for arm in ${ARMS:-fitted}; do
  extra=(); [ $arm = fitted ] && extra=(--fit-schedule-to-time)
  python3 -m train.fit --config train/configs/v7_open_text_gates.json --data /tmp/c --out /tmp/r_$arm --stage denoiser \
    --vae motion_core/default_model --init-from motion_core/default_model --global-batch 512 --max-steps 3000 \
    --precision bf16 --log-every 20 --time-limit ${LIMIT:-60} "${extra[@]}" > /tmp/$arm.log 2>&1
  echo "$arm exit $?: $(tail -1 /tmp/r_$arm/denoiser/log.jsonl | cut -c1-300)" | tee -a "$OUT/job.log"
  cp /tmp/r_$arm/denoiser/log.jsonl "$OUT/log_$arm.jsonl"; tail -3 /tmp/$arm.log | cut -c1-300
done
