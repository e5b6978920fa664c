"""Tests for the flow-matching pure functions: path, velocity, x0 estimate, noise sync, loss."""

import jax
import jax.numpy as jnp
import numpy as np

from genie_audio.diffusion import flow


def test_interpolate_and_velocity_hand_computed():
  x = jnp.array([[2.0, -1.0], [0.5, 4.0]])
  e = jnp.array([[1.0, 3.0], [-2.0, 0.0]])
  t = jnp.array([0.25, 1.0])
  s = 0.1
  # sigma_t = 0.1 + 0.25 * 0.9 = 0.325 for row 0; 1.0 for row 1.
  want = [[0.75 * 2 + 0.325 * 1, 0.75 * -1 + 0.325 * 3], [-2.0, 0.0]]
  np.testing.assert_allclose(flow.interpolate(x, e, t, s), want, rtol=1e-6)
  np.testing.assert_allclose(flow.target_velocity(x, e, s), [[0.9 - 2, 2.7 + 1], [-1.8 - 0.5, -4.0]], rtol=1e-6)
  np.testing.assert_allclose(flow.interpolate(x, e, jnp.zeros(2), 0.0), x)


def test_target_velocity_is_time_derivative_and_x0_inverts():
  x, e = jax.random.normal(jax.random.key(0), (2, 3, 5))
  t = jnp.array([0.3, 0.8, 0.05])
  s = 1e-2
  _, dxdt = jax.jvp(lambda tt: flow.interpolate(x, e, tt, s), (t,), (jnp.ones(3),))
  v = flow.target_velocity(x, e, s)
  np.testing.assert_allclose(dxdt, v, rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(flow.predict_x0(flow.interpolate(x, e, t, s), v, t, s), x, rtol=1e-4, atol=1e-5)


def test_sample_time_range():
  t = flow.sample_time(jax.random.key(0), 1000)
  assert t.shape == (1000,) and float(t.min()) >= 0 and float(t.max()) <= 1
  # power 2: the same draws squared, E[u^2] = 1/3 instead of 1/2.
  low = flow.sample_time(jax.random.key(0), 1000, power=2.0)
  np.testing.assert_allclose(low, t ** 2, rtol=1e-6)
  assert abs(float(low.mean()) - 1 / 3) < 0.03


def test_sample_sync_fraction_and_ordering():
  B = 20000
  t = flow.sample_time(jax.random.key(1), B)
  tau, t_new = flow.sample_sync(jax.random.key(2), t, prob=0.1)
  synced = np.asarray(tau > 0)
  assert abs(synced.mean() - 0.1) < 0.01
  assert np.all(np.asarray(t_new)[synced] >= np.asarray(tau)[synced])
  np.testing.assert_array_equal(np.asarray(t_new)[~synced], np.asarray(t)[~synced])
  # Synced t is U[tau, 1]: its mean is well above 0.5.
  assert np.asarray(t_new)[synced].mean() > 0.65


def test_noise_sync_leaves_unsynced_latents_unchanged():
  B = 512
  z = jax.random.normal(jax.random.key(3), (B, 4, 2))
  t = flow.sample_time(jax.random.key(4), B)
  z_n, t_n = flow.noise_sync(jax.random.key(5), z, t, prob=0.1)
  changed = np.asarray(jnp.any(z_n != z, axis=(1, 2)))
  moved_t = np.asarray(t_n != t)
  np.testing.assert_array_equal(changed, moved_t)  # latent noised exactly where t was redrawn
  assert 0.05 < changed.mean() < 0.15
  np.testing.assert_array_equal(flow.noise_latent(z, jnp.ones_like(z), jnp.zeros(B)), z)
  np.testing.assert_allclose(flow.noise_latent(z, jnp.ones_like(z), jnp.full(B, 0.25)), 0.75 * z + 0.25)


def test_flow_matching_loss_masked_mean():
  pred = jnp.array([[[1.0], [2.0]], [[3.0], [4.0]]])  # (2, 2, 1)
  target = jnp.zeros_like(pred)
  np.testing.assert_allclose(flow.flow_matching_loss(pred, target), (1 + 4 + 9 + 16) / 4)
  mask = jnp.array([[True, False], [False, True]])  # (B, T) broadcast over C
  np.testing.assert_allclose(flow.flow_matching_loss(pred, target, mask), (1 + 16) / 2)
  np.testing.assert_allclose(flow.flow_matching_loss(pred, target, jnp.zeros((2, 2), bool)), 0.0)
  pred2 = jnp.concatenate([pred, 2 * pred], axis=-1)  # (2, 2, 2): the second channel weighted 3x
  np.testing.assert_allclose(flow.flow_matching_loss(pred2, jnp.zeros_like(pred2), weight=jnp.array([1.0, 3.0])),
                             (30 + 3 * 120) / 8)
