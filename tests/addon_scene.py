"""A registered add-on in an empty scene with an SMPL armature, driven by an in-process engine whose model is
a test fake. Shared by the add-on tests that run the generation loop (import after `importorskip("bpy")`)."""
import bpy
import numpy as np

import addon
from addon import engine_client as ec
from addon import session
from motion_core.formats.motion import Motion
from motion_core.kinematics.skeleton import HUMANML3D


def registered_scene(model, tmp_path, monkeypatch):
    """Generator for a pytest fixture: yields (scene, model), unregisters and resets Blender afterwards."""
    bpy.ops.wm.read_factory_settings(use_empty=True)
    addon.register()
    monkeypatch.setattr(session, "takes_dir", lambda: tmp_path)
    session.set_engine(ec.InProcessEngine(loader=lambda ckpt, dev: model))
    bpy.context.scene.render.fps = 20
    bpy.ops.motion.create_smpl_armature()
    yield bpy.context.scene, model
    addon.unregister()
    bpy.ops.wm.read_factory_settings(use_empty=True)


def standing_motion(frames: int) -> Motion:
    """A still body in the rest pose, feet on the floor: what fake engines return."""
    root = np.zeros((frames, 3))
    root[:, 1] = -HUMANML3D.rest_positions()[:, 1].min()
    rotations = np.zeros((frames, 22, 4))
    rotations[..., 0] = 1
    return Motion(fps=20, joints=HUMANML3D.rest_positions()[None] + root[:, None], rotations=rotations,
                  root_translation=root, offsets=HUMANML3D.rest_offsets, meta={"prompt": "stand"})


class LabelLayout:
    """Stands in for a panel's UILayout (headless Blender cannot draw): every nested layout call returns another
    one, and each `label` is recorded in the shared `log` as (text, icon)."""

    def __init__(self, log):
        self.log = log

    def __getattr__(self, name):
        def call(*args, **kwargs):
            if name == "label":
                self.log.append((kwargs.get("text", ""), kwargs.get("icon", "")))
            return LabelLayout(self.log)
        return call


def panel_labels(panel, context) -> list[tuple[str, str]]:
    """The (text, icon) of every label `panel.draw` writes in `context`."""
    log = []
    panel.draw(type("P", (), {"layout": LabelLayout(log)})(), context)
    return log
