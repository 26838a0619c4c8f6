"""merge_mocap.py CORPUS MOCAP_TAR: add converted CMU clips (train.mocap output) to a procedural corpus, recompute Mean/Std."""
import shutil, sys, tarfile, tempfile
from pathlib import Path
import numpy as np
from train.data.stats import compute_mean_std
from train.data.writer import write_mean_std, write_split
root, tar = Path(sys.argv[1]), sys.argv[2]
tmp = Path(tempfile.mkdtemp())
tarfile.open(tar).extractall(tmp)
src = next(tmp.iterdir())
for sub in ("new_joint_vecs", "texts"):
    for f in (src / sub).iterdir():
        shutil.copy(f, root / sub / f.name)
for name in ("train", "val", "test"):
    old = [l.strip() for l in (root / f"{name}.txt").read_text().splitlines() if l.strip()]
    new = [l.strip() for l in (src / f"{name}.txt").read_text().splitlines() if l.strip()]
    write_split(root, name, sorted(set(old) | set(new)))
# --repeat K: each CMU training clip appears K times (real motion is <1% of the clips otherwise)
repeat = int(sys.argv[sys.argv.index("--repeat") + 1]) if "--repeat" in sys.argv else 1
train_new = [l.strip() for l in (src / "train.txt").read_text().splitlines() if l.strip()]
extra = []
for k in range(1, repeat):
    for i in train_new:
        shutil.copy(src / "new_joint_vecs" / f"{i}.npy", root / "new_joint_vecs" / f"{i}_rep{k}.npy")
        shutil.copy(src / "texts" / f"{i}.txt", root / "texts" / f"{i}_rep{k}.txt")
        extra.append(f"{i}_rep{k}")
if extra:
    old = [l.strip() for l in (root / "train.txt").read_text().splitlines() if l.strip()]
    write_split(root, "train", sorted(set(old) | set(extra)))
ids = [l.strip() for l in (root / "train.txt").read_text().splitlines() if l.strip()]
if "--keep-stats" not in sys.argv:   # a VAE already trained on this corpus keeps its normaliser
    mean, std = compute_mean_std(np.load(root / "new_joint_vecs" / f"{i}.npy") for i in ids)
    write_mean_std(root, mean, std)
shutil.copy(src / "mocap_meta.json", root / "mocap_meta.json")
print("merged", len(list((src / "new_joint_vecs").iterdir())), "mocap clips x", repeat, "; train ids", len(ids))
