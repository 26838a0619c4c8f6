"""Procedural, captioned human motions on the HumanML3D skeleton, written in the HumanML3D layout.

Pipeline: `generate.sample_sequence` picks actions (`actions.ACTIONS`) -> each fills control `timeline.Channels`
-> `build.build_motion` integrates the root line, plants feet (`gait`), caps the pelvis to the stance legs'
reach and solves IK (`body`) -> joints -> `motion_core.kinematics.representation.joints_to_features`. Captions come from
`captions` (training and held-out phrasings). `export.generate_dataset` / ``python -m train.procedural``
writes a dataset.
"""
from train.procedural.actions import ACTIONS
from train.procedural.export import generate_dataset
from train.procedural.generate import Clip, generate_clip

__all__ = ["ACTIONS", "Clip", "generate_clip", "generate_dataset"]
