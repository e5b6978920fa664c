"""Tests for genie_audio.eval.pitch: chroma of pure tones and chroma similarity on hand-made pairs."""

import numpy as np
import pytest

from genie_audio.eval import pitch

SR = 16000
A4, E5 = 440.0, 659.2551  # E5 is seven semitones above A4: pitch class 4, not 9


def tone(hz: float, seconds: float = 1.0, amplitude: float = 0.5, phase: float = 0.0) -> np.ndarray:
  t = np.arange(int(seconds * SR)) / SR
  return amplitude * np.sin(2 * np.pi * hz * t + phase)


def test_chroma_matrix_assigns_bins_to_nearest_pitch_class():
  matrix = pitch.chroma_matrix(SR, 4096)
  freqs = np.fft.rfftfreq(4096, 1 / SR)
  assert matrix.shape == (12, 2049)
  inside = (freqs >= 55) & (freqs <= 5000)
  np.testing.assert_array_equal(matrix.sum(axis=0), inside.astype(float))  # each bin in range: one class
  assert matrix[9, np.argmin(np.abs(freqs - 440))] == 1  # A
  assert matrix[0, np.argmin(np.abs(freqs - 261.63))] == 1  # middle C
  assert matrix[4, np.argmin(np.abs(freqs - E5))] == 1  # E


def test_chroma_of_a_tone_peaks_at_its_pitch_class():
  c = pitch.chroma(tone(A4))
  assert c.shape == (1 + SR // 1024, 12)
  assert np.all(np.argmax(c, axis=-1) == 9)
  inner = c[2:-2]  # the outer frames see the reflect padding's kink, which splatters a little
  assert np.all(inner[:, 9] > 0.99 * inner.sum(axis=-1))
  assert pitch.chroma(np.stack([tone(A4), tone(E5)])).shape == (2, 16, 12)


def test_identical_signals_score_one():
  x = tone(A4) + tone(E5, amplitude=0.2) + 0.01 * np.random.default_rng(0).standard_normal(SR)
  assert pitch.chroma_similarity(x, x) == pytest.approx(1.0, abs=1e-12)
  assert pitch.chroma_similarity(x, 0.1 * x) == pytest.approx(1.0, abs=1e-12)  # blind to gain


def test_same_note_scores_one_other_note_zero():
  assert pitch.chroma_similarity(tone(A4), tone(A4, amplitude=0.1, phase=1.0)) > 0.999
  assert pitch.chroma_similarity(tone(A4), tone(2 * A4)) > 0.999  # an octave: same pitch class
  assert pitch.chroma_similarity(tone(A4), tone(E5)) < 0.01


def test_noise_scores_far_below_the_tone():
  noise = 0.1 * np.random.default_rng(1).standard_normal(SR)
  assert pitch.chroma_similarity(tone(A4), noise) < 0.5


def test_chroma_correlation_centres_the_chroma():
  assert pitch.chroma_correlation(tone(A4), 3 * tone(A4)) == pytest.approx(1.0, abs=1e-12)
  # One-hot A against one-hot E, both minus 1/12: dot -1/12, squared norms 11/12, so -1/11.
  assert pitch.chroma_correlation(tone(A4), tone(E5)) == pytest.approx(-1 / 11, abs=0.01)
  noise = 0.1 * np.random.default_rng(1).standard_normal(SR)  # nearly flat chroma: uncorrelated
  assert abs(pitch.chroma_correlation(tone(A4), noise)) < 0.15 < pitch.chroma_similarity(tone(A4), noise)
  assert pitch.chroma_correlation(np.stack([tone(A4)] * 2), np.stack([tone(A4), noise])).shape == (2,)


def test_silent_reference_frames_are_ignored():
  # Reference: 1 s of A4 then 1 s of silence; estimate: A4, 0.25 s of silence, then E5. The frames whose
  # 4096-sample window reaches into the E5 (centres after 1.25 s - 2048 samples) see only silence in the
  # reference, so they are not scored and the pair scores like identical signals.
  reference = np.concatenate([tone(A4), np.zeros(SR)])
  estimate = np.concatenate([tone(A4), np.zeros(SR // 4), tone(E5, seconds=0.75)])
  assert pitch.chroma_similarity(reference, estimate) == pytest.approx(1.0, abs=1e-9)
  # A quiet (-60 dB) A4 in the reference's second half is below the 40 dB threshold too: still ~1. Counted
  # (threshold 80 dB), its frames meet silence or E5 in the estimate and pull the mean down.
  quiet = np.concatenate([tone(A4), tone(A4, amplitude=5e-4)])
  assert pitch.chroma_similarity(quiet, estimate) > 0.999
  assert pitch.chroma_similarity(quiet, estimate, silence_db=80.0) < 0.7
  assert np.isnan(pitch.chroma_similarity(np.zeros(SR), tone(A4)))  # nothing to compare


def test_batched_matches_single():
  refs = np.stack([tone(A4), tone(E5)])
  ests = np.stack([tone(A4), tone(A4)])
  out = pitch.chroma_similarity(refs, ests)
  assert out.shape == (2,)
  np.testing.assert_allclose(out, [pitch.chroma_similarity(r, e) for r, e in zip(refs, ests)])
  assert isinstance(pitch.chroma_similarity(refs[0], ests[0]), float)


def test_shape_errors_name_the_shapes():
  with pytest.raises(ValueError, match=r"\(16000,\).*\(8000,\)"):
    pitch.chroma_similarity(tone(A4), tone(A4, seconds=0.5))
  with pytest.raises(ValueError, match=r"\(2, 3, 100\)"):
    pitch.chroma_similarity(np.zeros((2, 3, 100)), np.zeros((2, 3, 100)))
