"""T2M/MLD evaluation metrics over evaluator embeddings (numpy float64, rows are samples).

Definitions follow Guo et al. 2022 (T2M) as MLD reports them:
* FID: Frechet distance between Gaussians fitted to generated and real motion embeddings.
* R-Precision (top-1/2/3): in batches of 32 pairs, for each motion rank the 32 captions by distance; the
  score is the fraction whose own caption is within the top k. Leftover pairs (< 32) are skipped.
* MM-Dist: mean distance between each motion and its own caption.
* Diversity: mean distance between `pairs` random pairs of motions.
* MultiModality: for each caption, mean distance between random pairs of its several generations.
"""
from __future__ import annotations

import numpy as np


def _as_matrix(x, name: str) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or len(x) == 0:
        raise ValueError(f"{name} must be a non-empty (N, D) array, got shape {x.shape}")
    return x


def distance_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Euclidean distances (len(a), len(b))."""
    squared = (a * a).sum(1)[:, None] + (b * b).sum(1)[None] - 2.0 * a @ b.T
    return np.sqrt(np.maximum(squared, 0.0))


def _sqrt_psd(matrix: np.ndarray) -> np.ndarray:
    values, vectors = np.linalg.eigh((matrix + matrix.T) / 2)
    return (vectors * np.sqrt(np.clip(values, 0.0, None))) @ vectors.T


def frechet_distance(mu1, cov1, mu2, cov2) -> float:
    """||mu1 - mu2||^2 + tr(C1 + C2 - 2 (C1 C2)^1/2), with tr((C1 C2)^1/2) = tr((C1^1/2 C2 C1^1/2)^1/2)."""
    root1 = _sqrt_psd(cov1)
    middle = root1 @ cov2 @ root1
    trace_sqrt = np.sqrt(np.clip(np.linalg.eigvalsh((middle + middle.T) / 2), 0.0, None)).sum()
    diff = mu1 - mu2
    return float(max(diff @ diff + np.trace(cov1) + np.trace(cov2) - 2.0 * trace_sqrt, 0.0))


def fid(generated, real) -> float:
    generated, real = _as_matrix(generated, "generated"), _as_matrix(real, "real")
    if len(generated) < 2 or len(real) < 2:
        raise ValueError("FID needs at least 2 samples per set")
    return frechet_distance(generated.mean(0), np.cov(generated, rowvar=False),
                            real.mean(0), np.cov(real, rowvar=False))


def r_precision(motion_emb, text_emb, batch_size: int = 32, top_k: int = 3,
                seed: int = 0) -> np.ndarray:
    """[top-1, ..., top-k] accuracies; pairs are shuffled (fixed seed) into batches of `batch_size`."""
    motion_emb, text_emb = _as_matrix(motion_emb, "motion_emb"), _as_matrix(text_emb, "text_emb")
    if motion_emb.shape != text_emb.shape:
        raise ValueError(f"motion and text embeddings must pair up, got {motion_emb.shape} vs {text_emb.shape}")
    batches = len(motion_emb) // batch_size
    if batches == 0:
        raise ValueError(f"R-precision needs at least {batch_size} pairs, got {len(motion_emb)}")
    order = np.random.default_rng(seed).permutation(len(motion_emb))[: batches * batch_size]
    hits = np.zeros(top_k)
    for chunk in order.reshape(batches, batch_size):
        dist = distance_matrix(motion_emb[chunk], text_emb[chunk])
        # rank of the matching caption: how many captions are strictly closer than it
        rank = (dist < np.diag(dist)[:, None]).sum(1)
        hits += [(rank < k).sum() for k in range(1, top_k + 1)]
    return hits / (batches * batch_size)


def mm_dist(motion_emb, text_emb) -> float:
    motion_emb, text_emb = _as_matrix(motion_emb, "motion_emb"), _as_matrix(text_emb, "text_emb")
    return float(np.linalg.norm(motion_emb - text_emb, axis=1).mean())


def diversity(emb, pairs: int = 300, seed: int = 0) -> float:
    emb = _as_matrix(emb, "emb")
    if len(emb) < 2:
        raise ValueError("diversity needs at least 2 samples")
    rng = np.random.default_rng(seed)
    replace = len(emb) < pairs
    first = rng.choice(len(emb), pairs, replace=replace)
    second = rng.choice(len(emb), pairs, replace=replace)
    return float(np.linalg.norm(emb[first] - emb[second], axis=1).mean())


def multimodality(emb, pairs: int = 10, seed: int = 0) -> float:
    """emb (num_texts, generations_per_text, D)."""
    emb = np.asarray(emb, dtype=np.float64)
    if emb.ndim != 3 or emb.shape[1] < 2:
        raise ValueError(f"multimodality needs (num_texts, >=2 generations, D), got shape {emb.shape}")
    rng = np.random.default_rng(seed)
    first = rng.choice(emb.shape[1], pairs)
    second = (first + rng.integers(1, emb.shape[1], pairs)) % emb.shape[1]  # never a generation with itself
    return float(np.linalg.norm(emb[:, first] - emb[:, second], axis=-1).mean())


def all_metrics(motion_emb, text_emb, real_emb, diversity_pairs: int = 300, seed: int = 0) -> dict:
    """The per-set metrics (everything but MultiModality) of one set of motions with their captions."""
    top = r_precision(motion_emb, text_emb, seed=seed) if len(motion_emb) >= 32 else [float("nan")] * 3
    return {"fid": fid(motion_emb, real_emb), "r_precision_top1": float(top[0]),
            "r_precision_top2": float(top[1]), "r_precision_top3": float(top[2]),
            "mm_dist": mm_dist(motion_emb, text_emb),
            "diversity": diversity(motion_emb, min(diversity_pairs, len(motion_emb)), seed)}
