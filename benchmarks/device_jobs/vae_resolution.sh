#!/usr/bin/env bash
# Issue 21, the VAE lever: can latents at half the frame rate carry the short, fast motions (nod, head shake,
# dribble) that the shipped VAE (a quarter of the frame rate) loses in its round trip? One device call (~450 s):
# a corpus of $NUM procedural clips (seed 0), two VAEs trained from scratch the same way (train/configs/default.json's
# VAE stage: same seed, batch, steps, time limit; `num_down` 2 = the shipped layout, 1 = twice the latent frames),
# run side by side on one GPU, then `benchmarks/vae_ceiling.py` on both beside the bundled model's VAE.
#
#   OUT=DIR bash benchmarks/device_jobs/vae_resolution.sh          # on the GPU machine, repo root as cwd
#   OUT=/tmp/o NUM=300 WORKERS=2 DEVICE=cpu STEPS=20 LIMIT=60 CLIPS=1 ONLY="nod walk" \
#       bash benchmarks/device_jobs/vae_resolution.sh               # CPU smoke run of the same chain (~150 s)
#
# Into $OUT: vae_ceiling.json/.log (round-trip pass per action, per VAE), fit_d{1,2}.log (loss every 50th log line),
# vae_d{1,2}.json (the two configs). Knobs (env): STEPS, LIMIT (s per fit), NUM, WORKERS, DEVICE, CLIPS, ONLY,
# T_CEILING. Run on one H100 on 2026-12-07 at 2,500 and 10,000 steps: benchmarks/results/vae_resolution_20261207/.
set -uo pipefail
: "${OUT:?set OUT to the output folder}"
mkdir -p "$OUT"
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1
rm -rf /tmp/vc /tmp/run_d1 /tmp/run_d2   # a second run in the same machine starts clean
STEPS=${STEPS:-2500}; LIMIT=${LIMIT:-200}; NUM=${NUM:-8000}; WORKERS=${WORKERS:-16}; DEVICE=${DEVICE:-cuda}
t0=$(date +%s)
python3 -m train.procedural --out /tmp/vc --num "$NUM" --seed 0 --workers "$WORKERS" > /tmp/corpus.log 2>&1
echo "corpus $(( $(date +%s) - t0 )) s: $(ls /tmp/vc/texts | wc -l) clips"
for d in 1 2; do
  python3 - "$d" <<'PY'
import json, sys
c = json.load(open("train/configs/default.json"))
c["stages"] = ["vae"]; c["name"] = f"vae-num-down-{sys.argv[1]}"
c["vae"]["model"]["num_down"] = int(sys.argv[1])
json.dump(c, open(f"/tmp/vae_d{sys.argv[1]}.json", "w"), indent=1)
PY
  python3 -m train.fit --config /tmp/vae_d$d.json --data /tmp/vc --out /tmp/run_d$d --stage vae \
    --max-steps "$STEPS" --time-limit "$LIMIT" --device "$DEVICE" > /tmp/fit_d$d.log 2>&1 &
done
wait
echo "fits done $(( $(date +%s) - t0 )) s"
for d in 1 2; do tr '\r' '\n' < /tmp/fit_d$d.log | grep -E "^\[vae\]|it/s, loss" | tail -2; done
timeout "${T_CEILING:-240}" python3 benchmarks/vae_ceiling.py \
  --checkpoints motion_core/default_model /tmp/run_d2/vae/model /tmp/run_d1/vae/model \
  --clips "${CLIPS:-4}" --threads "$WORKERS" ${ONLY:+--only $ONLY} --out "$OUT/vae_ceiling.json" \
  > "$OUT/vae_ceiling.log" 2>&1
tail -30 "$OUT/vae_ceiling.log"
for d in 1 2; do
  tr '\r' '\n' < /tmp/fit_d$d.log | grep -E "^\[vae\]|loss=" | awk 'NR % 50 == 0' | tail -60 > "$OUT/fit_d$d.log"
  cp /tmp/vae_d$d.json "$OUT/"
done
echo "all $(( $(date +%s) - t0 )) s"
