"""Animator controls (issue 23): post-processing steps that take and return joint arrays or `Motion`s.

* `foot_cleanup`: lock planted feet with leg IK, keep feet above the ground.
* `joins`: take the pop out of timeline joins and `extend` seams.
* `loop`: make a cyclic take seamless on repeat.
* `path`: move a take's root onto a path of waypoints or a drawn curve, facing along it (item 1).
* `pins`: meet key poses or single joints (effectors) at given frames, eased in and out (item 3).

May import: `kinematics`, `formats`. `generation` calls these after solving a motion's rotations.
"""
