"""Training stack: data -> fit -> export -> evaluate.

- `data/`: HumanML3D / KIT-ML loaders (their on-disk layout), mean/std, batching.
- `procedural/`: the procedural motion corpus, written in the same layout.
- `fit.py` (+ `trainer.py`, `stages.py`, `ema.py`, `lr_schedule.py`, `data_order.py`, `distributed.py`,
  `run_log.py`, `config.py`): VAE then denoiser training, one GPU or many under torchrun, resumable.
- `export.py`: the engine checkpoint (safetensors + config.json) from the two runs.
- `evaluation/` + `evaluate.py`: our text-motion evaluator, T2M metrics and per-action checks.
- `recipes/`: the shell recipes that reproduce the shipped default model and its evaluation.
"""
