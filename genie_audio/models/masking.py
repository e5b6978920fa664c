"""Segmented masks for the latent action model: which action steps the decoder must rebuild.

Masks are drawn per action step (S steps of R latent frames each) and only then expanded to frames, so a
hidden span always covers whole action steps: a step's latents are either all visible or all hidden, and a
hidden step can only be rebuilt from its own action code. Two kinds of window, mixed at random:
  - spans (probability 1 - block_prob): alternating visible gaps and hidden runs. Runs are 1..max_span steps
    (uniform), gaps are >= 1 step and geometric with the mean that makes the expected hidden fraction
    `rate` (mean run / (mean run + mean gap) = rate). The pattern starts at a random phase before the
    window, so both ends of the window can be hidden, as often as any other step.
  - one block (probability block_prob): a single contiguous run covering a uniform fraction in
    [block_min, block_max] of the steps at a uniform position: long in-painting, with context on one or
    both sides.
Every window hides at least one step (a span window that drew none hides one random step).

Pure jax functions of an rng key, so masks are drawn inside the jitted train step and a resumed run
continues the same sequence.

Dimension keys: B batch, S action steps, T latent frames, R frames per action step.
"""

from __future__ import annotations

import dataclasses
import math

import jax
import jax.numpy as jnp


@dataclasses.dataclass(frozen=True)
class MaskConfig:
  rate: float = 0.5        # expected fraction of hidden steps in span windows
  max_span: int = 4        # hidden runs of span windows are 1..max_span steps
  block_prob: float = 0.2  # probability that a window hides one large block instead
  block_min: float = 0.3   # block length, as a fraction of the steps
  block_max: float = 0.6

  def __post_init__(self):
    if not 0 < self.rate < 1:
      raise ValueError(f"mask rate={self.rate} must be in (0, 1)")
    if self.max_span < 1:
      raise ValueError(f"mask max_span={self.max_span} must be >= 1")
    if not 0 <= self.block_prob <= 1:
      raise ValueError(f"mask block_prob={self.block_prob} must be in [0, 1]")
    if not 0 < self.block_min <= self.block_max < 1:
      raise ValueError(f"mask block fractions must satisfy 0 < block_min <= block_max < 1, got "
                       f"{self.block_min}, {self.block_max}")


def _uniform_int(rng: jax.Array, shape: tuple[int, ...], low, high) -> jax.Array:
  """Uniform integers in [low, high) (bounds may be arrays); cheaper to compile than randint's rejection."""
  u = jax.random.uniform(rng, shape)
  return jnp.minimum(low + jnp.floor(u * (high - low)).astype(jnp.int32), high - 1)


def span_mask(rng: jax.Array, batch: int, num_steps: int, rate: float, max_span: int) -> jax.Array:
  """(B, S) bool, True = hidden: runs of 1..max_span hidden steps between geometric gaps of >= 1 step.

  With a gap of at least one step, neighbouring runs never merge, so no run is longer than max_span. Rates
  above mean_run / (mean_run + 1) cannot be reached this way and give that fraction instead.
  """
  mean_run = (1 + max_span) / 2
  extra_gap = max(mean_run * (1 - rate) / rate - 1.0, 0.0)  # mean gap beyond its one-step minimum
  cycle = mean_run + 1 + extra_gap
  burn_in = int(math.ceil(4 * cycle)) + max_span  # random phase: start up to this many steps early
  pairs = num_steps + burn_in  # every (gap, run) pair covers >= 2 steps: more than enough
  k_run, k_gap, k_phase = jax.random.split(rng, 3)
  runs = _uniform_int(k_run, (batch, pairs), 1, max_span + 1)
  if extra_gap > 0:
    # Geometric (failures before the first success) with mean extra_gap: floor(log U / log(1 - p)).
    p = 1.0 / (1.0 + extra_gap)
    u = jax.random.uniform(k_gap, (batch, pairs), minval=1e-12, maxval=1.0)
    gaps = 1 + jnp.floor(jnp.log(u) / math.log(1.0 - p)).astype(jnp.int32)
  else:
    gaps = jnp.ones((batch, pairs), jnp.int32)
  # Segment ends along the time axis: gap_0, run_0, gap_1, run_1, ... starting `phase` steps before 0.
  lengths = jnp.stack([gaps, runs], axis=-1).reshape(batch, -1)
  phase = _uniform_int(k_phase, (batch, 1), 0, burn_in + 1)
  ends = jnp.cumsum(lengths, axis=-1) - phase
  segment_BS = jnp.sum(ends[:, None, :] <= jnp.arange(num_steps)[None, :, None], axis=-1)
  return segment_BS % 2 == 1  # odd segments are the hidden runs


def block_mask(rng: jax.Array, batch: int, num_steps: int, block_min: float, block_max: float) -> jax.Array:
  """(B, S) bool: one contiguous hidden block of round(f * S) steps per window, f ~ U[block_min, block_max]."""
  k_len, k_start = jax.random.split(rng)
  frac = jax.random.uniform(k_len, (batch, 1), minval=block_min, maxval=block_max)
  length = jnp.clip(jnp.round(frac * num_steps).astype(jnp.int32), 1, max(num_steps - 1, 1))
  start = _uniform_int(k_start, (batch, 1), 0, num_steps - length + 1)
  steps = jnp.arange(num_steps)[None]
  return (steps >= start) & (steps < start + length)


def sample_step_mask(rng: jax.Array, batch: int, num_steps: int, config: MaskConfig) -> jax.Array:
  """(B, S) bool, True = hidden action step; each window draws span or block independently."""
  k_kind, k_span, k_block, k_fallback = jax.random.split(rng, 4)
  spans = span_mask(k_span, batch, num_steps, config.rate, config.max_span)
  fallback = jnp.arange(num_steps)[None] == _uniform_int(k_fallback, (batch, 1), 0, num_steps)
  spans = jnp.where(spans.any(axis=1, keepdims=True), spans, fallback)
  block = block_mask(k_block, batch, num_steps, config.block_min, config.block_max)
  use_block = jax.random.uniform(k_kind, (batch, 1)) < config.block_prob
  return jnp.where(use_block, block, spans)


def steps_to_frames(mask_BS: jax.Array, frames_per_step: int) -> jax.Array:
  """(B, S) step mask -> (B, S * R) frame mask: each step's R frames share its value."""
  return jnp.repeat(mask_BS, frames_per_step, axis=-1)
