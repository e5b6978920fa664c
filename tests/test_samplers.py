"""Tests for the Euler/Heun ODE samplers, masked (in-painting) sampling and tokenizer `decode`."""

import functools

import jax
import jax.numpy as jnp
import numpy as np

from genie_audio.diffusion import samplers


def _linear(a):
  return lambda x, t_B: a * x


def test_euler_linear_field_hand_computed():
  a, n = 0.7, 10
  x1 = jnp.array([[1.0, -2.0, 0.5]])
  out = jax.jit(lambda x: samplers.euler(_linear(a), x, n))(x1)
  np.testing.assert_allclose(out, (1 - a / n) ** n * x1, rtol=1e-6)


def test_euler_uses_uniform_time_grid():
  got = []

  def vf(x, t_B):
    assert t_B.shape == (2,)
    jax.debug.callback(lambda t: got.append(float(t[0])), t_B, ordered=True)
    return jnp.zeros_like(x)

  jax.block_until_ready(samplers.euler(vf, jnp.ones((2, 1)), 4))
  jax.effects_barrier()
  np.testing.assert_allclose(got, [1.0, 0.75, 0.5, 0.25], atol=1e-7)


def test_heun_more_accurate_than_euler():
  a, n = 1.5, 8
  x1 = jnp.array([[1.0, -0.3]])
  exact = np.exp(-a) * np.asarray(x1)
  err_e = np.abs(samplers.euler(_linear(a), x1, n) - exact).max()
  err_h = np.abs(samplers.heun(_linear(a), x1, n) - exact).max()
  assert err_h < err_e / 10
  # Heun on a linear field is the 2nd-order Taylor step: (1 - a dt + (a dt)^2 / 2)^n.
  dt = 1 / n
  np.testing.assert_allclose(samplers.heun(_linear(a), x1, n), (1 - a * dt + (a * dt) ** 2 / 2) ** n * x1,
                             rtol=1e-5)


def test_masked_sampling_keeps_context_exactly():
  x1 = jax.random.normal(jax.random.key(0), (2, 6, 3))
  context = jax.random.normal(jax.random.key(1), (2, 6, 3))
  mask = jnp.array([[False, False, True, True, False, False]] * 2)[..., None]  # (B, T, 1)
  # A field that mixes positions, so the generated span depends on the context.
  vf = lambda x, t_B: 0.5 * x + jnp.roll(x, 1, axis=1) * t_B[:, None, None]
  for sampler in (samplers.euler, samplers.heun):
    out = jax.jit(functools.partial(sampler, vf, num_steps=5, mask=mask, context=context))(x1)
    m = np.broadcast_to(np.asarray(mask), out.shape)
    np.testing.assert_array_equal(np.asarray(out)[~m], np.asarray(context)[~m])
    unmasked = sampler(vf, x1, 5)
    assert not np.allclose(np.asarray(out)[m], np.asarray(unmasked)[m])  # context influenced the span


def test_decode_with_fake_apply_fn():
  def apply_fn(params, x_BT, t_B, z_BTC, method=None):
    assert method == "velocity"
    return params["a"] * x_BT + 0.0 * z_BTC.sum()
  z = jnp.zeros((2, 3, 4))
  dec = jax.jit(functools.partial(samplers.decode, apply_fn, flow_shape=(30,), num_steps=4, method="heun"))
  out1 = dec({"a": 0.5}, z, jax.random.key(7))
  out2 = dec({"a": 0.5}, z, jax.random.key(7))
  assert out1.shape == (2, 30)
  np.testing.assert_array_equal(out1, out2)  # fixed seed -> reproducible
  x1 = jax.random.normal(jax.random.key(7), (2, 30))
  np.testing.assert_allclose(out1, samplers.heun(lambda x, t: 0.5 * x, x1, 4), rtol=1e-6)
  # A flow on the waveform times 4: read back at the waveform's scale; context goes in at the waveform's scale.
  scale = dict(to_flow=lambda w: w * 4.0, from_flow=lambda x: x / 4.0)
  scaled = samplers.decode(apply_fn, {"a": 0.5}, z, jax.random.key(7), flow_shape=(30,), num_steps=4, method="heun",
                           **scale)
  np.testing.assert_allclose(scaled, out1 / 4.0, rtol=1e-6)
  mask = jnp.arange(30) < 10
  context = jnp.full((2, 30), 0.25)
  held = samplers.decode(apply_fn, {"a": 0.5}, z, jax.random.key(7), flow_shape=(30,), num_steps=4, method="heun",
                         mask=mask, context=context, **scale)
  np.testing.assert_allclose(held[:, 10:], 0.25, rtol=1e-6)
