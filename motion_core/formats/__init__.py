"""Formats: what goes to and comes from disk.

`motion` (the `Motion` a user gets: joints + rotations, saved as .npz), `bvh` (export for any DCC tool),
`checkpoint` (a model directory: config.json + model.safetensors, validated; its parts `checkpoint_limits`,
`config_schema`, `checkpoint_config`, `safetensors_header` and `checkpoint_shapes`) and `atomic_file`
(all-or-nothing writes, so an interrupted job never leaves half a file).

May import: numpy, torch, safetensors and `motion_core.kinematics`.
"""
