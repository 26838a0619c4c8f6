"""Animator controls (issue 23): post-processing steps that take and return joint arrays or `Motion`s.

* `foot_cleanup`: lock planted feet with leg IK, keep feet above the ground.
* `joins`: take the pop out of timeline joins and `extend` seams.
* `loop`: make a cyclic take seamless on repeat.

May import: `kinematics`, `formats`. `generation` calls these after solving a motion's rotations.
"""
