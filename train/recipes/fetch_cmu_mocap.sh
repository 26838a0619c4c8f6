#!/usr/bin/env bash
# Fetch CMU Graphics Lab motion capture files into a folder of your choice, for `python -m train.mocap`.
# Nothing is fetched into the repository and nothing fetched is shipped: the data stays where you put it.
#
#   train/recipes/fetch_cmu_mocap.sh official DEST   # CMU's own zip of every .asf/.amc (2,435 trials, ~1 GB
#                                                   # unpacked) plus a description index
#   train/recipes/fetch_cmu_mocap.sh github DEST     # the public GitHub mirrors the README lists (subjects
#                                                   # 01-03 ASF/AMC, 05-07 and 131 BVH; ~150 trials)
#
# Then:  python -m train.mocap --source DEST --out DATASET [--index "DEST/index/CMU data.csv"]
#
# Terms (mocap.cs.cmu.edu): "This data is free for use in research projects. You may include this data in
# commercially-sold products, but you may not resell this data directly, even in converted form."
# CMU asks not to crawl the site: the official mode downloads the one zip their FAQ offers.
set -euo pipefail

mode=${1:-}
dest=${2:-}
if [[ -z "$mode" || -z "$dest" ]]; then
    sed -n '2,16p' "$0"; exit 2
fi
# The FAQ's "zipfile of all asf's and amc's" (mocap.cs.cmu.edu/faqs.php); override if it moves.
CMU_ZIP_URL=${CMU_ZIP_URL:-http://mocap.cs.cmu.edu/allasfamc.zip}
# Per-trial descriptions and frame rates of all 2,435 trials (CSV), from the IClone-CMU-Mocap project.
INDEX_URL=${INDEX_URL:-https://raw.githubusercontent.com/DragonForgedTheArtist/IClone-CMU-Mocap/main/CMU%20data.csv}

mkdir -p "$dest/index"
case "$mode" in
    official)
        curl -fL --retry 3 -o "$dest/allasfamc.zip" "$CMU_ZIP_URL"
        (cd "$dest" && unzip -q -o allasfamc.zip && rm allasfamc.zip)
        curl -fL --retry 3 -o "$dest/index/CMU data.csv" "$INDEX_URL"
        ;;
    github)
        git clone --depth 1 https://github.com/cyun9601/CMU-MOCAP-Data "$dest/CMU-MOCAP-Data"
        git clone --depth 1 https://github.com/DragonForgedTheArtist/IClone-CMU-Mocap "$dest/IClone-CMU-Mocap"
        git clone --depth 1 https://github.com/yuki-koyama/bvh11 "$dest/bvh11"
        cp "$dest/IClone-CMU-Mocap/CMU data.csv" "$dest/index/CMU data.csv"
        # bvh11 also holds rescaled copies of the same trials; keep one of each.
        rm -f "$dest"/bvh11/resources/scaled_*.bvh "$dest"/bvh11/resources/sample.bvh
        ;;
    *)
        echo "unknown mode $mode (official or github)" >&2; exit 2 ;;
esac
echo "now: python -m train.mocap --source '$dest' --out DATASET --index '$dest/index/CMU data.csv'"
