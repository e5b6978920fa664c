"""A whole micro pipeline for tests: fake dataset -> tokenizer -> encode -> LAM -> dynamics, a few steps each.

Sizes are for seconds on CPU, not for quality: a 50 frames/s tokenizer with ~40k parameters (stride 320, like the
real 50 frames/s preset, so edits are specified in the same seconds), a LAM with 4 actions of R = 5 frames
(0.1 s) on 0.8 s windows, and a one-block dynamics model on the same windows.
"""

from __future__ import annotations

from pathlib import Path

import jax
import ml_collections

from configs import dynamics as dynamics_configs
from configs import lam as lam_configs
from genie_audio import tasks
from genie_audio.runs import encoding
from genie_audio.testing import fake_data
from genie_audio.testing.runs import override
from genie_audio.testing.tokenizer_config import micro
from genie_audio.training import loop

FRAMES_PER_ACTION = 5
WINDOW_FRAMES = 40
NUM_ACTIONS = 4

# One U-Net level in the decoder: a quarter less to compile than two.
MODEL_50HZ = dict(strides=(4, 8, 10), encoder_channels=(4, 8, 16, 32), encoder_depth=1, latent_dim=8,
                  patch_size=16, decoder_channels=(16,), decoder_depth=1, decoder_attn_depth=0,
                  dtype="float32")


def tokenizer_config(dataset_dir: str | Path, **overrides) -> ml_collections.ConfigDict:
  config = micro(dataset_dir, total_steps=2)
  config.model = ml_collections.ConfigDict(MODEL_50HZ)
  config.data.crop_seconds = 0.2
  config.eval.update(dict(clip_seconds=0.4, chunk_seconds=0.4, overlap_seconds=0.08))
  return override(config, **overrides)


def lam_config(tokenizer_workdir: str | Path, **overrides) -> ml_collections.ConfigDict:
  config = lam_configs.get_config("tiny")
  config.init.tokenizer.workdir = str(tokenizer_workdir)
  config.data.latent_dim = MODEL_50HZ["latent_dim"]
  config.data.window_frames = WINDOW_FRAMES
  config.model.update(dict(frames_per_action=FRAMES_PER_ACTION, num_actions=NUM_ACTIONS, model_dim=16,
                           num_heads=2, code_dim=4))
  config.update(dict(total_steps=2, batch_size=8, log_every_steps=1, eval_every_steps=2,
                     checkpoint_every_steps=2))
  config.vq.dead_threshold = 0.01
  config.eval.update(dict(num_windows=4, batch_size=4))
  return override(config, **overrides)


def dynamics_config(lam_workdir: str | Path, **overrides) -> ml_collections.ConfigDict:
  config = dynamics_configs.get_config("tiny")
  config.init.lam.workdir = str(lam_workdir)
  config.data.window_frames = WINDOW_FRAMES
  config.model.update(dict(dim=16, depth=1, num_heads=2))
  config.update(dict(total_steps=2, batch_size=8, log_every_steps=1, eval_every_steps=2,
                     checkpoint_every_steps=2, async_checkpoints=False))
  config.edit.num_steps = 2
  # Unguided by default: the LAM's gradient in the sampler doubles what every edit and evaluation compiles; the
  # tests of action guidance ask for it.
  config.edit.action_guidance = 0.0
  # 3 s fake recordings: one 0.6 s span at 1 s for the music report, a retrieval context that leaves room.
  config.edit.retrieval_context_seconds = 0.1
  config.eval.update(dict(music_starts_s=(1.0,), music_span_seconds=0.6))
  config.eval.update(dict(num_windows=4, report_windows=4, batch_size=4, audio_windows=2,
                          guidance_scales=(1.0, 2.0)))
  return override(config, **overrides)


def train_upstream(root: str | Path, recordings: int = 4, seconds: float = 3.0) -> dict[str, Path]:
  """Fake dataset, tokenizer, latents and LAM under `root`, on one device; returns their folders.

  One device: compiling for one is faster, and the runs restore in processes with any device count.
  """
  root = Path(root)
  devices = jax.devices()[:1]
  dataset = fake_data.write_fake_dataset(root / "data", recordings=recordings, seconds=seconds)
  runs = {"dataset": dataset, "tokenizer": root / "tokenizer", "lam": root / "lam", "dynamics": root / "dynamics"}
  loop.train(tokenizer_config(dataset), runs["tokenizer"], tasks.get("tokenizer"), devices)
  encoding.encode_dataset(runs["tokenizer"], progress=False)
  loop.train(lam_config(runs["tokenizer"]), runs["lam"], tasks.get("lam"), devices)
  return runs


def train_pipeline(root: str | Path, **dynamics_overrides) -> dict[str, Path]:
  """`train_upstream`, then the dynamics model (one device, dotted-key overrides) in `runs['dynamics']`."""
  runs = train_upstream(root)
  loop.train(dynamics_config(runs["lam"], **dynamics_overrides), runs["dynamics"], tasks.get("dynamics"),
             jax.devices()[:1])
  return runs
