"""Build the installable Blender extension zip: `python build_addon.py --out dist/`.

The zip holds the add-on package at its root (blender_manifest.toml next to __init__.py, as Blender's
extension installer expects) plus motion_core/kinematics/skeleton.py copied in as `_vendor/skeleton.py`, so the
add-on knows the skeleton even when Blender's Python cannot import motion_core. Nothing else (no tests,
caches or compiled files) goes in.
"""
from __future__ import annotations

import argparse
import re
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent
ADDON = ROOT / "addon"
VENDORED = {ROOT / "motion_core" / "kinematics" / "skeleton.py": "_vendor/skeleton.py"}
_SUFFIXES = {".py", ".toml"}


def manifest_field(name: str, manifest: Path = ADDON / "blender_manifest.toml") -> str:
    """A top-level string field of the manifest (tomllib is 3.11+; a regex keeps 3.10 working)."""
    match = re.search(rf'^{name}\s*=\s*"([^"]*)"', manifest.read_text(encoding="utf-8"), re.MULTILINE)
    if match is None:
        raise ValueError(f"{manifest} has no {name} field")
    return match.group(1)


def addon_files() -> dict[str, Path]:
    """Archive name -> source file."""
    files = {}
    for path in sorted(ADDON.rglob("*")):
        rel = path.relative_to(ADDON)
        if path.is_file() and path.suffix in _SUFFIXES and "__pycache__" not in rel.parts:
            files[rel.as_posix()] = path
    for source, name in VENDORED.items():
        if not source.is_file():
            raise FileNotFoundError(f"{source} is missing; the add-on bundles it")
        files[name] = source
    files.setdefault("_vendor/__init__.py", None)   # empty package marker
    return files


def build(out_dir: Path) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{manifest_field('id')}-{manifest_field('version')}.zip"
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, source in addon_files().items():
            if source is None:
                zf.writestr(name, "")
            else:
                zf.write(source, name)
    return target


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "dist", help="output folder (default: dist/)")
    args = parser.parse_args(argv)
    print(build(args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
