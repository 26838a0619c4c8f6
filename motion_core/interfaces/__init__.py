"""Interfaces: the ways people and programs drive the engine.

`cli` (the `motion-core` command), `worker` (JSON lines over stdio, used by the Blender add-on) and `bench`
(the built-in speed benchmarks, `python -m motion_core.bench`).

May import: everything else in motion_core; nothing in motion_core imports these.
"""
