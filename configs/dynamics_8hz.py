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
  c = dynamics_config(arg.preset, window_frames=64,
                      lam_workdir=os.path.join(common.REPO_ROOT, "runs", "lam_8hz"), tiny_window_frames=16,
                      tiny_lam_workdir=os.path.join(common.REPO_ROOT, "runs", "lam8_tiny"))
  # The LAM's pull at 8 frames/s (issue 25, docs/tokenizer.md; demo chain runs/demo_8hz_r4, edit_music.py with
  # 15 validation / 10 out-of-corpus spans): at the 50 frames/s weight 12 the edits came out 4-6 dB too loud
  # with rough seams (1.5-1.7); at 3 they are within 0.6-2 dB, seams 1.2-1.5, harmony 0.49-0.58 (was 0.46-0.58),
  # and random requests read back as often on average (0.39 / 0.29 against 0.29 / 0.40). Guidance 1 instead of 2
  # left them as loud.
  c.edit.action_guidance = 3.0
  return c
