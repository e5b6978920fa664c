"""A toy stage for testing the loop: a small conv autoencoder on waveform crops.

Small enough to train in seconds on CPU, big enough (a few FSDP-sharded kernels) that sharding, EMA,
checkpoints and resumption are really exercised.
"""

from __future__ import annotations

import time

import flax.linen as nn
import jax
import jax.numpy as jnp
import ml_collections

from genie_audio.data import pipelines
from genie_audio.training import checkpoint
from genie_audio.training.task import Task


class ToyAutoencoder(nn.Module):
  width: int = 64
  stride: int = 8

  @nn.compact
  def __call__(self, wave_BT):
    x = wave_BT[..., None]
    h = nn.gelu(nn.Conv(self.width, (2 * self.stride,), strides=(self.stride,), padding="SAME")(x))
    h = nn.gelu(nn.Dense(self.width)(h))
    y = nn.ConvTranspose(1, (2 * self.stride,), strides=(self.stride,), padding="SAME")(h)
    return y[..., 0], {"latent": h}


class ToyTask(Task):
  name = "toy"

  def __init__(self, config: ml_collections.ConfigDict, workdir: str | None = None):
    super().__init__(config, workdir)
    self.model = ToyAutoencoder(width=config.model.width)

  @classmethod
  def validate_config(cls, config: ml_collections.ConfigDict) -> None:
    # Opens the upstream run's checkpoints as the progressive tokenizer's check does: this touches JAX, so
    # multi-process tests see whether `jax.distributed` was joined first.
    upstream = config.get("init", {}).get("workdir", "")
    if upstream and checkpoint.Checkpointer(upstream, read_only=True).latest_step() is None:
      raise ValueError(f"config.init.workdir={upstream!r} has no checkpoint")

  def upstream_params(self, abstract_params):
    upstream = self.config.get("init", {}).get("workdir", "")
    return checkpoint.Checkpointer(upstream, read_only=True).restore_params(abstract_params) if upstream else None

  def train_data(self, seed, batch_size, shard_index, shard_count):
    ds = pipelines.waveform_crops(self.config.data.dataset_dir, "train", self.config.data.crop_frames,
                                  batch_size=batch_size, seed=seed, shard_index=shard_index,
                                  shard_count=shard_count)
    delay = self.config.data.read_delay_s
    if delay:  # slows the run down so a test can kill it mid-training
      ds = ds.map(lambda batch: time.sleep(delay) or batch)
    return ds

  def batch_shapes(self, batch_size):
    return {"wave": jax.ShapeDtypeStruct((batch_size, self.config.data.crop_frames), jnp.float32)}

  def init_params(self, rng, batch):
    return self.model.init(rng, jnp.zeros(batch["wave"].shape, jnp.float32))["params"]

  def loss(self, params, batch, rng, step):
    # Input noise makes the loss depend on the rng, so tests see the key sequence continue on resume.
    noisy = batch["wave"] + 0.01 * jax.random.normal(rng, batch["wave"].shape)
    recon, _ = self.model.apply({"params": params}, noisy)
    loss = jnp.mean((recon - batch["wave"]) ** 2)
    loss = loss * self.config.loss_scale  # tests set it to nan to exercise the non-finite guard
    return loss, {"train/rms": jnp.sqrt(jnp.mean(batch["wave"] ** 2))}, {}
