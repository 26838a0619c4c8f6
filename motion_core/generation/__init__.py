"""Generation: prompts to features, the engine's working parts.

In data-path order: `requests` (checking what a caller asked for, planning lengths), `sampling` (text encoding
and the latent diffusion pass, `diffusion` holding the samplers), `batching` (passes of many prompts and the
out-of-memory policy), `decoding` (VAE decode and de-normalisation, `normalization`), then what is built on a
sampling pass: `extend` and `timeline`. `graphs` keeps the CUDA graphs the engine replays, `loading` reads and
writes model checkpoints into modules, `progress` and `meta` describe work and results.

May import: `models`, `ssm`, `text`, `kinematics`, `formats`, `runtime`. Nothing here imports `motion_core.engine`:
the `Engine` facade calls these parts, passing itself, and the parts use only its public attributes.
"""
