"""Evaluation of text-to-motion generators, T2M/MLD style.

* `evaluator`: our own text-motion contrastive evaluator (motion GRU encoder + hashed-token text encoder,
  InfoNCE), trained by `fit_evaluator`, stored as safetensors.
* `official`: adapter for the official HumanML3D (T2M) evaluator weights, when a user has them.
* `metrics`: FID, R-Precision, MM-Dist, Diversity, MultiModality over embeddings.
* `actions`: rule-based per-action checks on joint trajectories (procedural corpus labels).
* `generation`: batched, length-exact sampling from a checkpoint (and its untrained twin).
"""
