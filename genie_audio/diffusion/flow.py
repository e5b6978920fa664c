"""Flow matching as pure functions: the noising path, target velocity, time sampling, DiTo noise sync, loss.

Path (t = 0 data, t = 1 noise):  x_t = (1 - t) x + (s_min + t (1 - s_min)) e,  e ~ N(0, I)
Velocity:                        v = d x_t / dt = (1 - s_min) e - x   (independent of t)
At t = 1 the noise level is s_min + (1 - s_min) = 1: samplers start from pure unit noise whatever s_min is.

DiTo's noise synchronisation (arXiv 2501.18593): for a fraction `prob` of the samples the latent is noised to
a level tau ~ U[0, 1] (z_tau = (1 - tau) z + tau e') and the decoder's t is redrawn from U[tau, 1], so the
decoder never sees a latent noisier than its own input; this aligns the latent space with the noising process.
Samples that are not synced get tau = 0, which leaves their latent exactly unchanged.

Shapes: t, tau are (B,); x, e, z are (B, ...) and t broadcasts over the trailing axes.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def _bcast(t_B: jax.Array, x: jax.Array) -> jax.Array:
  """(B,) -> (B, 1, ..., 1) matching x's rank."""
  t_B = jnp.asarray(t_B)
  return t_B.reshape(t_B.shape + (1,) * (x.ndim - t_B.ndim))


def interpolate(x: jax.Array, noise: jax.Array, t: jax.Array, s_min: float = 0.0) -> jax.Array:
  """x_t = (1 - t) x + (s_min + t (1 - s_min)) noise; t is (B,) or scalar."""
  t = _bcast(t, x)
  return (1 - t) * x + (s_min + t * (1 - s_min)) * noise


def target_velocity(x: jax.Array, noise: jax.Array, s_min: float = 0.0) -> jax.Array:
  """d x_t / dt = (1 - s_min) noise - x."""
  return (1 - s_min) * noise - x


def predict_x0(x_t: jax.Array, v: jax.Array, t: jax.Array, s_min: float = 0.0) -> jax.Array:
  """The data estimate implied by a velocity: solves x_t = (1-t) x + sigma_t e, v = (1-s_min) e - x for x."""
  t = _bcast(t, x_t)
  k = (s_min + t * (1 - s_min)) / (1 - s_min)  # sigma_t / sigma'
  return (x_t - k * v) / (1 - t + k)


def gaussian_velocity(x_t: jax.Array, t: jax.Array, var: jax.Array | float, s_min: float = 0.0) -> jax.Array:
  """E[v | x_t] when the data are zero-mean Gaussian with variance `var` (per coefficient, broadcast to x_t): the
  least-squares linear velocity, Cov(v, x_t) / Var(x_t) x_t with sigma_t = s_min + t (1 - s_min)."""
  t = _bcast(t, x_t)
  sigma = s_min + t * (1 - s_min)
  return ((1 - s_min) * sigma - (1 - t) * var) / (jnp.square(1 - t) * var + jnp.square(sigma)) * x_t


def sample_time(rng: jax.Array, batch_size: int, power: float = 1.0) -> jax.Array:
  """t = u^power with u ~ U[0, 1], shape (B,): uniform for power 1; power > 1 trains more at low noise."""
  return jax.random.uniform(rng, (batch_size,), jnp.float32) ** power


def sample_sync(rng: jax.Array, t_B: jax.Array, prob: float = 0.1) -> tuple[jax.Array, jax.Array]:
  """DiTo noise-sync draw: returns (tau_B, t_B).

  A random `prob` fraction of samples get tau ~ U[0, 1] and a new t ~ U[tau, 1]; the others keep t and get
  tau = 0 (no latent noise). `tau_B > 0` is the sync mask.
  """
  k_sync, k_tau, k_t = jax.random.split(rng, 3)
  B = t_B.shape[0]
  sync_B = jax.random.bernoulli(k_sync, prob, (B,))
  tau_B = jax.random.uniform(k_tau, (B,), jnp.float32)
  t_synced_B = tau_B + (1 - tau_B) * jax.random.uniform(k_t, (B,), jnp.float32)
  return jnp.where(sync_B, tau_B, 0.0), jnp.where(sync_B, t_synced_B, t_B)


def noise_latent(z: jax.Array, noise: jax.Array, tau_B: jax.Array) -> jax.Array:
  """z_tau = (1 - tau) z + tau noise; tau = 0 returns z exactly."""
  tau = _bcast(tau_B, z)
  return (1 - tau) * z + tau * noise


def noise_sync(rng: jax.Array, z: jax.Array, t_B: jax.Array, prob: float = 0.1
               ) -> tuple[jax.Array, jax.Array]:
  """Noise sync on a latent in hand: returns (z_noised, t_B). See `sample_sync` for the draw."""
  k_draw, k_noise = jax.random.split(rng)
  tau_B, t_B = sample_sync(k_draw, t_B, prob)
  noise = jax.random.normal(k_noise, z.shape, jnp.float32).astype(z.dtype)
  return noise_latent(z, noise, tau_B), t_B


def flow_matching_loss(pred_v: jax.Array, target_v: jax.Array, mask: jax.Array | None = None,
                       weight: jax.Array | None = None) -> jax.Array:
  """Mean squared error in float32; with `mask` (True = counted, broadcast from the left, e.g. (B, T) for
  (B, T, C)) it is the mean over the masked elements only (0 if none are masked). `weight` (broadcast from the
  right, e.g. (C,)) scales each element's squared error."""
  se = jnp.square(pred_v.astype(jnp.float32) - target_v.astype(jnp.float32))
  if weight is not None:
    se = se * jnp.asarray(weight, jnp.float32)
  if mask is None:
    return jnp.mean(se)
  mask = jnp.asarray(mask)
  mask = jnp.broadcast_to(mask.reshape(mask.shape + (1,) * (se.ndim - mask.ndim)), se.shape)
  mask = mask.astype(jnp.float32)
  return jnp.sum(se * mask) / jnp.maximum(jnp.sum(mask), 1.0)
