"""Masked dynamics model on the 8 frames/s latents: 8 s windows, actions every 2 frames (0.25 s).

    python launch/train.py --config configs/dynamics_8hz.py --workdir runs/dynamics_8hz \
        --config.init.lam.workdir=runs/lam_8hz
    python launch/train.py --config configs/dynamics_8hz.py:tiny --workdir runs/dyn8_tiny   # reads runs/lam8_tiny

Same fields as configs/dynamics.py (see there).
"""

from __future__ import annotations

import os

from configs import common
from configs.dynamics import dynamics_config


def get_config(arg=None):
  arg = common.parse_arg(arg, preset="default")
  return dynamics_config(arg.preset, window_frames=64,
                         lam_workdir=os.path.join(common.REPO_ROOT, "runs", "lam_8hz"), tiny_window_frames=16,
                         tiny_lam_workdir=os.path.join(common.REPO_ROOT, "runs", "lam8_tiny"))
