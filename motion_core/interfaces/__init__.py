"""Interfaces: the ways people and programs drive the engine.

`cli` (the `motion-core` command), `worker` (JSON lines over stdio, used by the Blender add-on; with its parts
`worker_protocol`, `worker_params`, `worker_results`) and `bench` (the built-in speed benchmarks,
`python -m motion_core.bench`; with `bench_models`, `bench_timing`, `bench_report`, `bench_scaling`, `bench_profile`).

May import: everything else in motion_core; nothing in motion_core imports these.
"""
