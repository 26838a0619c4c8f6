#!/usr/bin/env bash
# Refine the bundled model's VAE decoder (encoder frozen: the denoiser's latents stay valid) on the GPU, in the
# background of a continue_model.sh call that builds the corpus (20,000 procedural clips + CMU): it waits for
# that script's $W/corpus.ready, trains while the mamba kernels build (the VAE needs none), and leaves the refined
# VAE in $OUT/vae_refined.tar. Slot it under a denoiser on the CPU: `python -m train.export --vae VAE --denoiser M`.
#
#   STEPS=12000 bash benchmarks/device_jobs/refine_decoder.sh > /tmp/refine.log 2>&1 &
#
# 4,000 steps at batch 256 took 65 s alone on an H200 (2026-12-05); STEPS defaults to 12,000 with a time guard.
set -uo pipefail
: "${OUT:?set OUT}"
cd "$(dirname "$0")/../.."
export PYTHONUNBUFFERED=1 PYTHONPATH=$PWD
W=${WORK:-/tmp/continue_model}; R=${REFINE_WORK:-/tmp/refine_decoder}
T0=$(date +%s)
while [ ! -e "$W/corpus.ready" ] && [ $(( $(date +%s) - T0 )) -lt 300 ]; do sleep 2; done
[ -e "$W/corpus.ready" ] || { echo "no corpus after 300 s"; exit 3; }
rm -rf "$R" && mkdir -p "$R"
python3 - "$R/config.json" <<'PY'
import json, sys
config = json.load(open("train/configs/vae_decoder_refine.json"))
config["data"].update(num_workers=6, device_bank=True)   # 16 cores: feed the GPU as the denoiser runs do
json.dump(config, open(sys.argv[1], "w"), indent=1)
PY
python3 -m train.fit --config "$R/config.json" --data "$W/corpus" --out "$R/run" --stage vae \
  --init-from motion_core/default_model --global-batch 256 --max-steps "${STEPS:-12000}" --log-every 500 \
  --device cuda --precision fp32 --time-limit "${TIME_LIMIT:-300}"
echo "fit exit $?"
cp "$R/run/vae/log.jsonl" "$OUT/vae_refine_log.jsonl"
tar -C "$R/run/vae" -cf "$OUT/vae_refined.tar" model && echo "vae_refined.tar: $(du -h "$OUT/vae_refined.tar" | cut -f1)"
