"""ODE samplers for flow matching, as pure jittable functions, plus `decode` for the diffusion tokenizer.

They integrate dx/dt = v(x, t) from t = t_start (1: pure noise) to t = 0 (data) on a uniform grid
t_i = t_start (1 - i/n), i = 0..n, with dt = t_start/n (so an n-step Euler run calls the network n times, Heun
2n times). A start below 1 takes x at that noise level (SDEdit, Meng et al. 2022: a real sample noised part
way, then refined).
`velocity_fn(x_t, t_B) -> v` gets t as a (B,) vector, B = x.shape[0].

In-painting: with `mask` (bool, broadcastable to x, True = generated) and `context` (same shape as x),
positions where mask is False are held at `context` at every step (also when the network sees them), so only
the masked region moves. The dynamics model's in-painting sampler reuses this.
"""

from __future__ import annotations

from typing import Any, Callable

import jax
import jax.numpy as jnp

VelocityFn = Callable[[jax.Array, jax.Array], jax.Array]


def _hold(x: jax.Array, mask: jax.Array | None, context: jax.Array | None) -> jax.Array:
  if mask is None:
    return x
  if context is None:
    raise ValueError("samplers: `mask` needs `context` (the values held fixed where mask is False)")
  return jnp.where(mask, x, context.astype(x.dtype))


def euler(velocity_fn: VelocityFn, x1: jax.Array, num_steps: int, *, mask: jax.Array | None = None,
          context: jax.Array | None = None, t_start: float = 1.0) -> jax.Array:
  """First-order ODE solve from t=t_start (x1 is x at that time) to 0: x <- x - dt * v(x, t)."""
  B, dt = x1.shape[0], t_start / num_steps

  def step(i, x):
    t = t_start - i * dt
    v = velocity_fn(x, jnp.full((B,), t, jnp.float32))
    return _hold(x - dt * v.astype(x.dtype), mask, context)

  return jax.lax.fori_loop(0, num_steps, step, _hold(x1, mask, context))


def heun(velocity_fn: VelocityFn, x1: jax.Array, num_steps: int, *, mask: jax.Array | None = None,
         context: jax.Array | None = None, t_start: float = 1.0) -> jax.Array:
  """Second-order (trapezoidal predictor-corrector) solve from t=t_start to 0; 2 network calls per step."""
  B, dt = x1.shape[0], t_start / num_steps

  def step(i, x):
    t = t_start - i * dt
    v = velocity_fn(x, jnp.full((B,), t, jnp.float32)).astype(x.dtype)
    x_pred = _hold(x - dt * v, mask, context)
    v_next = velocity_fn(x_pred, jnp.full((B,), t - dt, jnp.float32)).astype(x.dtype)
    return _hold(x - 0.5 * dt * (v + v_next), mask, context)

  return jax.lax.fori_loop(0, num_steps, step, _hold(x1, mask, context))


SAMPLERS = {"euler": euler, "heun": heun}


def decode(apply_fn: Callable[..., jax.Array], params: Any, z_BTC: jax.Array, rng: jax.Array, *,
           flow_shape: tuple[int, ...], num_steps: int = 50, method: str = "euler", s_min: float = 0.0,
           from_flow: Callable[[jax.Array], jax.Array] | None = None, to_flow: Callable[[jax.Array], jax.Array] | None = None,
           mask: jax.Array | None = None, context: jax.Array | None = None) -> jax.Array:
  """Latents -> waveform by integrating the tokenizer's velocity network from noise.

  `apply_fn` is `Tokenizer.apply` (or any function with its signature); `params` is the variables dict given
  to it as first argument ({'params': ...}). The flow's data has shape (B, *flow_shape) (the tokenizer's
  `flow_shape(num_samples)`); `from_flow` maps the result back to the waveform and `to_flow` maps a waveform
  `context` into the flow's space (the tokenizer's methods; identity when None). The start x at t=1 is
  N(0, sigma_1^2) with sigma_1 = s_min + 1 * (1 - s_min) = 1, the training noise level at t=1; a fixed `rng`
  gives reproducible decodes. Jit with `flow_shape`, `num_steps`, `method` static.
  """
  if method not in SAMPLERS:
    raise ValueError(f"decode: unknown method {method!r}; expected one of {sorted(SAMPLERS)}")
  identity = lambda x: x
  from_flow, to_flow = from_flow or identity, to_flow or identity
  sigma_1 = s_min + 1.0 * (1.0 - s_min)
  x1 = sigma_1 * jax.random.normal(rng, (z_BTC.shape[0], *flow_shape), jnp.float32)
  velocity_fn = lambda x, t_B: apply_fn(params, x, t_B, z_BTC, method="velocity")
  context = None if context is None else to_flow(context)
  return from_flow(SAMPLERS[method](velocity_fn, x1, num_steps, mask=mask, context=context))
