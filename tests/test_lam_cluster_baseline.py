"""Tests for experiments/lam_cluster_baseline.py's pure functions: per-step features (means, deltas, window
standardisation), level bins, perplexity, putting codes into an analysis, and the latent-folder check.

    python -m pytest -q tests/test_lam_cluster_baseline.py -n 0
"""

import numpy as np
import pytest

from experiments import lam_cluster_baseline as lcb
from genie_audio.eval import action_analysis


def ramp(T: int, C: int = 2) -> np.ndarray:
  """(T, C) frame t, channel c = t + 100 c: step means are easy to write down."""
  return (np.arange(T)[:, None] + 100.0 * np.arange(C)[None, :]).astype(np.float32)


def test_padded_steps_repeat_the_last_frame():
  steps_SRC = lcb.padded_steps(ramp(7), 3)
  assert steps_SRC.shape == (3, 3, 2)
  np.testing.assert_array_equal(steps_SRC[2, :, 0], [6, 6, 6])   # frame 6, then itself twice


def test_step_means_and_deltas():
  f = lcb.step_features(ramp(12), R=3, window_steps=2)
  np.testing.assert_allclose(f["step_mean"][:, 0], [1, 4, 7, 10])
  np.testing.assert_allclose(f["step_mean"][:, 1], [101, 104, 107, 110])
  np.testing.assert_allclose(f["step_delta"], [[0, 0], [3, 3], [3, 3], [3, 3]])   # first step: zeros


def test_window_standardize_per_window_and_channel():
  z_TC = np.concatenate([ramp(4), 10 * ramp(4) + 5])   # two windows, the second scaled and shifted
  out_TC = lcb.window_standardize(z_TC, 4)
  np.testing.assert_allclose(out_TC[:4], out_TC[4:], atol=1e-6)   # scale and offset gone
  np.testing.assert_allclose(out_TC[:4].mean(0), 0, atol=1e-9)
  np.testing.assert_allclose(out_TC[:4].std(0), 1, atol=1e-9)
  np.testing.assert_array_equal(lcb.window_standardize(np.ones((4, 2)), 4), 0)   # constant: centred, finite


def test_step_mean_norm_sees_only_the_place_in_the_window():
  z_TC = ramp(12)
  f = lcb.step_features(z_TC, R=3, window_steps=2)              # windows: steps (0, 1) and (2, 3)
  g = lcb.step_features(z_TC * 7 - 3, R=3, window_steps=2)
  np.testing.assert_allclose(f["step_mean_norm"], g["step_mean_norm"], atol=1e-6)
  # A window of 6 frames 0..5: std sqrt(35/12); step means 1 and 4 sit 1.5 below and above its mean 2.5.
  expected = 1.5 / np.sqrt(35 / 12)
  np.testing.assert_allclose(f["step_mean_norm"][:, 0], [-expected, expected] * 2, rtol=1e-6)


def test_level_bins_are_balanced():
  level_N = np.random.default_rng(0).standard_normal(800)
  codes = lcb.level_codes(level_N, lcb.quantile_edges(level_N, 8))
  assert codes.min() == 0 and codes.max() == 7
  np.testing.assert_array_equal(np.bincount(codes, minlength=8), 100)
  assert lcb.perplexity(codes, 8) == pytest.approx(8.0)
  # Monotone: a louder step never gets a lower bin.
  order = np.argsort(level_N)
  assert np.all(np.diff(codes[order]) >= 0)


def test_perplexity():
  assert lcb.perplexity(np.zeros(10, np.int64), 8) == pytest.approx(1.0)
  assert lcb.perplexity(np.array([0, 0, 1, 1]), 8) == pytest.approx(2.0)


def test_with_codes_follows_recording_and_step():
  steps = {"recording": np.array([0, 0, 1, 1, 1]), "step": np.array([0, 1, 0, 1, 2]),
           "action": np.zeros(5, np.int64)}
  analysis = action_analysis.Analysis(steps, [{}, {}], num_actions=8, step_seconds=0.2)
  # Recording 0 has a third step the analysis left out (past the audio): it must not shift recording 1.
  out = lcb.with_codes(analysis, [np.array([5, 6, 7]), np.array([1, 2, 3])])
  np.testing.assert_array_equal(out.codes, [5, 6, 1, 2, 3])
  np.testing.assert_array_equal(analysis.codes, 0)   # the original is left alone


def test_check_latents(tmp_path):
  shared = str(tmp_path / "runs/demo/tokenizer/latents")
  lcb.check_latents("a", shared, shared)
  lcb.check_latents("gone", "/nowhere/wt9/runs/demo/tokenizer/latents", shared)   # a removed worktree's path
  with pytest.raises(ValueError, match="not"):
    lcb.check_latents("other", "/nowhere/wt9/runs/tok8/latents", shared)
  (tmp_path / "runs/tok8/latents").mkdir(parents=True)
  with pytest.raises(ValueError):
    lcb.check_latents("other", str(tmp_path / "runs/tok8/latents"), shared)
