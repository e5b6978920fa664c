"""The requests heard in edited audio without the LAM (genie_audio/eval/heard_requests.py)."""

import numpy as np
import pytest

from genie_audio.eval import heard_requests

SR = 16000
STEP = 3200  # 0.2 s, the 50 frames/s LAM's step


def stepped_tone(levels_db: np.ndarray) -> np.ndarray:
  """A 440 Hz tone whose level is constant within each step."""
  t = np.arange(len(levels_db) * STEP) / SR
  gain = np.repeat(10.0 ** (np.asarray(levels_db) / 20.0), STEP)
  return (0.5 * gain * np.sin(2 * np.pi * 440.0 * t)).astype(np.float32)


def test_span_moves_measures_each_steps_jump_from_the_step_before():
  wave = stepped_tone([-20, -20, -10, -30, -30])
  moves = heard_requests.span_moves(wave, STEP, 2, 5, SR)
  assert set(moves) >= {"loudness_jump_db", "centroid_jump_oct"}
  jumps = moves["loudness_jump_db"]
  assert jumps.shape == (3,)
  # Frames straddling a step edge blur the means a little; the signs and sizes are the steps'.
  assert jumps[0] == pytest.approx(10.0, abs=2.5) and jumps[1] == pytest.approx(-20.0, abs=4.0)
  assert abs(jumps[2]) < 1.5


def test_requests_that_set_the_jump_are_heard_and_shuffled_ones_are_chance():
  rng = np.random.default_rng(0)
  labels, moves, noise_moves = [], [], []
  for _ in range(30):
    codes = rng.integers(0, 4, 6)
    jump = codes * 5.0 + rng.normal(0, 0.5, 6)          # the request sets the jump
    labels.append(codes)
    moves.append({name: rng.normal(size=6) for name in heard_requests.descriptors.MOVES} | {"loudness_jump_db": jump})
    noise_moves.append({name: rng.normal(size=6) for name in heard_requests.descriptors.MOVES})
  found = heard_requests.heard(labels, moves)
  assert found["loudness_jump_db"]["eta2"] > 0.95
  assert found["loudness_jump_db"]["chance"] < 0.1
  ignored = heard_requests.heard(labels, noise_moves)["loudness_jump_db"]
  assert ignored["eta2"] == pytest.approx(ignored["chance"], abs=0.06)


def test_heard_rejects_labels_and_moves_that_do_not_pair():
  with pytest.raises(ValueError, match="2 label arrays for 1 spans"):
    heard_requests.heard([np.zeros(3), np.zeros(3)], [{}])
