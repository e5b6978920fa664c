"""DC-AE residual autoencoding (arXiv 2410.10733) in 1D: space-to-channel shortcuts and the stages using them.

Every down-sampling stage has a parameter-free shortcut that moves time into channels (unshuffle:
(T, C) -> (T/r, C*r)) and averages groups of neighbouring channels down to C_out; the learned path only adds a
residual to it. Up-sampling mirrors it: repeat each channel, then shuffle back ((T, C*r) -> (T*r, C)).

Channel layout of `unshuffle` is channel-major, index = c * r + offset, so neighbouring channels after it are
neighbouring time steps of one input channel: with C_out == C_in the down shortcut is average pooling, and with
C_out == C_in the up shortcut is nearest-neighbour up-sampling.

Divisibility: down needs (C_in * r) % C_out == 0, up needs (C_out * r) % C_in == 0. Odd factors (5) constrain
widths: 128 -> 256 at r = 5 fails (640 / 256), 128 -> 320 works.

Dimension keys: B batch, T time, C channels.
"""

from __future__ import annotations

from typing import Any

import einops
import flax.linen as nn
import jax
import jax.numpy as jnp

from genie_audio.models.axes import Conv, constrain_batch
from genie_audio.models.layers import ConvResBlock, RMSNorm, remat_block

Dtype = Any


def unshuffle(x_BTC: jax.Array, r: int) -> jax.Array:
  """(B, T, C) -> (B, T/r, C*r), channel-major (index c * r + offset). T must be divisible by r."""
  if x_BTC.shape[1] % r:
    raise ValueError(f"unshuffle: time length {x_BTC.shape[1]} is not divisible by factor {r}")
  return einops.rearrange(x_BTC, "B (T r) C -> B T (C r)", r=r)


def shuffle(x_BTC: jax.Array, r: int) -> jax.Array:
  """(B, T, C*r) -> (B, T*r, C); the exact inverse of `unshuffle`."""
  if x_BTC.shape[-1] % r:
    raise ValueError(f"shuffle: channels {x_BTC.shape[-1]} are not divisible by factor {r}")
  return einops.rearrange(x_BTC, "B T (C r) -> B (T r) C", r=r)


def check_down(in_channels: int, factor: int, out_channels: int, stage: str = "down") -> None:
  """Raises a ValueError naming the stage unless the down shortcut's widths are compatible."""
  if (in_channels * factor) % out_channels:
    raise ValueError(
        f"{stage}: DC-AE down shortcut needs in_channels * factor divisible by out_channels; got factor "
        f"{factor}, widths {in_channels} -> {out_channels} ({in_channels}*{factor}={in_channels * factor} "
        f"is not a multiple of {out_channels})")


def check_up(in_channels: int, factor: int, out_channels: int, stage: str = "up") -> None:
  """Raises a ValueError naming the stage unless the up shortcut's widths are compatible."""
  if (out_channels * factor) % in_channels:
    raise ValueError(
        f"{stage}: DC-AE up shortcut needs out_channels * factor divisible by in_channels; got factor "
        f"{factor}, widths {in_channels} -> {out_channels} ({out_channels}*{factor}={out_channels * factor} "
        f"is not a multiple of {in_channels})")


def down_shortcut(x_BTC: jax.Array, factor: int, out_channels: int, stage: str = "down") -> jax.Array:
  """(B, T, C) -> (B, T/factor, out_channels): unshuffle, then mean over groups of neighbouring channels."""
  check_down(x_BTC.shape[-1], factor, out_channels, stage)
  y_BTC = unshuffle(x_BTC, factor)
  y_BTCG = einops.rearrange(y_BTC, "B T (C G) -> B T C G", C=out_channels)
  return jnp.mean(y_BTCG, axis=-1)


def up_shortcut(x_BTC: jax.Array, factor: int, out_channels: int, stage: str = "up") -> jax.Array:
  """(B, T, C) -> (B, T*factor, out_channels): repeat each channel, then shuffle back."""
  check_up(x_BTC.shape[-1], factor, out_channels, stage)
  repeats = out_channels * factor // x_BTC.shape[-1]
  return shuffle(jnp.repeat(x_BTC, repeats, axis=-1), factor)


class DownStage(nn.Module):
  """`depth` residual conv blocks at the input rate, then strided conv (learned) + DC-AE shortcut."""
  factor: int
  out_channels: int
  depth: int = 1
  kernel_size: int = 7
  dilations: tuple[int, ...] = (1, 3, 9)
  remat: str = "none"  # layers.REMAT_POLICIES, for the residual blocks
  dtype: Dtype = jnp.float32

  @nn.compact
  def __call__(self, x_BTC: jax.Array) -> jax.Array:
    # Check widths before building anything so a bad config fails with the stage's name.
    check_down(x_BTC.shape[-1], self.factor, self.out_channels, self.name or "DownStage")
    for i in range(self.depth):
      block_cls = remat_block(ConvResBlock, self.remat)
      # Named as flax names an unwrapped block, so remat leaves the param paths unchanged.
      x_BTC = block_cls(self.kernel_size, self.dilations[i % len(self.dilations)], dtype=self.dtype,
                        name=f"ConvResBlock_{i}")(x_BTC)
    h = nn.silu(RMSNorm(dtype=self.dtype)(x_BTC))
    # Kernel 2r, stride r, 'SAME': each output sees its own r samples plus r/2 either side.
    h_BTC = Conv(self.out_channels, (2 * self.factor,), strides=(self.factor,), padding="SAME",
                 dtype=self.dtype, param_dtype=jnp.float32)(h)
    return constrain_batch(h_BTC + down_shortcut(x_BTC, self.factor, self.out_channels, self.name or "DownStage"))


class UpStage(nn.Module):
  """Mirror of DownStage: sub-pixel conv (learned) + DC-AE shortcut, then `depth` residual blocks."""
  factor: int
  out_channels: int
  depth: int = 1
  kernel_size: int = 7
  dilations: tuple[int, ...] = (1, 3, 9)
  remat: str = "none"  # layers.REMAT_POLICIES, for the residual blocks
  dtype: Dtype = jnp.float32

  @nn.compact
  def __call__(self, x_BTC: jax.Array) -> jax.Array:
    check_up(x_BTC.shape[-1], self.factor, self.out_channels, self.name or "UpStage")
    h = nn.silu(RMSNorm(dtype=self.dtype)(x_BTC))
    h = Conv(self.out_channels * self.factor, (self.kernel_size,), padding="SAME",
             dtype=self.dtype, param_dtype=jnp.float32)(h)
    y_BTC = constrain_batch(shuffle(h, self.factor) + up_shortcut(x_BTC, self.factor, self.out_channels,
                                                                   self.name or "UpStage"))
    for i in range(self.depth):
      block_cls = remat_block(ConvResBlock, self.remat)
      y_BTC = block_cls(self.kernel_size, self.dilations[i % len(self.dilations)], dtype=self.dtype,
                        name=f"ConvResBlock_{i}")(y_BTC)
    return y_BTC
