"""Kinematics: the skeleton and everything that turns one description of a pose into another.

Holds the skeletons (`skeleton`), quaternion maths (`quaternion`), the 263-dim HumanML3D features and their
joints (`representation`), forward kinematics (`forward_kinematics`), the inverse from joint positions in numpy
(`rotations`, with `twist_references` and the per-skeleton `ik_plan`) and torch (`rotations_torch`, `ik_plan_torch`,
`ik_graph`), component-first kernels (`component_first`, `component_first_torch`), rigid body fitting (`rigid_fit`,
`rigid_fit_torch`) and motion-quality metrics (`motion_metrics`).

May import: numpy, torch, and `motion_core.runtime` (CUDA-graph helpers for the GPU IK). Nothing here knows
about models, files or the engine.
"""
