"""Old import path of `Motion`, kept for users' scripts: the class lives in `motion_core.formats.motion`."""
from motion_core.formats.motion import Motion

__all__ = ["Motion"]
