"""Shared flax.linen building blocks: norms, time embedding, adaLN, conv residual block, attention, MLP.

Used by the tokenizer (conv encoder and velocity U-Net) and by the transformer latent action and dynamics
models. Parameters are always float32; each module's `dtype` is the compute dtype (jnp.bfloat16 on
accelerators). Norm statistics and the attention softmax run in float32 whatever `dtype` is.

Two per-model options come from `config.model`:
  attention ("auto" | "xla" | "cudnn"): the kernel of `jax.nn.dot_product_attention`. "auto" takes cuDNN's
    flash attention on a GPU when it can run it (bf16/fp16 compute, head dim a multiple of 8 up to 128, no mask)
    and XLA's plain path elsewhere (CPU, TPU, float32); "cudnn" insists (and fails where cuDNN cannot).
  remat ("none" | "full" | "dots"): rematerialisation of each transformer / residual block in the backward pass
    (`remat_block`): "full" keeps only the block inputs, "dots" also keeps the outputs of the weight matmuls.

Dimension keys:
  B batch, T time (query positions), S time (key positions), C channels, D model dim,
  E conditioning dim, N heads, H head dim (gemma's BTNH), F MLP hidden dim.
"""

from __future__ import annotations

import math
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from genie_audio.models.axes import Conv, Dense, constrain_batch, named

Dtype = Any

_F32 = jnp.float32


def layer_norm(x: jax.Array, axes: int | tuple[int, ...] = -1, eps: float = 1e-6) -> jax.Array:
  """Parameter-free LayerNorm over `axes`, computed in float32 (also DiTo's latent regulariser)."""
  x32 = x.astype(_F32)
  mean = jnp.mean(x32, axis=axes, keepdims=True)
  var = jnp.mean(jnp.square(x32 - mean), axis=axes, keepdims=True)
  return (x32 - mean) * jax.lax.rsqrt(var + eps)


class RMSNorm(nn.Module):
  """RMS norm over the last (channel) axis; per time step, so it never mixes positions."""
  use_scale: bool = True
  eps: float = 1e-6
  dtype: Dtype = _F32

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    x32 = x.astype(_F32)
    y = x32 * jax.lax.rsqrt(jnp.mean(jnp.square(x32), axis=-1, keepdims=True) + self.eps)
    if self.use_scale:
      y = y * self.param("scale", nn.initializers.ones, (x.shape[-1],), _F32)
    return y.astype(self.dtype)


def LayerNorm(dtype: Dtype = _F32, use_scale: bool = True, use_bias: bool = True) -> nn.LayerNorm:
  """flax LayerNorm with float32 params and float32 statistics, output in `dtype`."""
  return nn.LayerNorm(epsilon=1e-6, dtype=dtype, param_dtype=_F32, use_scale=use_scale, use_bias=use_bias)


def timestep_embedding(t_B: jax.Array, dim: int, max_period: float = 10_000.0, scale: float = 1000.0
                       ) -> jax.Array:
  """Sinusoidal embedding of diffusion times t in [0, 1] -> (B, dim), float32.

  t is multiplied by `scale` first so that the fastest frequencies resolve small differences in t.
  """
  half = dim // 2
  freqs = jnp.exp(-math.log(max_period) * jnp.arange(half, dtype=_F32) / half)
  args_BF = scale * t_B.astype(_F32)[:, None] * freqs[None, :]
  emb_BE = jnp.concatenate([jnp.cos(args_BF), jnp.sin(args_BF)], axis=-1)
  if dim % 2:
    emb_BE = jnp.pad(emb_BE, ((0, 0), (0, 1)))
  return emb_BE


class TimeEmbedding(nn.Module):
  """t_B in [0, 1] -> (B, E): sinusoidal features then a 2-layer SiLU MLP."""
  features: int
  freq_dim: int = 256
  dtype: Dtype = _F32

  @nn.compact
  def __call__(self, t_B: jax.Array) -> jax.Array:
    h = timestep_embedding(t_B, self.freq_dim).astype(self.dtype)
    h = constrain_batch(Dense(self.features, dtype=self.dtype)(h))
    return constrain_batch(Dense(self.features, dtype=self.dtype)(nn.silu(h)))


def _per_position(c: jax.Array, x: jax.Array) -> jax.Array:
  """(B, D) -> (B, 1, D) so a per-sample vector broadcasts over time; (B, T, D) passes through."""
  return c[:, None, :] if c.ndim == x.ndim - 1 else c


def modulate(x_BTD: jax.Array, shift: jax.Array, scale: jax.Array) -> jax.Array:
  """adaLN / FiLM: x * (1 + scale) + shift; shift/scale are (B, D) per sample or (B, T, D) per position."""
  return x_BTD * (1 + _per_position(scale, x_BTD)) + _per_position(shift, x_BTD)


class AdaLNModulation(nn.Module):
  """cond (B, E) or (B, T, E) -> `num` tensors of width `features` (shift, scale, gate, ...).

  Zero-initialised so that every conditioned block starts as the identity (DiT's adaLN-Zero).
  """
  features: int
  num: int
  dtype: Dtype = _F32

  @nn.compact
  def __call__(self, cond: jax.Array) -> tuple[jax.Array, ...]:
    # Per-sample (or per-frame) vectors: kept split over the batch too, or the weight gradient gathers them.
    h = Dense(self.num * self.features, dtype=self.dtype, kernel_init=nn.initializers.zeros,
              bias_init=nn.initializers.zeros)(nn.silu(constrain_batch(cond)))
    return tuple(jnp.split(constrain_batch(h), self.num, axis=-1))


class ConvResBlock(nn.Module):
  """Pre-norm residual block: norm -> SiLU -> conv -> norm [FiLM by cond] -> SiLU -> conv, plus input.

  Non-causal 'SAME' convs and per-time-step norms: the output at a position depends only on a finite
  window around it, which is what makes chunked encoding exact away from the chunk edges.
  """
  kernel_size: int = 3
  dilation: int = 1
  dtype: Dtype = _F32

  @nn.compact
  def __call__(self, x_BTC: jax.Array, cond: jax.Array | None = None) -> jax.Array:
    C = x_BTC.shape[-1]
    x_BTC = constrain_batch(x_BTC)
    conv = lambda **kw: Conv(C, (self.kernel_size,), kernel_dilation=(self.dilation,), padding="SAME",
                             dtype=self.dtype, **kw)
    h = conv()(nn.silu(RMSNorm(dtype=self.dtype)(x_BTC)))
    if cond is None:
      h = RMSNorm(dtype=self.dtype)(h)
    else:
      shift, scale = AdaLNModulation(C, 2, dtype=self.dtype)(cond)
      h = modulate(RMSNorm(use_scale=False, dtype=self.dtype)(h), shift, scale)
    # Zero-init the last conv: a deep stack of blocks starts as the identity (stable early training).
    h = conv(kernel_init=nn.initializers.zeros)(nn.silu(h))
    return constrain_batch(x_BTC + h)


class MLP(nn.Module):
  """Dense -> GELU -> Dense, hidden width `hidden` (default 4 * D)."""
  hidden: int | None = None
  dtype: Dtype = _F32

  @nn.compact
  def __call__(self, x_BTD: jax.Array) -> jax.Array:
    D = x_BTD.shape[-1]
    h_BTF = constrain_batch(Dense(self.hidden or 4 * D, dtype=self.dtype)(x_BTD))
    return Dense(D, axes=("mlp", "embed"), dtype=self.dtype)(nn.gelu(h_BTF))


ATTENTION_KINDS = ("auto", "xla", "cudnn")
REMAT_POLICIES = ("none", "full", "dots")


def attention_implementation(kind: str, dtype: Any, head_dim: int, has_mask: bool,
                             platform: str | None = None) -> str:
  """The `jax.nn.dot_product_attention` implementation for `config.model.attention=kind`: 'xla' or 'cudnn'."""
  if kind not in ATTENTION_KINDS:
    raise ValueError(f"config.model.attention={kind!r}: must be one of {ATTENTION_KINDS}")
  if kind != "auto":
    return kind
  platform = platform or jax.default_backend()
  cudnn_can = (platform == "gpu" and jnp.dtype(dtype) in (jnp.bfloat16, jnp.float16) and head_dim % 8 == 0
               and head_dim <= 128 and not has_mask)
  return "cudnn" if cudnn_can else "xla"


def remat_block(block_cls: type[nn.Module], policy: str) -> type[nn.Module]:
  """`block_cls` recomputed in the backward pass per `config.model.remat` (params and their names unchanged)."""
  if policy not in REMAT_POLICIES:
    raise ValueError(f"config.model.remat={policy!r}: must be one of {REMAT_POLICIES}")
  if policy == "none":
    return block_cls
  # "dots" keeps matmuls against weights (no batch dimension), recomputing norms, activations and attention.
  saved = jax.checkpoint_policies.dots_with_no_batch_dims_saveable if policy == "dots" else None
  return nn.remat(block_cls, policy=saved)


def apply_rope(x_BTNH: jax.Array, positions_T: jax.Array | None = None, max_wavelength: float = 10_000.0
               ) -> jax.Array:
  """Rotary position embedding on the head dim (split-half convention); positions default to 0..T-1."""
  T, H = x_BTNH.shape[1], x_BTNH.shape[-1]
  half = H // 2
  pos = jnp.arange(T, dtype=_F32) if positions_T is None else positions_T.astype(_F32)
  freqs = max_wavelength ** (-jnp.arange(half, dtype=_F32) / half)
  angles = pos[:, None] * freqs[None, :]  # (T, H // 2)
  sin, cos = jnp.sin(angles)[:, None, :], jnp.cos(angles)[:, None, :]  # broadcast over heads
  x1, x2 = x_BTNH[..., :half].astype(_F32), x_BTNH[..., half:2 * half].astype(_F32)
  rot = jnp.concatenate([x1 * cos - x2 * sin, x2 * cos + x1 * sin], axis=-1)
  if H % 2:
    rot = jnp.concatenate([rot, x_BTNH[..., -1:].astype(_F32)], axis=-1)
  return rot.astype(x_BTNH.dtype)


class Attention(nn.Module):
  """Bidirectional multi-head self-attention with QK-norm and optional RoPE.

  mask: optional bool, True = may attend; shape (B, S) (key padding) or (B, T, S).
  """
  num_heads: int
  use_rope: bool = True
  attention: str = "auto"   # ATTENTION_KINDS, see the module docstring
  dtype: Dtype = _F32

  @nn.compact
  def __call__(self, x_BTD: jax.Array, mask: jax.Array | None = None) -> jax.Array:
    D = x_BTD.shape[-1]
    if D % self.num_heads:
      raise ValueError(f"Attention: model dim {D} is not divisible by num_heads={self.num_heads}")
    N, H = self.num_heads, D // self.num_heads
    qkv = nn.DenseGeneral((3, N, H), dtype=self.dtype, param_dtype=_F32, name="qkv",
                          kernel_init=named(nn.linear.default_kernel_init, "embed", "qkv", "heads", "kv"))(x_BTD)
    q_BTNH, k_BSNH, v_BSNH = qkv[:, :, 0], qkv[:, :, 1], qkv[:, :, 2]
    # QK-norm keeps logits bounded in bf16 (per head, over H).
    q_BTNH = RMSNorm(dtype=self.dtype, name="q_norm")(q_BTNH)
    k_BSNH = RMSNorm(dtype=self.dtype, name="k_norm")(k_BSNH)
    if self.use_rope:
      q_BTNH, k_BSNH = apply_rope(q_BTNH), apply_rope(k_BSNH)
    if mask is not None:
      mask = mask[:, None, None, :] if mask.ndim == 2 else mask[:, None, :, :]  # -> (B, 1, T|1, S)
    implementation = attention_implementation(self.attention, q_BTNH.dtype, H, mask is not None)
    out_BTNH = jax.nn.dot_product_attention(q_BTNH, k_BSNH, v_BSNH, mask=mask, implementation=implementation)
    return nn.DenseGeneral(D, axis=(-2, -1), dtype=self.dtype, param_dtype=_F32, name="out",
                           kernel_init=named(nn.linear.default_kernel_init, "heads", "kv", "embed"))(out_BTNH)


class TransformerBlock(nn.Module):
  """Pre-norm transformer block; with `cond` (B, E) or (B, T, E) it uses adaLN-Zero (shift, scale, gate)."""
  num_heads: int
  mlp_ratio: int = 4
  use_rope: bool = True
  attention: str = "auto"
  dtype: Dtype = _F32

  @nn.compact
  def __call__(self, x_BTD: jax.Array, cond: jax.Array | None = None, mask: jax.Array | None = None
               ) -> jax.Array:
    D = x_BTD.shape[-1]
    x_BTD = constrain_batch(x_BTD)  # the batch stays split over every device, block after block
    attn = Attention(self.num_heads, use_rope=self.use_rope, attention=self.attention, dtype=self.dtype)
    mlp = MLP(self.mlp_ratio * D, dtype=self.dtype)
    if cond is None:
      x_BTD = x_BTD + attn(RMSNorm(dtype=self.dtype)(x_BTD), mask)
      return constrain_batch(x_BTD + mlp(RMSNorm(dtype=self.dtype)(x_BTD)))
    shift1, scale1, gate1, shift2, scale2, gate2 = AdaLNModulation(D, 6, dtype=self.dtype)(cond)
    h = modulate(RMSNorm(use_scale=False, dtype=self.dtype)(x_BTD), shift1, scale1)
    x_BTD = x_BTD + _per_position(gate1, x_BTD) * attn(h, mask)
    h = modulate(RMSNorm(use_scale=False, dtype=self.dtype)(x_BTD), shift2, scale2)
    return constrain_batch(x_BTD + _per_position(gate2, x_BTD) * mlp(h))
