"""Tests for genie_audio.eval.audio_metrics: hand-computed cases for mel, SI-SDR, LSD and the baselines."""

import numpy as np
import pytest

from genie_audio.eval import audio_metrics as am

SR = 16000


def _music_like(seconds: float = 1.0, seed: int = 0) -> np.ndarray:
  """A few harmonic tones (110 Hz and 165 Hz with overtones) under a decaying, re-struck envelope."""
  t = np.arange(int(seconds * SR)) / SR
  x = np.zeros_like(t)
  for f0 in (110.0, 165.0):
    for k in range(1, 6):
      x += np.sin(2 * np.pi * f0 * k * t + k) / k
  envelope = np.exp(-3.0 * (t % 0.25)) * (0.6 + 0.4 * np.sin(2 * np.pi * 2.0 * t) ** 2)
  x = 0.2 * x * envelope
  return x + 1e-3 * np.random.default_rng(seed).standard_normal(t.shape)


def test_slaney_mel_scale_anchor_points():
  # Slaney: 1 kHz is 15 mel (linear 200/3 Hz per mel below), round trip is exact.
  np.testing.assert_allclose(am.hz_to_mel([0.0, 1000.0, 200.0 / 3.0]), [0.0, 15.0, 1.0])
  hz = np.array([0.0, 50.0, 999.0, 1000.0, 4000.0, 8000.0])
  np.testing.assert_allclose(am.mel_to_hz(am.hz_to_mel(hz)), hz, atol=1e-9)


def test_mel_filterbank_rows_peak_at_increasing_frequencies():
  fb = am.mel_filterbank(SR, 2048, 40)
  assert fb.shape == (40, 1025)
  assert np.all(fb >= 0)
  peaks = np.argmax(fb, axis=1)
  assert np.all(np.diff(peaks) > 0)
  # Slaney norm: each triangle has area ~1 in Hz (exact up to bin sampling).
  np.testing.assert_allclose(fb.sum(axis=1) * SR / 2048, 1.0, rtol=0.05)


def test_mel_filterbank_pure_tone_lands_in_its_band():
  n_fft, n_mels, f = 1024, 40, 1000.0
  t = np.arange(SR) / SR
  mag = am.stft_magnitude(np.sin(2 * np.pi * f * t), n_fft, n_fft // 4)
  # Interior frames only: the reflect padding puts a kink (broadband leakage) in the edge frames.
  mel = mag[4:-4].mean(axis=0) @ am.mel_filterbank(SR, n_fft, n_mels).T
  band = int(np.argmax(mel))
  edges = am.mel_band_edges(SR, n_mels)
  assert edges[band] < f < edges[band + 2]
  # Bands far from the tone get almost nothing (Hann sidelobes only).
  assert mel[edges[2:] < 500.0].max() < 1e-3 * mel[band]
  assert mel[edges[:-2] > 2000.0].max() < 1e-3 * mel[band]


def test_stft_magnitude_shape_and_tone_amplitude():
  n_fft, hop = 512, 128
  t = np.arange(4000) / SR
  x = 0.5 * np.cos(2 * np.pi * 1000.0 * t)  # 1000 Hz = bin 32 exactly at n_fft 512.
  mag = am.stft_magnitude(x, n_fft, hop)
  assert mag.shape == (1 + 4000 // hop, n_fft // 2 + 1)
  # Periodic Hann sums to n_fft / 2, so a bin-centred tone of amplitude A peaks at A * n_fft / 4.
  np.testing.assert_allclose(mag[5:-5, 32], 0.5 * n_fft / 4, rtol=1e-6)
  assert am.stft_magnitude(np.stack([x, x]), n_fft, hop).shape == (2,) + mag.shape


def test_mel_distance_zero_for_identical_and_grows_with_noise():
  x = _music_like()
  assert am.multiscale_mel_distance(x, x) == 0.0
  noise = np.random.default_rng(1).standard_normal(x.shape)
  distances = [am.multiscale_mel_distance(x, x + s * noise) for s in (1e-3, 1e-2, 3e-2, 1e-1)]
  assert all(d > 0 for d in distances)
  assert np.all(np.diff(distances) > 0), distances
  y = x + 1e-2 * noise
  np.testing.assert_allclose(am.multiscale_mel_distance(x, y), am.multiscale_mel_distance(y, x), rtol=1e-12)
  np.testing.assert_allclose(am.multiscale_mel_distance(x, y, scale_reduction="mean"),
                             am.multiscale_mel_distance(x, y) / 7, rtol=1e-12)


def test_metrics_batch_over_leading_axis():
  x = np.stack([_music_like(0.5, seed=0), _music_like(0.5, seed=1)])
  y = x + np.array([[1e-3], [1e-1]]) * np.random.default_rng(2).standard_normal(x.shape)
  batched = am.evaluate_pair(x, y)
  for key, value in batched.items():
    assert value.shape == (2,), key
    for i in range(2):
      np.testing.assert_allclose(value[i], am.evaluate_pair(x[i], y[i])[key], rtol=1e-10)
  assert batched["mel_distance"][0] < batched["mel_distance"][1]


def test_si_sdr_hand_computed_cases():
  rng = np.random.default_rng(0)
  ref = rng.standard_normal(8000)
  ref -= ref.mean()
  assert am.si_sdr(ref, 2.0 * ref) > 100.0
  # Zero-mean noise orthogonal to ref with energy |ref|^2 / 100 -> exactly 20 dB.
  noise = rng.standard_normal(8000)
  noise -= noise.mean()
  noise -= (noise @ ref) / (ref @ ref) * ref
  noise *= np.sqrt((ref @ ref) / 100.0 / (noise @ noise))
  np.testing.assert_allclose(am.si_sdr(ref, ref + noise), 20.0, atol=0.01)
  # Scale invariant, sign included, and blind to a DC offset (both signals are zero-meaned).
  est = ref + 3.0 * noise
  np.testing.assert_allclose(am.si_sdr(ref, -est), am.si_sdr(ref, est), atol=1e-9)
  np.testing.assert_allclose(am.si_sdr(ref, 0.1 * est + 5.0), am.si_sdr(ref, est), atol=1e-9)
  assert np.isfinite(am.si_sdr(np.zeros(100), np.zeros(100)))


def test_lsd_zero_for_identical_and_exact_for_gain():
  x = np.random.default_rng(0).standard_normal(SR)
  assert am.log_spectral_distance(x, x) == 0.0
  for g in (0.5, 2.0, 10.0):
    np.testing.assert_allclose(am.log_spectral_distance(x, g * x), abs(20 * np.log10(g)), rtol=1e-9)


def test_lowpass_baseline_keeps_slow_component_and_removes_tone():
  t = np.arange(SR) / SR
  slow = np.sin(2 * np.pi * 10.0 * t)
  tone = 0.5 * np.sin(2 * np.pi * 1000.0 * t)
  out = am.lowpass_baseline(slow + tone, cutoff_hz=25.0, sample_rate=SR)
  np.testing.assert_allclose(out, slow, atol=1e-9)
  out = am.lowpass_baseline(np.stack([tone, slow]), cutoff_hz=25.0)
  assert np.max(np.abs(out[0])) < 1e-9
  np.testing.assert_allclose(out[1], slow, atol=1e-9)


def test_baselines_score_worse_than_light_noise():
  x = _music_like()
  noisy = am.evaluate_pair(x, x + 3e-3 * np.random.default_rng(3).standard_normal(x.shape))
  base = am.baseline_metrics(x, frame_rate=50)
  assert set(base) == {"silence", "lowpass"}
  for name, metrics in base.items():
    assert set(metrics) == set(noisy)
    assert all(np.isfinite(v) for v in metrics.values()), (name, metrics)
    assert metrics["mel_distance"] > noisy["mel_distance"], name
    assert metrics["lsd"] > noisy["lsd"], name
    assert metrics["si_sdr"] < noisy["si_sdr"], name
  silence = am.silence_baseline(x)
  np.testing.assert_array_equal(silence, am.silence_baseline(x))  # fixed seed
  assert silence.shape == x.shape and np.std(silence) < 2e-5


@pytest.mark.parametrize("fn", [am.multiscale_mel_distance, am.si_sdr, am.log_spectral_distance,
                                am.evaluate_pair])
def test_shape_mismatch_names_both_shapes(fn):
  with pytest.raises(ValueError, match=r"\(100,\).*\(99,\)"):
    fn(np.zeros(100), np.zeros(99))
  with pytest.raises(ValueError, match=r"\(2, 100\).*\(100,\)"):
    fn(np.zeros((2, 100)), np.zeros(100))


def test_band_spectral_distances_put_the_error_in_its_band():
  x = _music_like()
  high = am.lowpass_baseline(np.random.default_rng(5).standard_normal(x.shape), cutoff_hz=7000.0)
  high -= am.lowpass_baseline(high, cutoff_hz=4500.0)  # noise between 4.5 and 7 kHz only
  bands = am.band_spectral_distances(x, x + 0.3 * np.std(x) * high / np.std(high))
  assert set(bands) == {"lsd_0k_1k", "lsd_1k_2k", "lsd_2k_4k", "lsd_4k_8k"}
  assert bands["lsd_4k_8k"] > 5.0 and max(bands["lsd_0k_1k"], bands["lsd_1k_2k"]) < 0.5, bands
  for g in (0.5, 2.0):  # a gain is the same error in every band
    for value in am.band_spectral_distances(x, g * x).values():
      np.testing.assert_allclose(value, abs(20 * np.log10(g)), rtol=1e-9)


def test_line_correlations_tell_partials_from_noise_under_the_same_envelope():
  rng = np.random.default_rng(3)
  t = np.arange(2 * SR) / SR
  tone = sum(np.sin(2 * np.pi * k * 220.0 * t + rng.uniform(0, 2 * np.pi)) / k for k in range(1, 36))
  tone += 1e-3 * rng.standard_normal(len(t))
  # Noise under the tone's envelope (partial k at 1 / k: 1 / f), random phases.
  hz = np.fft.rfftfreq(len(t), 1 / SR)
  noise = np.fft.irfft(np.exp(2j * np.pi * rng.random(len(hz))) / np.maximum(hz, 220.0), len(t))
  assert set(am.band_line_correlations(tone, tone)) == {"lines_0k_1k", "lines_1k_2k", "lines_2k_4k", "lines_4k_8k"}
  for value in am.band_line_correlations(tone, 0.3 * tone).values():
    assert value == pytest.approx(1.0)
  for value in am.band_line_correlations(tone, noise).values():
    assert abs(value) < 0.1
  # The partials a semitone off: the lines are there, in the wrong places.
  shifted = sum(np.sin(2 * np.pi * k * 233.1 * t) / k for k in range(1, 34))
  assert am.band_line_correlations(tone, shifted)["lines_2k_4k"] < 0.3
  pair = am.evaluate_pair(tone, tone)
  assert pair["lines_2k_4k"] == pytest.approx(1.0)
