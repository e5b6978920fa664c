"""A tokenizer run config for tests, far smaller than the `tiny` preset: stride 32, ~47k params, 0.1 s crops.

    python launch/train.py --config genie_audio/testing/tokenizer_config.py --workdir runs/tok_micro \
        --config.data.dataset_dir=DATASET
"""

from __future__ import annotations

import ml_collections

from configs import tokenizer
from genie_audio.testing import runs

MICRO_MODEL = dict(strides=(4, 8), encoder_channels=(4, 8, 16), encoder_depth=1, latent_dim=8, patch_size=16,
                   decoder_channels=(16, 32), decoder_depth=1, decoder_attn_depth=0, dtype="float32")


def get_config(arg=None) -> ml_collections.ConfigDict:
  del arg
  c = tokenizer.get_config("tiny")
  c.model = ml_collections.ConfigDict(MICRO_MODEL)
  c.data.crop_seconds = 0.1
  c.total_steps = 4
  c.shard_min_size = 256  # small enough that some kernels really are FSDP-sharded
  c.optim.warmup_steps = 1
  c.log_every_steps = 1
  c.eval_every_steps = 4
  c.checkpoint_every_steps = 2
  c.eval = ml_collections.ConfigDict(dict(num_clips=2, clip_seconds=0.2, sampler_steps=2, method="euler", seed=0,
                                          chunk_seconds=0.2, overlap_seconds=0.04))
  return c


def micro(dataset_dir, **overrides) -> ml_collections.ConfigDict:
  """The test config on `dataset_dir`, with dotted-key overrides, e.g. micro(d, **{"optim.lr": 1e-3})."""
  config = get_config()
  config.data.dataset_dir = str(dataset_dir)
  return runs.override(config, **overrides)
