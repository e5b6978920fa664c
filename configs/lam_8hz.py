"""Latent action model on the 8 frames/s tokenizer's latents: one action per 2 frames (0.25 s), 8 s windows.

    python launch/train.py --config configs/tokenizer_8hz.py --workdir runs/tokenizer_8hz   # stage 1
    python launch/encode.py --workdir runs/tokenizer_8hz
    python launch/train.py --config configs/lam_8hz.py --workdir runs/lam_8hz \
        --config.init.tokenizer.workdir=runs/tokenizer_8hz

Same fields as configs/lam.py (see there); `:tiny` is the CPU size and reads runs/tok8_tiny
(python launch/train.py --config configs/tokenizer_8hz.py:tiny --workdir runs/tok8_tiny).
"""

from __future__ import annotations

import os

from configs import common, models
from configs.lam import lam_config


def get_config(arg=None):
  arg = common.parse_arg(arg, preset="default")
  return lam_config(arg.preset, frame_rate=8.0, tokenizer=models.TOKENIZER["full_8hz"],
                    window_frames=64, frames_per_action=2,
                    tokenizer_workdir=os.path.join(common.REPO_ROOT, "runs", "tokenizer_8hz"),
                    tiny_tokenizer=models.TOKENIZER["tiny_8hz"],
                    tiny_tokenizer_workdir=os.path.join(common.REPO_ROOT, "runs", "tok8_tiny"),
                    # 32 wide, not 64 as at 50 frames/s: on runs/demo_8hz_r4 64 raised the step gap 1.16 -> 1.22
                    # but the stability to a one-frame shift fell to chance (0.26 -> 0.13; runs/lam25_8hz).
                    tiny_model_dim=32)
