"""Edit spans as pure jittable functions: the masks the dynamics model trains on, action dropping for CFG, and
frames averaged over action steps.

Training masks imitate what an editor selects: usually one contiguous span of latent frames (10%-60% of the
window by default) at a random place, sometimes a few shorter spans. A fraction of spans is snapped to the
first or last frame of the window, because an edit at the start or end of a recording (or a window cut at an
edit's border) has context on one side only, and a uniform start position would almost never produce that.

Masks are bool, True = frame to generate (in-paint), False = context kept as is.

Dimension keys: B batch, T latent frames, M span slots (max_spans), S action steps of R frames, C channels.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def sample_edit_mask(rng: jax.Array, B: int, T: int, *, min_frac: float = 0.1, max_frac: float = 0.6,
                     max_spans: int = 3, multi_prob: float = 0.25, edge_prob: float = 0.2) -> jax.Array:
  """Random edit masks (B, T), bool, True = generated.

  Each sample has one span, or with probability `multi_prob` 2..max_spans spans (uniform). With n spans,
  each span's length is uniform over the integers in [ceil(min_frac T / n), floor(max_frac T / n)] (at least
  1), so the union never covers more than max_frac of the window; spans may overlap. A span starts uniformly
  in [0, T - length], except that with probability `edge_prob` it is snapped to the start or the end
  (half each). B, T and the keywords are static.
  """
  if not 0.0 < min_frac <= max_frac <= 1.0:
    raise ValueError(f"sample_edit_mask: need 0 < min_frac <= max_frac <= 1, got {min_frac}, {max_frac}")
  if max_spans < 1:
    raise ValueError(f"sample_edit_mask: max_spans must be >= 1, got {max_spans}")
  M = max_spans
  k_multi, k_n, k_len, k_pos, k_edge, k_side = jax.random.split(rng, 6)
  multi_B = jax.random.bernoulli(k_multi, multi_prob, (B,)) & (M > 1)
  n_B = jnp.where(multi_B, jax.random.randint(k_n, (B,), 2, M + 1), 1)

  n_BM = n_B[:, None].astype(jnp.float32)
  lo_BM = jnp.maximum(jnp.ceil(min_frac * T / n_BM - 1e-6), 1.0)  # -1e-6: 0.1 * 250 must give 25, not 26
  hi_BM = jnp.maximum(jnp.floor(max_frac * T / n_BM + 1e-6), lo_BM)
  u_BM = jax.random.uniform(k_len, (B, M))
  len_BM = jnp.minimum(lo_BM + jnp.floor(u_BM * (hi_BM - lo_BM + 1)), hi_BM).astype(jnp.int32)

  room_BM = T - len_BM + 1  # number of possible starts
  start_BM = jnp.minimum(jnp.floor(jax.random.uniform(k_pos, (B, M)) * room_BM), room_BM - 1).astype(jnp.int32)
  edge_BM = jax.random.bernoulli(k_edge, edge_prob, (B, M))
  at_start_BM = jax.random.bernoulli(k_side, 0.5, (B, M))
  start_BM = jnp.where(edge_BM, jnp.where(at_start_BM, 0, T - len_BM), start_BM)

  active_BM = jnp.arange(M)[None, :] < n_B[:, None]
  pos_T = jnp.arange(T)
  inside_BMT = ((pos_T[None, None, :] >= start_BM[..., None])
                & (pos_T[None, None, :] < (start_BM + len_BM)[..., None]))
  return jnp.any(inside_BMT & active_BM[..., None], axis=1)


def span_mask(T: int, start: int, end: int) -> jax.Array:
  """(T,) bool mask, True on frames start..end-1 (one user-selected span)."""
  pos_T = jnp.arange(T)
  return (pos_T >= start) & (pos_T < end)


def drop_actions(rng: jax.Array, actions_BT: jax.Array, prob: float, null_id: int) -> jax.Array:
  """Replaces all actions of a sample with `null_id` with probability `prob` (classifier-free guidance).

  Whole samples, not single frames: at sampling time the unconditional pass has no action anywhere.
  """
  drop_B = jax.random.bernoulli(rng, prob, (actions_BT.shape[0],))
  return jnp.where(drop_B[:, None], jnp.asarray(null_id, actions_BT.dtype), actions_BT)


def step_means(x_BTC: jax.Array, frames_per_action: int) -> jax.Array:
  """The mean of each action step's R frames, (B, S, C); T must be a multiple of R."""
  B, T, C = x_BTC.shape
  return jnp.mean(x_BTC.reshape(B, T // frames_per_action, frames_per_action, C), axis=2)
