"""Pure parts of the edit workflow: splicing with crossfades, seam windows, in-painting windows, action
timelines over long recordings, edit metrics, and the labelled latent-window pipeline."""

import numpy as np
import pytest

from genie_audio.data import action_labels
from genie_audio.data import latents as latent_store
from genie_audio.editing import actions, splice
from genie_audio.editing.windows import choose_window, plan_windows, plan_windows_backward
from genie_audio.eval import edit_metrics
from genie_audio.models.lam import step_level


def test_splice_keeps_everything_outside_the_span_and_fades_inside():
  rng = np.random.default_rng(0)
  original, generated = rng.normal(size=1000).astype(np.float32), rng.normal(size=600).astype(np.float32)
  out = splice.splice(original, generated, 300, 700, fade=50, generated_offset=200)
  np.testing.assert_array_equal(out[:300], original[:300])
  np.testing.assert_array_equal(out[700:], original[700:])
  np.testing.assert_allclose(out[350:650], generated[150:450], atol=1e-6)  # past the fades: all generated
  gain = splice.fade_in(50)
  np.testing.assert_allclose(out[300:350], gain * generated[100:150] + np.sqrt(1 - gain ** 2) * original[300:350],
                             atol=1e-6)
  assert 0 < gain[0] < gain[-1] < 1
  # A span at the recording's start has no seam there; a short span fades over half its length at most.
  at_start = splice.splice(original, generated, 0, 100, fade=50, generated_offset=0)
  np.testing.assert_allclose(at_start[:50], generated[:50], atol=1e-6)
  short = splice.splice(original, generated, 400, 410, fade=50, generated_offset=200)
  np.testing.assert_array_equal(short[410:], original[410:])
  with pytest.raises(ValueError, match="not the span"):
    splice.splice(original, generated, 100, 300, fade=10, generated_offset=200)


def test_seam_windows_and_distances():
  wave = np.arange(100, dtype=np.float64)
  assert splice.seam_edges(0, 60, 100) == [60] and splice.seam_edges(10, 100, 100) == [10]
  windows = splice.seam_windows(wave, [5, 60], 10)
  np.testing.assert_array_equal(windows[0], np.arange(20))  # shifted inside the recording
  np.testing.assert_array_equal(windows[1], np.arange(50, 70))
  rng = np.random.default_rng(1)
  original = rng.normal(size=16000)
  edited = original.copy()
  edited[8000:12000] = rng.normal(size=4000)
  same = edit_metrics.seam_distances(original, original, 8000, 12000, 1600)
  np.testing.assert_allclose(same, 0.0, atol=1e-12)
  assert np.all(edit_metrics.seam_distances(original, edited, 8000, 12000, 1600) > 0.1)
  assert edit_metrics.action_accuracy(np.array([1, 2, 3, 4]), np.array([1, 0, 3, 0])) == 0.5


def test_level_moves_are_scored_without_the_lam():
  rng = np.random.default_rng(0)
  R, S, C, N = 2, 6, 3, 40
  # Action 1 raises the level (channel 0, the loudest direction) by 1 from the step before, action 0 lowers it.
  labels = rng.integers(0, 2, (N, S))
  level = np.cumsum(np.where(labels == 1, 1.0, -1.0), axis=1)
  latents = rng.normal(scale=0.05, size=(N, S * R, C))
  latents[..., 0] += np.repeat(level, R, axis=1) + 10.0
  direction = edit_metrics.first_component(latents)
  np.testing.assert_allclose(direction, [1.0, 0.0, 0.0], atol=0.01)
  levels = np.asarray(step_level(latents, direction, R), np.float64)
  np.testing.assert_allclose(np.diff(levels, axis=1), np.diff(level, axis=1), atol=0.3)
  expected = edit_metrics.expected_moves(levels, labels, 3)
  np.testing.assert_allclose(expected[:2], [-1.0, 1.0], atol=0.05)
  assert expected[2] == pytest.approx(np.diff(levels, axis=1).mean())  # labels no step: the overall mean
  steps = np.tile([2, 3], (N, 1))
  followed = edit_metrics.level_move_correlation(levels, steps, labels[:, 2:4], expected)
  reversed_ = edit_metrics.level_move_correlation(levels, steps, 1 - labels[:, 2:4], expected)
  assert followed > 0.99 and reversed_ < -0.99
  flat = np.zeros_like(levels)  # an edit that moves nothing
  assert edit_metrics.level_move_correlation(flat, steps, labels[:, 2:4], expected) == 0.0


@pytest.mark.parametrize("total, window, first, end, align, expected", [
    (1000, 100, 500, 520, 10, (460, 100)),   # centred on the span, on a step boundary
    (1000, 100, 0, 30, 10, (0, 100)),        # at the start
    (1000, 100, 950, 1000, 10, (900, 100)),  # at the end
    (60, 100, 10, 20, 10, (0, 60)),          # recording shorter than the window
    (1005, 100, 990, 1005, 10, (905, 100)),  # the end forces a start off the step grid
])
def test_choose_window(total, window, first, end, align, expected):
  start, length = choose_window(total, window, first, end, align)
  assert (start, length) == expected
  assert start <= first and end <= start + length <= total


@pytest.mark.parametrize("total, window, first, end, align, expected", [
    (1000, 100, 500, 520, 10, [(460, 500, 520)]),                 # fits: one centred window
    (1000, 100, 300, 520, 10, [(250, 300, 350), (300, 350, 400), (350, 400, 450), (400, 450, 500),
                               (450, 500, 520)]),                 # chained: half context, half generated
    (1000, 100, 0, 130, 10, [(0, 0, 100), (50, 100, 130)]),        # from the start: no context at first
    (1000, 100, 880, 1000, 10, [(830, 880, 930), (880, 930, 980), (900, 980, 1000)]),  # the last one shifts in
    (1000, 100, 303, 517, 7, [(252, 303, 352), (301, 352, 401), (350, 401, 450), (399, 450, 499),
                              (448, 499, 517)]),                  # context rounded down to whole steps
])
def test_plan_windows(total, window, first, end, align, expected):
  windows = plan_windows(total, window, first, end, align)
  assert windows == expected
  assert windows[0][1] == first and windows[-1][2] == end
  for (w0, p0, p1), nxt in zip(windows, windows[1:] + [None]):
    assert 0 <= w0 <= p0 < p1 <= min(w0 + window, total)         # the part lies in its window
    assert nxt is None or nxt[1] == p1                           # parts are contiguous, in order
    # A chained window with context before its part generates at most about half of itself.
    assert len(windows) == 1 or p0 == w0 or p1 - p0 <= window // 2 + align


def test_plan_windows_backward_writes_right_to_left_with_context_after():
  """A 130-frame continuation before a recording's start: the first window joins the original (frames 130..)."""
  windows = plan_windows_backward(1000, 100, 0, 130, 10)
  assert windows == [(80, 80, 130), (30, 30, 80), (0, 0, 30)]  # plan_windows(1000, 100, 870, 1000, 10) mirrored
  assert plan_windows_backward(1000, 100, 500, 520, 10) == [(460, 500, 520)]
  with pytest.raises(ValueError, match="not whole steps of 10"):
    plan_windows_backward(1005, 100, 0, 130, 10)


def fake_infer(params, z_BTC):
  """A stand-in LAM: the code of a step is the rounded mean of its frames' channel 0 (R = 2)."""
  del params
  B, T, _ = z_BTC.shape
  return np.round(z_BTC[..., 0].reshape(B, T // 2, 2).mean(-1)).astype(np.int32)


def test_timeline_covers_every_step_from_central_windows():
  assert list(actions.window_starts(10, 4)) == [0, 2, 4, 6]
  assert list(actions.window_starts(3, 4)) == [0]
  owners = actions.step_owners(10, actions.window_starts(10, 4), 4)
  assert list(owners) == [0, 0, 0, 1, 1, 2, 2, 3, 3, 3]
  codes = np.arange(11) % 4  # 11 steps of R = 2, the last one partial (21 frames)
  z = np.repeat(codes, 2)[:21, None].astype(np.float32) * np.ones((1, 3), np.float32)
  timeline = actions.infer_timeline(fake_infer, None, z, 2, window_steps=4, batch_size=3)
  np.testing.assert_array_equal(timeline, codes)
  np.testing.assert_array_equal(actions.frame_actions(timeline, 2, 21), np.repeat(codes, 2)[:21])
  with pytest.raises(ValueError, match="non-empty"):
    actions.infer_timeline(fake_infer, None, np.zeros((0, 3)), 2, 4)


def test_labels_are_cached_and_windows_carry_their_actions(tmp_path):
  latent_dir = tmp_path / "latents"
  for i, (frames, split) in enumerate([(41, "train"), (30, "train"), (20, "validation")]):
    z = np.repeat(np.arange(frames // 2 + 1) % 4, 2)[:frames, None] * np.ones((1, 3))
    latent_store.write_shard(latent_dir, f"r{i}", f"r{i}.wav", split, z.astype(np.float32))
  latent_store.write_meta(latent_dir, {"frame_rate": 50.0, "latent_dim": 3})
  calls = []
  def counting_infer(params, z):
    calls.append(z.shape)
    return fake_infer(params, z)
  source, cache = {"lam_workdir": "lam", "lam_step": 7}, tmp_path / "labels.npz"
  labels = actions.label_dataset(latent_dir, counting_infer, None, 2, 4, source, cache, progress=False)
  assert sorted(labels) == ["shards/r0.npy", "shards/r1.npy", "shards/r2.npy"] and len(labels["shards/r0.npy"]) == 21
  n = len(calls)
  again = actions.label_dataset(latent_dir, counting_infer, None, 2, 4, source, cache, progress=False)
  assert len(calls) == n and all(np.array_equal(labels[k], again[k]) for k in labels)  # read from the cache
  actions.label_dataset(latent_dir, counting_infer, None, 2, 4, dict(source, lam_step=8), cache, progress=False)
  assert len(calls) > n  # another LAM checkpoint: relabelled
  ds = action_labels.labelled_windows(latent_dir, "train", labels, 2, 8, batch_size=4, seed=0)
  for i in range(3):
    batch = ds[i]
    assert batch["latents"].shape == (4, 8, 3) and batch["actions"].shape == (4, 8)
    # Windows start on step boundaries, and each frame carries its step's code (= its latent value here).
    np.testing.assert_array_equal(batch["actions"], batch["latents"][..., 0].astype(np.int32))
    np.testing.assert_array_equal(batch["actions"][:, ::2], batch["actions"][:, 1::2])
