"""A registered add-on in an empty scene with an SMPL armature, driven by an in-process engine whose model is
a test fake. Shared by the add-on tests that run the generation loop (import after `importorskip("bpy")`)."""
import bpy

import addon
from addon import engine_client as ec
from addon import session


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
