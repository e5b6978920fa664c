"""Action guidance: in-painting steered towards latents the frozen LAM reads as the requested actions.

Classifier-free guidance alone makes the dynamics model follow a request only as well as its action input
conditions it (issue 11: 0.41 of the demo's edited steps re-read as asked at best). The LAM that defined the
actions is a classifier of them, so each sampler step also follows its gradient (classifier guidance,
Dhariwal & Nichol 2021, arXiv 2105.05233; taken on the clean-latent estimate, as in universal guidance,
arXiv 2302.07121, so the dynamics network is never differentiated):

    x0 = x_t - t v                     the step's estimate of the clean window (s_min = 0, the sampler's path)
    L  = sum over the span's steps of -log softmax(-d(x0) / TEMPERATURE)[requested]
    v' = v + weight * dL/dx0 / t       the velocity whose clean estimate is x0 - weight * dL/dx0

d(x0) is the LAM's squared distance (cosine codebook) from each step's encoding to every code, so a step
whose nearest code is already the requested one by a wide margin has almost no gradient. The gradient moves
only the span's frames (the sampler holds the context), but the LAM reads the whole window, as the editor's
action timeline does. Dimension keys: B batch, T latent frames, C latent channels, S action steps, A codes.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp

from genie_audio.diffusion import samplers
from genie_audio.models.lam import LatentActionModel

PyTree = Any
# Squared cosine distances lie in [0, 4]; at 0.1 a code 0.3 closer than the next has about 95% of the mass.
TEMPERATURE = 0.1


@dataclasses.dataclass(frozen=True)
class ActionGuide:
  """The frozen LAM (model and params) and the guidance weight (0 = none; traced under jit)."""
  lam: LatentActionModel
  params: PyTree
  weight: float | jax.Array


def requested_steps(actions_BT: jax.Array, mask_BT: jax.Array, frames_per_action: int
                    ) -> tuple[jax.Array, jax.Array]:
  """((B, S) requested code of each step, (B, S) whether the step is re-generated), for windows that start on
  a step boundary; a step counts when any of its frames is in the span."""
  B, T = mask_BT.shape
  S = T // frames_per_action
  codes_BS = actions_BT[:, ::frames_per_action]
  span_BS = jnp.any(mask_BT.reshape(B, S, frames_per_action), axis=-1)
  return codes_BS, span_BS & (codes_BS >= 0)


def action_loss(guide: ActionGuide, x0_BTC: jax.Array, codes_BS: jax.Array, span_BS: jax.Array) -> jax.Array:
  """Cross-entropy of the requested codes under the LAM's soft assignment, summed over the span's steps (each
  window's loss depends on its own latents only, so the gradient of the sum is per window)."""
  dist_BSA = guide.lam.apply({"params": guide.params}, x0_BTC, method=LatentActionModel.code_distances)
  log_p_BSA = jax.nn.log_softmax(-dist_BSA / TEMPERATURE, axis=-1)
  picked_BS = jnp.take_along_axis(log_p_BSA, jnp.maximum(codes_BS, 0)[..., None], axis=-1)[..., 0]
  return -jnp.sum(jnp.where(span_BS, picked_BS, 0.0))


def guided(velocity_fn: samplers.VelocityFn, guide: ActionGuide, actions_BT: jax.Array, mask_BT: jax.Array
           ) -> samplers.VelocityFn:
  """`velocity_fn` with the action-guidance correction added (module docstring)."""
  codes_BS, span_BS = requested_steps(actions_BT, mask_BT, guide.lam.frames_per_action)
  grad_fn = jax.grad(lambda x0: action_loss(guide, x0, codes_BS, span_BS))

  def velocity(x_BTC: jax.Array, t_B: jax.Array) -> jax.Array:
    v_BTC = velocity_fn(x_BTC, t_B)
    t_B11 = t_B[:, None, None]
    x0_BTC = x_BTC - t_B11 * v_BTC
    grad_BTC = jax.lax.stop_gradient(grad_fn(x0_BTC))
    # At t = 0 (Heun's last corrector) x0 is x itself: nothing left to steer.
    inverse_t_B11 = jnp.where(t_B11 > 0, 1.0 / jnp.maximum(t_B11, 1e-6), 0.0)
    return v_BTC + guide.weight * grad_BTC * inverse_t_B11

  return velocity
