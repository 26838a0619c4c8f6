"""Real motion capture (CMU Graphics Lab database) converted to HumanML3D's 22-joint, 20 fps representation.

Modules: `asf_amc` (reading files), `kinematics` (forward kinematics), `mapping` (CMU bones -> 22 joints,
retargeting onto HumanML3D's proportions), `resample` (frame rate), `convert` (one trial -> clips),
`descriptions` (trial descriptions), `captions` (descriptions -> sentences), `export` (dataset folder).
Command: ``python -m train.mocap --source DIR --out DIR``; see README.md here.
"""
