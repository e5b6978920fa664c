"""Action guidance: the sampler steered by a LAM towards the requested codes keeps the context exact, changes
nothing at weight 0, and makes the LAM read the requested codes where the dynamics field alone does not."""

import functools

import jax
import jax.numpy as jnp
import numpy as np

from genie_audio.editing import action_guidance
from genie_audio.editing.inpainting import inpaint
from genie_audio.models.lam import LatentActionModel

B, R, S, C, A = 8, 4, 6, 3, 4
T = R * S


def field_to_start(params, x_BTC, t_B, context_BTC, mask_BT, actions_BT, method=None):
  """A dynamics field that ignores the actions: the straight path from the start noise (`params`) to the
  context's mean, so without guidance the span's codes are whatever the LAM makes of a flat span."""
  del mask_BT, actions_BT, method
  x1 = jnp.tile(params, (x_BTC.shape[0] // params.shape[0], 1, 1))
  return x1 - jnp.mean(context_BTC, axis=1, keepdims=True) + 0.0 * t_B[:, None, None]


def _lam():
  lam = LatentActionModel(latent_dim=C, frames_per_action=R, num_actions=A, model_dim=16, encoder_depth=1,
                          decoder_depth=1, num_heads=2, code_dim=4, encoder_view="step_delta")
  z = jax.random.normal(jax.random.key(0), (B, T, C))
  params = lam.init(jax.random.key(1), z, jnp.zeros((B, T), bool))["params"]
  return lam, params


def _request():
  latents = jax.random.normal(jax.random.key(2), (B, T, C))
  mask = jnp.zeros((B, T), bool).at[:, 2 * R:4 * R].set(True)           # steps 2 and 3 re-generated
  actions = jnp.repeat(jax.random.randint(jax.random.key(3), (B, S), 0, A), R, axis=1)
  return latents, mask, actions


def _run(weight, lam, lam_params, num_steps=12):
  latents, mask, actions = _request()
  x1 = jax.random.normal(jax.random.key(4), latents.shape)
  guide = None if weight is None else action_guidance.ActionGuide(lam, lam_params, weight)
  run = jax.jit(functools.partial(inpaint, field_to_start, num_steps=num_steps, action_guide=guide))
  return np.asarray(run(x1, latents, mask, actions, jax.random.key(4)))


def test_requested_steps_reads_each_steps_code_and_whether_it_is_in_the_span():
  actions = jnp.asarray([[5, 5, 2, 2, 7, 7]])
  mask = jnp.asarray([[False, False, False, True, True, True]])
  codes, span = action_guidance.requested_steps(actions, mask, 2)
  np.testing.assert_array_equal(np.asarray(codes), [[5, 2, 7]])
  np.testing.assert_array_equal(np.asarray(span), [[False, True, True]])


def test_weight_zero_is_the_unguided_sampler_and_the_context_stays_exact():
  lam, lam_params = _lam()
  unguided, zero, strong = _run(None, lam, lam_params), _run(0.0, lam, lam_params), _run(3.0, lam, lam_params)
  np.testing.assert_allclose(zero, unguided, atol=1e-6)
  latents, mask, _ = _request()
  outside = ~np.asarray(mask)
  np.testing.assert_array_equal(strong[outside], np.asarray(latents)[outside])
  assert np.abs(strong - unguided).max() > 1e-3  # the guidance moved the span


def test_guidance_makes_the_lam_read_the_requested_codes():
  lam, lam_params = _lam()
  latents, mask, actions = _request()
  codes, span = action_guidance.requested_steps(actions, mask, R)
  infer = lambda z: np.asarray(lam.apply({"params": lam_params}, jnp.asarray(z), method=lam.infer_actions))
  hits = lambda z: float(np.mean(infer(z)[np.asarray(span)] == np.asarray(codes)[np.asarray(span)]))
  loss = lambda z: float(action_guidance.action_loss(action_guidance.ActionGuide(lam, lam_params, 1.0),
                                                     jnp.asarray(z), codes, span))
  unguided, guided = _run(None, lam, lam_params), _run(3.0, lam, lam_params)
  assert loss(guided) < 0.5 * loss(unguided)
  assert hits(guided) >= 0.75 and hits(unguided) <= 0.4  # 0.81 and 0.25 (chance, A = 4)
