"""VQ bottleneck: nearest code, straight-through gradient, hand-computed losses, dead-code restart."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from genie_audio.models import vq


CODEBOOK = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 2.0]], np.float32)


def test_nearest_code_on_hand_made_codebook():
  z = np.array([[0.1, 0.1], [0.9, -0.3], [0.2, 1.5], [0.6, 0.0], [-5.0, 0.0]], np.float32)
  np.testing.assert_array_equal(vq.nearest_codes(jnp.asarray(z), jnp.asarray(CODEBOOK)), [0, 1, 2, 1, 0])


def test_normalized_lookup_picks_the_highest_cosine():
  codebook = np.array([[1.0, 0.0], [0.0, 10.0], [-1.0, -1.0]], np.float32)
  z = np.array([[5.0, 0.1], [0.1, 0.2], [-0.1, -0.3]], np.float32)
  q, aux = vq.quantize(jnp.asarray(z), jnp.asarray(codebook), normalize=True)
  np.testing.assert_array_equal(aux["codes"], [0, 1, 2])
  np.testing.assert_allclose(np.linalg.norm(q, axis=-1), 1.0, atol=1e-5)  # unit-norm codes come out


def test_losses_hand_computed():
  z = np.array([[0.1, 0.1], [0.9, -0.3]], np.float32)
  _, aux = vq.quantize(jnp.asarray(z), jnp.asarray(CODEBOOK), beta=0.25, normalize=False)
  # Codes 0 and 1: squared distances 0.01 + 0.01 = 0.02 and 0.01 + 0.09 = 0.10, mean 0.06.
  np.testing.assert_allclose(aux["codebook_loss"], 0.06, rtol=1e-5)
  np.testing.assert_allclose(aux["commitment_loss"], 0.06, rtol=1e-5)
  np.testing.assert_allclose(aux["loss"], 0.06 * 1.25, rtol=1e-5)
  np.testing.assert_array_equal(aux["counts"], [1, 1, 0])
  np.testing.assert_allclose(aux["usage"], 2 / 3)
  np.testing.assert_allclose(aux["perplexity"], 2.0, rtol=1e-5)


def test_loss_gradients_go_where_they_should():
  z = jnp.array([[0.1, 0.1], [0.9, -0.3]])
  codebook = jnp.asarray(CODEBOOK)
  codebook_grad = jax.grad(lambda c: vq.quantize(z, c, normalize=False)[1]["codebook_loss"])(codebook)
  z_grad = jax.grad(lambda x: vq.quantize(x, codebook, normalize=False)[1]["codebook_loss"])(z)
  commit_z_grad = jax.grad(lambda x: vq.quantize(x, codebook, normalize=False)[1]["commitment_loss"])(z)
  commit_c_grad = jax.grad(lambda c: vq.quantize(z, c, normalize=False)[1]["commitment_loss"])(codebook)
  # d/dq mean_N |z - q|^2 = 2 (q - z) / N for the chosen codes, nothing for the unused one.
  np.testing.assert_allclose(codebook_grad, [[-0.1, -0.1], [0.1, 0.3], [0, 0]], rtol=1e-5, atol=1e-7)
  np.testing.assert_allclose(z_grad, 0.0)
  np.testing.assert_allclose(commit_z_grad, [[0.1, 0.1], [-0.1, -0.3]], rtol=1e-5, atol=1e-7)
  np.testing.assert_allclose(commit_c_grad, 0.0)


@pytest.mark.parametrize("normalize", [False, True])
def test_straight_through_gradient_equals_gradient_of_the_quantized_output(normalize):
  z = jax.random.normal(jax.random.key(0), (6, 3))
  codebook = jax.random.normal(jax.random.key(1), (4, 3))
  weights = jax.random.normal(jax.random.key(2), (6, 3))
  f = lambda q: jnp.sum(jnp.sin(q) * weights)  # any downstream loss
  q, _ = vq.quantize(z, codebook, normalize=normalize)
  grad_q = jax.grad(f)(q)
  if normalize:  # the copied gradient then flows back through the normalisation of z
    _, pullback = jax.vjp(vq.l2_normalize, z)
    expected = pullback(grad_q)[0]
  else:
    expected = grad_q
  grad_z = jax.grad(lambda x: f(vq.quantize(x, codebook, normalize=normalize)[0]))(z)
  np.testing.assert_allclose(grad_z, expected, rtol=1e-5, atol=1e-6)
  # The forward value is exactly the code.
  cb = vq.l2_normalize(codebook) if normalize else codebook
  np.testing.assert_allclose(q, cb[vq.nearest_codes(vq.l2_normalize(z) if normalize else z, cb)], atol=1e-6)


def test_restart_replaces_exactly_the_dead_codes_with_batch_encodings():
  codebook = jnp.arange(12, dtype=jnp.float32).reshape(4, 3)
  usage = jnp.array([0.5, 0.001, 0.3, 0.0])
  encodings = 100.0 + jax.random.normal(jax.random.key(0), (10, 3))
  new_codebook, new_usage = vq.restart_dead_codes(codebook, usage, encodings, jax.random.key(1), threshold=0.01,
                                                  noise_scale=0.0)
  new_codebook, encodings = np.asarray(new_codebook), np.asarray(encodings)
  np.testing.assert_array_equal(new_codebook[[0, 2]], np.asarray(codebook)[[0, 2]])  # live codes untouched
  rows = [int(np.argmin(np.abs(encodings - new_codebook[k]).sum(-1))) for k in (1, 3)]
  np.testing.assert_array_equal(new_codebook[[1, 3]], encodings[rows])  # dead codes: batch encodings
  assert rows[0] != rows[1]  # drawn without replacement
  np.testing.assert_allclose(new_usage, [0.5, 0.25, 0.3, 0.25])  # restarted codes get a fair share
  # With noise: close to (but not exactly) a batch encoding.
  noisy, _ = vq.restart_dead_codes(codebook, usage, jnp.asarray(encodings), jax.random.key(1), threshold=0.01)
  noisy = np.asarray(noisy)
  np.testing.assert_array_equal(noisy[[0, 2]], np.asarray(codebook)[[0, 2]])
  gap = np.abs(noisy[[1, 3]] - encodings[rows]).max()
  assert 0 < gap < 0.1 * np.sqrt(np.mean(encodings ** 2))


def test_usage_ema_update_and_module_outputs():
  usage = vq.update_usage(vq.init_usage(4), jnp.array([3.0, 1.0, 0.0, 0.0]), decay=0.5)
  np.testing.assert_allclose(usage, [0.5, 0.25, 0.125, 0.125])
  module = vq.VectorQuantizer(num_codes=4, code_dim=3)
  z = jax.random.normal(jax.random.key(0), (2, 5, 3))
  variables = module.init(jax.random.key(1), z)
  assert list(variables) == ["params"] and list(variables["params"]) == ["codebook"]  # the EMA is kept outside
  q, aux = module.apply(variables, z)
  assert q.shape == (2, 5, 3) and aux["codes"].shape == (2, 5) and aux["encodings"].shape == (2, 5, 3)
  assert float(aux["counts"].sum()) == 10
  np.testing.assert_allclose(module.apply(variables, aux["codes"], method=module.lookup), q, atol=1e-6)
