"""Latent action model (stage 2) on the 50 frames/s tokenizer's latents: one action per 10 frames (0.2 s).

    python launch/train.py --config configs/tokenizer.py --workdir runs/tokenizer   # stage 1
    python launch/encode.py --workdir runs/tokenizer                                 # -> runs/tokenizer/latents
    python launch/train.py --config configs/lam.py --workdir runs/lam \
        --config.init.tokenizer.workdir=runs/tokenizer
    python launch/train.py --config configs/tokenizer.py:tiny --workdir runs/tok_tiny          # CPU size
    python launch/train.py --config configs/lam.py:tiny --workdir runs/lam_tiny  # reads runs/tok_tiny

The latents are read from `data.latent_dir`, or, when that is empty, from `init.tokenizer.workdir`/latents
(encoded there on the first run if missing, as launch/encode.py would). `data.latent_dim` and
`data.frame_rate` must match the tokenizer's; the task checks them (the presets take the width from the tokenizer
presets in configs/models.py).
`configs/lam_8hz.py` reuses `lam_config` for the 8 frames/s tokenizer.
"""

from __future__ import annotations

import os

import ml_collections

from configs import common, models


def lam_config(preset: str, *, frame_rate: float, tokenizer: dict, window_frames: int,
               frames_per_action: int, tokenizer_workdir: str, tiny_tokenizer: dict,
               tiny_tokenizer_workdir: str, tiny_model_dim: int) -> ml_collections.ConfigDict:
  """The LAM config on the latents of a tokenizer built from the `configs/models.py` preset `tokenizer` (its
  latent width); the tiny_* arguments describe the tiny tokenizer run that `:tiny` reads and the LAM's width
  there."""
  c = common.base_config()
  c.task = "lam"
  c.total_steps = 100_000
  c.batch_size = 64
  c.optim.lr = 3e-4
  c.optim.warmup_steps = 2_000
  c.log_every_steps = 100
  c.eval_every_steps = 5_000
  c.checkpoint_every_steps = 5_000
  c.init = ml_collections.ConfigDict(dict(
      tokenizer=ml_collections.ConfigDict(dict(workdir=tokenizer_workdir))))
  c.data.latent_dir = ""           # "" = init.tokenizer.workdir + "/latents"
  c.data.latent_dim = tokenizer["latent_dim"]   # C, checked against latents.json
  c.data.frame_rate = frame_rate   # latent frames per second, checked against latents.json
  c.data.window_frames = window_frames  # T, a multiple of model.frames_per_action
  c.model = ml_collections.ConfigDict(dict(
      frames_per_action=frames_per_action, num_actions=8, model_dim=512, encoder_depth=8, decoder_depth=8,
      num_heads=8, mlp_ratio=4, code_dim=32, beta=0.25, normalize_codes=True,
      # Issue 11's ablation (experiments/lam_ablation.py, arm sdelta_short): the encoder sees each frame minus
      # the frame one step earlier, so a code says what changed since the last step, not how loud a step is.
      # With the short masks below: level eta squared 0.87 (raw window) -> 0.21, loudness jump 0.69, centroid
      # jump 0.20, all codes used.
      encoder_view="step_delta",
      # True: the decoder also gets every step's level (the training latents' first PC), issue 11's level_side arm.
      decoder_level_input=False,
      # Attention kernel and block remat (docs/scale.md, "Many devices and hosts"; defaults from benchmarks/memory.py).
      attention="auto", remat="none",
      dtype="bfloat16"))
  c.loss_weighting = "none"     # "window_std": each channel's error over its variance in the window
  c.loss_space = "frames"       # "step_means": score each hidden step's mean latent, not its frames
  # Short hidden runs (1-2 steps) between visible steps: the step before a hidden one is mostly in view, so a
  # change-coding action has a step to change from (issue 11: step gap 1.37 with the longer spans -> 1.86).
  c.mask = ml_collections.ConfigDict(dict(rate=0.35, max_span=2, block_prob=0.0, block_min=0.3, block_max=0.6))
  c.vq = ml_collections.ConfigDict(dict(
      loss_weight=1.0,          # total loss = hidden-frame MSE + loss_weight * (codebook + beta * commitment)
      usage_decay=0.99,         # EMA of each code's share of the batch
      dead_threshold=0.01,      # a code whose usage EMA falls below this is restarted (1/A = 0.125 is fair)
      restart_noise=0.01))
  c.action_dropout = 0.1        # fraction of windows decoded with the null action (the "no action" baseline)
  c.eval = ml_collections.ConfigDict(dict(split="validation", num_windows=256, batch_size=32, seed=1234))

  if preset == "tiny":  # the CPU demo size: 1500 steps take a few minutes on 2 cores
    c.total_steps = 1500
    c.batch_size = 8
    c.shard_min_size = 2048      # still shards the MLP, attention and adaLN kernels over fsdp
    c.optim.lr = 1e-3
    c.optim.warmup_steps = 2
    c.log_every_steps = 25
    c.eval_every_steps = 500
    c.checkpoint_every_steps = 500
    c.async_checkpoints = False
    c.data.latent_dim = tiny_tokenizer["latent_dim"]
    c.init.tokenizer.workdir = tiny_tokenizer_workdir
    c.data.window_frames = 8 * frames_per_action
    c.model.update(dict(model_dim=tiny_model_dim, encoder_depth=1, decoder_depth=1, num_heads=2, code_dim=8,
                        dtype="float32"))
    c.eval.update(dict(num_windows=16, batch_size=8))
  return c


def get_config(arg=None):
  arg = common.parse_arg(arg, preset="default")
  return lam_config(arg.preset, frame_rate=50.0, tokenizer=models.TOKENIZER["full_50hz"],
                    window_frames=250, frames_per_action=10,
                    tokenizer_workdir=os.path.join(common.REPO_ROOT, "runs", "tokenizer"),
                    tiny_tokenizer=models.TOKENIZER["tiny_50hz"],
                    tiny_tokenizer_workdir=os.path.join(common.REPO_ROOT, "runs", "tok_tiny"),
                    # Issue 25: on the 32-channel latent a LAM 32 wide explained the steps less (step gap 1.13 /
                    # 1.23 over two seeds, against 1.50 on 16 channels) and its edits were read back less often;
                    # 64 wide: 1.52 / 1.33, dynamics action accuracy 0.38 -> 0.52 / 0.51, random requests read
                    # back from the edited audio 0.45 / 0.48 -> 0.50 / 0.48 and 0.50 / 0.64 (docs/tokenizer.md).
                    # The LAM stays cheap beside the dynamics model: 1500 steps take 30 s on 2 cores (23 s at 32).
                    tiny_model_dim=64)
