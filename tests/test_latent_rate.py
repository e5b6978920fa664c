"""The latent's quantiser and the rate of an entropy coder for it (genie_audio/eval/latent_rate.py)."""

import numpy as np
import pytest

from genie_audio.eval import latent_rate


def test_a_quantised_latent_is_within_half_a_step_of_the_original():
  z = np.random.default_rng(0).normal(size=(50, 3)) * np.array([1.0, 5.0, 0.1])
  step = np.array([0.5, 2.5, 0.05])
  back = latent_rate.dequantise(latent_rate.quantise(z, step), step)
  assert np.all(np.abs(back - z) <= step / 2 + 1e-6)


def test_the_rate_is_the_entropy_of_the_training_symbols():
  rng = np.random.default_rng(1)
  train = np.stack([np.zeros(4000, np.int64), rng.integers(0, 4, 4000)], axis=1)   # 0 bits, 2 bits a frame
  coder = latent_rate.ChannelModel([train[:2000], train[2000:]])
  test = np.stack([np.zeros(1000, np.int64), rng.integers(0, 4, 1000)], axis=1)
  assert coder.bits(test) / 1000 == pytest.approx(2.0, abs=0.02)


def test_an_unseen_symbol_costs_more_than_a_seen_one_but_finite_bits():
  coder = latent_rate.ChannelModel([np.array([[0], [1], [1], [2]] * 100)])
  seen, unseen = coder.bits(np.array([[1]])), coder.bits(np.array([[7]]))
  assert np.isfinite(unseen) and unseen > seen + 5


def test_bad_shapes_and_steps_are_named():
  with pytest.raises(ValueError, match="steps"):
    latent_rate.quantise(np.zeros((4, 2)), np.ones(3))
  with pytest.raises(ValueError, match="> 0"):
    latent_rate.quantise(np.zeros((4, 2)), np.array([1.0, 0.0]))
  with pytest.raises(ValueError, match=r"\(T, 1\)"):
    latent_rate.ChannelModel([np.zeros((5, 1), np.int64)]).bits(np.zeros((5, 2), np.int64))
