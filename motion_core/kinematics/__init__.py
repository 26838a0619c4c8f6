"""Kinematics: the skeleton and everything that turns one description of a pose into another.

Holds the skeletons (`skeleton`), quaternion maths (`quaternion`), the 263-dim HumanML3D features and their
joints (`representation`), inverse and forward kinematics in numpy (`rotations`) and torch (`rotations_torch`,
`component_first`, `ik_graph`), rigid body fitting (`rigid_fit`) and motion-quality metrics (`motion_metrics`).

May import: numpy, torch, and `motion_core.runtime` (CUDA-graph helpers for the GPU IK). Nothing here knows
about models, files or the engine.
"""
