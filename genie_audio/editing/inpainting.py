"""In-painting sampler for the masked dynamics model, with classifier-free guidance on the actions.

Integrates the model's velocity ODE from noise at t = 1 to latents at t = 0 over the masked frames only; the
context frames are held at their clean values at every step (by `diffusion.samplers`, which also feeds them
to the network). Guidance mixes the action-conditioned and the no-action velocities:

    v = v_uncond + w (v_cond - v_uncond)        w = 1: conditional only; w = 0: unconditional only

For a traced `w` (or any w other than the Python numbers 0 and 1) both passes run as one network call on a
doubled batch.

Guidance interval (`guidance_max_t`): a scale above 1 extrapolates past the conditional model only at noise
levels t <= guidance_max_t; above that the scale is capped at 1 (the conditional model). At high noise the
conditional and unconditional predictions are both broad, and their difference is a shift of the mean, which
w > 1 exaggerates: on the demo corpus every request then drifted to the most extreme LAM code of its group (a
quiet-to-loud chain of codes), and action accuracy fell for w > 2. At low noise the same difference
sharpens the sample instead (Kynkaanniemi et al. 2024, arXiv 2404.07724, found guidance harmful at high noise
too). Scales <= 1 mix the two models at every noise level, so w = 0 stays the unconditional model.

Start (`start_BTC`, `start_t`): by default the masked frames start from pure noise at t = 1. Given start
latents (a retrieval fill: real music from elsewhere, `editing.retrieval`) and a level start_t < 1, they start
from those latents noised to start_t and the ODE runs from there (SDEdit, Meng et al. 2022, arXiv 2108.01073):
the frame-to-frame detail that carries the notes, which the model does not write from noise at demo size, is
kept in proportion to 1 - start_t, while the model (and the action guidance) re-shape the span towards the
requested actions and the context.

Dimension keys: B batch, T latent frames, C latent channels.
"""

from __future__ import annotations

import numbers
from typing import Any, Callable

import jax
import jax.numpy as jnp

from genie_audio.diffusion import flow, samplers
from genie_audio.editing import action_guidance
from genie_audio.models.dynamics import NULL_ACTION


def guided_velocity(apply_fn: Callable[..., jax.Array], params: Any, context_BTC: jax.Array, mask_BT: jax.Array,
                    actions_BT: jax.Array, guidance_scale: float | jax.Array, null_action: int = NULL_ACTION,
                    guidance_max_t: float | jax.Array = 1.0) -> samplers.VelocityFn:
  """The guided velocity field (x_BTC, t_B) -> v_BTC that the ODE samplers integrate."""
  call = lambda x, t, ctx, m, a: apply_fn(params, x, t, ctx, m, a, method="velocity")
  null_BT = jnp.full_like(actions_BT, null_action)
  w = guidance_scale

  def velocity_fn(x_BTC: jax.Array, t_B: jax.Array) -> jax.Array:
    # Static shortcuts: w = 1 and w = 0 need only one pass (and give exactly the cond / uncond sampler).
    if isinstance(w, numbers.Number) and w == 1:
      return call(x_BTC, t_B, context_BTC, mask_BT, actions_BT)
    if isinstance(w, numbers.Number) and w == 0:
      return call(x_BTC, t_B, context_BTC, mask_BT, null_BT)
    two = lambda a: jnp.concatenate([a, a], axis=0)
    v = call(two(x_BTC), two(t_B), two(context_BTC), two(mask_BT), jnp.concatenate([actions_BT, null_BT]))
    v_cond, v_uncond = jnp.split(v, 2, axis=0)
    w_B = jnp.where(t_B <= guidance_max_t, w, jnp.minimum(w, 1.0))
    return v_uncond + w_B[:, None, None] * (v_cond - v_uncond)

  return velocity_fn


def inpaint(apply_fn: Callable[..., jax.Array], params: Any, latents_BTC: jax.Array, mask_BT: jax.Array,
            actions_BT: jax.Array, rng: jax.Array, *, num_steps: int, guidance_scale: float | jax.Array = 1.0,
            guidance_max_t: float | jax.Array = 1.0, method: str = "euler", null_action: int = NULL_ACTION,
            noise_BTC: jax.Array | None = None, action_guide: action_guidance.ActionGuide | None = None,
            start_BTC: jax.Array | None = None, start_t: float = 1.0, s_min: float = 0.0) -> jax.Array:
  """Re-generates the frames where mask_BT is True; returns latents (B, T, C), float32.

  `apply_fn` is `DynamicsModel.apply` (or any function with its `velocity` signature, called with
  method="velocity") and `params` the variables dict it takes first. Frames where mask_BT is False come back
  bit-exactly equal to latents_BTC. actions_BT holds the requested action of every frame (context frames
  included); guidance contrasts them with `null_action` everywhere, extrapolating (w > 1) only at
  t <= guidance_max_t (see the module docstring). The start noise is N(0, I) (the training
  noise level at t = 1), drawn from `rng` unless given as `noise_BTC` (e.g. one draw per example from its own
  key, so an example's result does not depend on the batch it is in); a fixed `rng` reproduces the edit. With
  `action_guide`, every step also follows the frozen LAM towards the requested actions (`action_guidance`).
  With `start_BTC`, the masked frames start from it noised to `start_t` (module docstring; `s_min` is the
  model's noise floor) and the `num_steps` steps cover [start_t, 0]. Jit with num_steps, method and start_t
  static.
  """
  if method not in samplers.SAMPLERS:
    raise ValueError(f"inpaint: unknown method {method!r}; expected one of {sorted(samplers.SAMPLERS)}")
  latents_BTC = jnp.asarray(latents_BTC, jnp.float32)
  mask_BT = jnp.asarray(mask_BT, bool)
  actions_BT = jnp.asarray(actions_BT, jnp.int32)
  velocity_fn = guided_velocity(apply_fn, params, latents_BTC, mask_BT, actions_BT, guidance_scale, null_action,
                                guidance_max_t)
  if action_guide is not None:
    velocity_fn = action_guidance.guided(velocity_fn, action_guide, actions_BT, mask_BT)
  x1_BTC = jax.random.normal(rng, latents_BTC.shape, jnp.float32) if noise_BTC is None else noise_BTC
  if not 0.0 < start_t <= 1.0:
    raise ValueError(f"inpaint: start_t={start_t} must be in (0, 1]")
  if start_BTC is not None:
    x1_BTC = flow.interpolate(jnp.asarray(start_BTC, jnp.float32), x1_BTC, jnp.float32(start_t), s_min)
  elif start_t != 1.0:
    raise ValueError(f"inpaint: start_t={start_t} needs start latents (start_BTC); from noise it is 1")
  return samplers.SAMPLERS[method](velocity_fn, x1_BTC, num_steps, mask=mask_BT[..., None], context=latents_BTC,
                                   t_start=start_t)
