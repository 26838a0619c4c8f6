"""Runtime: where and how tensors run, independent of what they compute.

`device` (choosing a device, recognising out-of-memory), `shape_graphs` (capture-once, replay-by-shape CUDA
graphs, optionally compiled) and `graph_sampler` (the whole denoising loop as one CUDA graph).

May import: torch only. The sampler a graph replays is handed in by the caller.
"""
