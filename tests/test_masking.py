"""Segmented LAM masks: hidden fraction, run lengths, alignment to action steps, both ends possible."""

import jax
import numpy as np
import pytest

from genie_audio.models import masking

# Jitted once per shape: eager vmap over thousands of keys dispatches op by op and is slow.
sample = jax.jit(masking.sample_step_mask, static_argnums=(1, 2, 3))


def runs_of(mask_S):
  """Lengths of the hidden runs of one (S,) mask, and whether each touches an end of the window."""
  runs, start = [], None
  for s, hidden in enumerate(list(mask_S) + [False]):
    if hidden and start is None:
      start = s
    if not hidden and start is not None:
      runs.append((s - start, start == 0 or s == len(mask_S)))
      start = None
  return runs


@pytest.mark.parametrize("steps,rate,max_span", [(25, 0.5, 4), (32, 0.3, 3), (8, 0.5, 2)])
def test_span_windows_hide_the_configured_fraction_in_bounded_runs(steps, rate, max_span):
  config = masking.MaskConfig(rate=rate, max_span=max_span, block_prob=0.0)
  mask = np.asarray(sample(jax.random.key(0), 2000, steps, config))
  assert mask.shape == (2000, steps) and mask.dtype == bool
  assert abs(mask.mean() - rate) < 0.02
  # Each step is hidden about as often as any other (no position bias), both ends included.
  assert np.abs(mask.mean(0) - rate).max() < 0.06
  assert mask[:, 0].any() and mask[:, -1].any() and not mask[:, 0].all() and not mask[:, -1].all()
  lengths = [length for row in mask[:300] for length, _ in runs_of(row)]
  assert min(lengths) == 1 and max(lengths) == max_span
  assert mask.any(axis=1).all()  # every window hides something


def test_block_windows_hide_one_contiguous_block_of_the_configured_length():
  config = masking.MaskConfig(block_prob=1.0, block_min=0.3, block_max=0.6)
  mask = np.asarray(sample(jax.random.key(1), 1000, 20, config))
  for row in mask:
    runs = runs_of(row)
    assert len(runs) == 1 and 6 <= runs[0][0] <= 12
  assert mask[:, 0].any() and mask[:, -1].any()  # at the start, at the end, or inside
  assert 0.3 < mask.mean() < 0.6


def test_mixture_and_frame_alignment():
  config = masking.MaskConfig(rate=0.5, max_span=4, block_prob=0.5)
  mask_BS = sample(jax.random.key(2), 64, 10, config)
  mask_BT = np.asarray(masking.steps_to_frames(mask_BS, 5))
  assert mask_BT.shape == (64, 50)
  by_step = mask_BT.reshape(64, 10, 5)
  assert (by_step == by_step[..., :1]).all()  # whole action steps only
  np.testing.assert_array_equal(by_step[..., 0], np.asarray(mask_BS))
  # Deterministic in the key, different across keys.
  np.testing.assert_array_equal(mask_BS, sample(jax.random.key(2), 64, 10, config))
  assert not np.array_equal(mask_BS, sample(jax.random.key(3), 64, 10, config))


def test_config_rejects_bad_rates():
  with pytest.raises(ValueError, match="rate"):
    masking.MaskConfig(rate=1.0)
  with pytest.raises(ValueError, match="block"):
    masking.MaskConfig(block_min=0.7, block_max=0.5)
