"""Tests for the DC-AE shortcuts and stages: layout, exact round trips, shapes, divisibility errors."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from genie_audio.models import dcae

FACTORS = (2, 4, 5, 8)


@pytest.mark.parametrize("r", FACTORS)
def test_unshuffle_shuffle_round_trip_exact(r):
  x = jax.random.normal(jax.random.key(r), (3, 8 * r * 5, 6))
  y = dcae.unshuffle(x, r)
  assert y.shape == (3, 40, 6 * r)
  np.testing.assert_array_equal(dcae.shuffle(y, r), x)
  np.testing.assert_array_equal(dcae.unshuffle(dcae.shuffle(y, r), r), y)


def test_unshuffle_layout_is_channel_major():
  x = jnp.arange(8.0).reshape(1, 4, 2)  # x[0, t, c] = 2 t + c
  y = dcae.unshuffle(x, 2)
  # Frame 0 holds (t=0,c=0), (t=1,c=0), (t=0,c=1), (t=1,c=1): neighbouring entries are neighbouring times.
  np.testing.assert_array_equal(y[0], [[0.0, 2.0, 1.0, 3.0], [4.0, 6.0, 5.0, 7.0]])


def test_down_shortcut_hand_computed():
  x = jnp.array([[[1.0, 10.0], [3.0, 30.0], [5.0, 50.0], [7.0, 70.0]]])  # (1, 4, 2)
  # C_out = C_in: average pooling over time per channel.
  np.testing.assert_allclose(dcae.down_shortcut(x, 2, 2), [[[2.0, 20.0], [6.0, 60.0]]])
  # C_out = 1: mean of all 4 values of each output frame.
  np.testing.assert_allclose(dcae.down_shortcut(x, 2, 1), [[[11.0], [33.0]]])
  # C_out = 4 (group of 1): plain unshuffle.
  np.testing.assert_allclose(dcae.down_shortcut(x, 2, 4), dcae.unshuffle(x, 2))
  # r = 4, C_out = 2: channel 0 frames averaged, channel 1 frames averaged.
  np.testing.assert_allclose(dcae.down_shortcut(x, 4, 2), [[[4.0, 40.0]]])


def test_up_shortcut_hand_computed():
  x = jnp.array([[[1.0, 2.0], [3.0, 4.0]]])  # (1, 2, 2)
  # C_out = C_in: nearest-neighbour up-sampling.
  np.testing.assert_array_equal(dcae.up_shortcut(x, 2, 2), [[[1, 2], [1, 2], [3, 4], [3, 4]]])
  # C_out = 1 at r = 2: each output time step takes one input channel.
  np.testing.assert_array_equal(dcae.up_shortcut(x, 2, 1), [[[1], [2], [3], [4]]])


@pytest.mark.parametrize("r,c_in,c_out", [(2, 8, 16), (4, 16, 32), (5, 16, 40), (8, 40, 64), (5, 128, 320)])
def test_shortcut_shapes(r, c_in, c_out):
  x = jnp.ones((2, 8 * r, c_in))
  d = dcae.down_shortcut(x, r, c_out)
  assert d.shape == (2, 8, c_out)
  assert dcae.up_shortcut(d, r, c_in).shape == (2, 8 * r, c_in)


def test_divisibility_errors_name_stage_factor_and_widths():
  with pytest.raises(ValueError, match=r"stage3.*factor 5.*128 -> 256"):
    dcae.down_shortcut(jnp.ones((1, 10, 128)), 5, 256, stage="stage3")
  with pytest.raises(ValueError, match=r"up.*factor 5.*256 -> 128"):
    dcae.up_shortcut(jnp.ones((1, 2, 256)), 5, 128)
  with pytest.raises(ValueError, match="not divisible by factor 4"):
    dcae.unshuffle(jnp.ones((1, 6, 2)), 4)
  with pytest.raises(ValueError, match="bad_stage"):
    dcae.DownStage(5, 256, name="bad_stage").init(jax.random.key(0), jnp.ones((1, 10, 128)))


@pytest.mark.parametrize("r", FACTORS)
def test_stages_shapes(r):
  x = jax.random.normal(jax.random.key(0), (2, 4 * r, 8))
  down = dcae.DownStage(r, 8 * r // 2, depth=1, kernel_size=3)
  params = down.init(jax.random.key(1), x)
  y = down.apply(params, x)
  assert y.shape == (2, 4, 4 * r)
  up = dcae.UpStage(r, 8, depth=1, kernel_size=3)
  y_up = up.apply(up.init(jax.random.key(2), y), y)
  assert y_up.shape == x.shape
  assert all(p.dtype == jnp.float32 for p in jax.tree.leaves(params))
