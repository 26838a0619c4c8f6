#!/usr/bin/env bash
# R@3 / FID of v13 on this CPU with session 30's evaluator (eval_r3.sh's steps 3, same arguments, --device cpu).
cd /work/main; . /work/venv/bin/activate
E=/work/s30/r3; O=/work/s31/r3out
ev() {  # name checkpoint captions [extra]
  local n=$1 c=$2 cap=$3; shift 3; local t0=$(date +%s)
  python -m train.evaluate --checkpoint "$c" --data $E/corpus --split test --captions "$cap" --evaluator $E/evaluator \
    --limit 512 --mm-texts 32 --mm-repeats 10 --device cpu --out $O/$n.json "$@" > $O/$n.log 2>&1
  echo "$n exit $? $(( $(date +%s) - t0 )) s" >> $O/timings.txt
}
ev eval_v13_heldout /work/s31/dev/v13_model heldout --no-untrained
ev eval_v13_synonyms /work/s31/dev/v13_model synonyms --no-untrained
