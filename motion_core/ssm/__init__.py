"""Selective state-space (Mamba) layers with a fused-CUDA / pure-PyTorch backend chosen at run time.

Importing this package never imports mamba_ssm (its import fails without the compiled
extension); backends.cuda_ops() tries that lazily, once.
"""
from motion_core.ssm.backends import available_backends, selective_scan
from motion_core.ssm.mamba import Mamba, MambaState

__all__ = ["Mamba", "MambaState", "available_backends", "selective_scan"]
