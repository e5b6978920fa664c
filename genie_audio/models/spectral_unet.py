"""A velocity network over the STFT plane: a 2D U-Net on (frames, frequency bins), for the 'stft' flow space.

Why 2D: an STFT frame has 2F = 642 coefficients (hop 160); a 1D network over frames must squeeze them into its
first width (64 at CPU size), and the per-bin detail that makes a note (which bins hold its partials) does not
get through. Convolutions along frequency share weights across bins, as Music2Latent's decoder does, so the
net stays small while every bin keeps its own features (groups of `freq_patch` neighbouring bins share one
position of the plane, their values as its channels). The latent conditions each position directly: it is
up-sampled to the frame rate and projected to `cond_per_bin` channels for every position along frequency.

Dimension keys: B batch, N frames, F frequency bins (padded to a multiple of the U-Net's down-sampling),
C channels, T latent frames, E time-embedding dim.
"""

from __future__ import annotations

import math
from typing import Any

import einops
import flax.linen as nn
import jax
import jax.numpy as jnp

from genie_audio.models.axes import Conv, Dense, constrain_batch
from genie_audio.models.dcae import UpStage
from genie_audio.models.layers import AdaLNModulation, RMSNorm, TimeEmbedding, modulate

Dtype = Any


class ConvResBlock2D(nn.Module):
  """norm -> SiLU -> 3x3 conv -> norm, FiLM by the time embedding -> SiLU -> 3x3 conv (zero-init), plus input."""
  dtype: Dtype = jnp.float32

  @nn.compact
  def __call__(self, x_BNFC: jax.Array, temb_BE: jax.Array) -> jax.Array:
    C = x_BNFC.shape[-1]
    x_BNFC = constrain_batch(x_BNFC)
    conv = lambda **kw: Conv(C, (3, 3), padding="SAME", dtype=self.dtype, param_dtype=jnp.float32, **kw)
    h = conv()(nn.silu(RMSNorm(dtype=self.dtype)(x_BNFC)))
    shift, scale = AdaLNModulation(C, 2, dtype=self.dtype)(temb_BE)
    h = modulate(RMSNorm(use_scale=False, dtype=self.dtype)(h), shift[:, None], scale[:, None])
    return constrain_batch(x_BNFC + conv(kernel_init=nn.initializers.zeros)(nn.silu(h)))


class SpectralVelocityNet(nn.Module):
  """(x_t (B, N, 2F) compressed STFT frames, t (B,), z (B, T, C)) -> velocity (B, N, 2F)."""
  cond_factors: tuple[int, ...]  # latent rate -> frame rate
  cond_channels: int
  channels: tuple[int, ...]      # widths per level; x2 down-sampling in time and frequency between levels
  depth: int
  freq_patch: int = 8  # neighbouring bins per position of the plane (their 2 x freq_patch values as channels)
  cond_per_bin: int = 4
  dtype: Dtype = jnp.float32

  @nn.compact
  def __call__(self, x_BNP: jax.Array, t_B: jax.Array, z_BTC: jax.Array) -> jax.Array:
    B, N, P = x_BNP.shape
    F, down, g = P // 2, 2 ** (len(self.channels) - 1), self.freq_patch
    Fp = math.ceil(F / (down * g)) * down * g
    # Real and imaginary parts (stored side by side) of `g` neighbouring bins become the channels of one
    # position of the plane: as cheap as a 1D net over frames, without squeezing all bins into one vector.
    x_BNFC = einops.rearrange(x_BNP.astype(self.dtype), "B N (R F) -> B N F R", R=2)
    x_BNFC = jnp.pad(x_BNFC, ((0, 0), (0, 0), (0, Fp - F), (0, 0)))
    x_BNFC = einops.rearrange(x_BNFC, "B N (F G) R -> B N F (G R)", G=g)

    c_BNC = Dense(self.cond_channels, dtype=self.dtype, param_dtype=jnp.float32, name="cond_in")(
        z_BTC.astype(self.dtype))
    for i, r in enumerate(self.cond_factors):
      c_BNC = UpStage(r, self.cond_channels, depth=1, kernel_size=3, dtype=self.dtype, name=f"cond_up{i}")(c_BNC)
    c_BNFC = Dense(Fp // g * self.cond_per_bin, dtype=self.dtype, param_dtype=jnp.float32, name="cond_bins")(
        nn.silu(c_BNC)).reshape(B, N, Fp // g, self.cond_per_bin)
    temb_BE = TimeEmbedding(self.channels[-1], dtype=self.dtype)(t_B)

    h = Conv(self.channels[0], (3, 3), padding="SAME", dtype=self.dtype, param_dtype=jnp.float32, name="in")(
        jnp.concatenate([x_BNFC, c_BNFC], axis=-1))
    skips = []
    for lvl, width in enumerate(self.channels):
      if lvl > 0:
        h = Conv(width, (2, 2), strides=(2, 2), dtype=self.dtype, param_dtype=jnp.float32,
                 name=f"down{lvl}")(h)
      for j in range(self.depth):
        h = ConvResBlock2D(dtype=self.dtype, name=f"enc{lvl}_{j}")(h, temb_BE)
      skips.append(h)
    for lvl in reversed(range(len(self.channels))):
      h = Dense(self.channels[lvl], dtype=self.dtype, param_dtype=jnp.float32, name=f"skip{lvl}")(
          jnp.concatenate([h, skips[lvl]], axis=-1))
      for j in range(self.depth):
        h = ConvResBlock2D(dtype=self.dtype, name=f"dec{lvl}_{j}")(h, temb_BE)
      if lvl > 0:
        h = jnp.repeat(jnp.repeat(h, 2, axis=1), 2, axis=2)
        h = Conv(self.channels[lvl - 1], (3, 3), padding="SAME", dtype=self.dtype, param_dtype=jnp.float32,
                 name=f"up{lvl}")(h)
    h = nn.silu(RMSNorm(dtype=self.dtype)(h))
    # Zero-init output: the initial velocity is 0, so the first loss is E|v_target|^2 (no blow-up).
    v_BNFC = Conv(2 * g, (3, 3), padding="SAME", dtype=self.dtype, param_dtype=jnp.float32,
                  kernel_init=nn.initializers.zeros, name="out")(h)
    v_BNFC = einops.rearrange(v_BNFC, "B N F (G R) -> B N (F G) R", G=g)[:, :, :F]
    return einops.rearrange(v_BNFC, "B N F R -> B N (R F)").astype(jnp.float32)
