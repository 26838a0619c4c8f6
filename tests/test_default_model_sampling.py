"""The bundled model's recommended sampling is what the add-on samples with.

The engine and the CLI take `diffusion.sample_steps` from the checkpoint when no steps are given; the add-on's
panel starts at its own Steps default. From 2026-12-04 to 12-07 the bundled models said 20 (the training
config's value) while the add-on and the README said 10, so the same prompt and seed gave different takes in
Blender and on the command line, and the CLI took ~1.6 times as long for nothing measured
(benchmarks/results/sample_steps_v15_20261207/: 10 steps pass as 20 do).
"""
import ast
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def addon_default(settings_class: str, prop: str):
    """The `default=` of an add-on property, read from the source (no Blender needed)."""
    tree = ast.parse((ROOT / "addon" / "props.py").read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and node.name == settings_class:
            for item in node.body:
                # Blender properties are annotations: `steps: IntProperty(..., default=10)`
                if isinstance(item, ast.AnnAssign) and getattr(item.target, "id", None) == prop:
                    for keyword in item.annotation.keywords:
                        if keyword.arg == "default":
                            return ast.literal_eval(keyword.value)
    raise AssertionError(f"{settings_class}.{prop} has no default in addon/props.py")


def test_the_addon_samples_as_the_bundled_model_recommends():
    diffusion = json.loads((ROOT / "motion_core" / "default_model" / "config.json").read_text())["diffusion"]
    assert addon_default("MotionSceneSettings", "steps") == diffusion["sample_steps"] == 10
    assert addon_default("MotionSceneSettings", "guidance") == diffusion["guidance"]


def test_the_training_configs_export_the_same_steps():
    # continue_model.sh exports with v7_open_text_gates.json, a model trained from scratch with default.json: what
    # they make must keep recommending what the add-on samples
    for name in ("v7_open_text_gates.json", "default.json"):
        config = json.loads((ROOT / "train" / "configs" / name).read_text())
        assert config["denoiser"]["diffusion"]["sample_steps"] == addon_default("MotionSceneSettings", "steps"), name
