"""Tests for genie_audio.eval.baselines: the envelope vocoder keeps the envelope and drops pitch, the Opus
round trip (skipped without opus-tools), bitrates and the dict of all baselines."""

import numpy as np
import pytest

from genie_audio.eval import audio_metrics, baselines, pitch, reconstruction

SR = 16000
HAVE_OPUS = baselines.opus_available()
needs_opus = pytest.mark.skipif(not HAVE_OPUS, reason="opusenc/opusdec not installed (Debian package opus-tools)")


def tone(hz: float = 440.0, seconds: float = 1.0) -> np.ndarray:
  return 0.5 * np.sin(2 * np.pi * hz * np.arange(int(seconds * SR)) / SR)


def coloured_noise(seconds: float = 1.0, seed: int = 0) -> np.ndarray:
  """Noise with a falling spectrum and a loudness swell: an envelope for the vocoder to follow."""
  white = np.random.default_rng(seed).standard_normal(int(seconds * SR))
  spectrum = np.fft.rfft(white) / (1.0 + np.fft.rfftfreq(white.size, 1 / SR) / 500.0)
  return 0.1 * np.fft.irfft(spectrum, n=white.size) * np.linspace(0.2, 1.0, white.size)


def test_vocoder_frame_sizes():
  assert baselines.vocoder_frame(SR, 50) == (320, 1024)
  assert baselines.vocoder_frame(SR, 8) == (2000, 4096)


def test_band_matrices_average_and_spread_back():
  average, interpolate = baselines.band_matrices(SR, 1024, 16)
  assert average.shape == (16, 513) and interpolate.shape == (513, 16)
  np.testing.assert_allclose(average.sum(axis=1), 1.0)  # a mean over each band's bins
  np.testing.assert_allclose(interpolate.sum(axis=1), 1.0)  # a constant envelope stays constant
  # More bands than bins at the bottom: empty bands are skipped, every bin still gets a value.
  average, interpolate = baselines.band_matrices(SR, 64, 40)
  assert np.any(average.sum(axis=1) == 0) and np.allclose(interpolate.sum(axis=1), 1.0)


def test_envelope_vocoder_keeps_envelope_of_noise():
  x = coloured_noise()
  out = baselines.envelope_vocoder(x, frame_rate=50, bands=16)
  assert out.shape == x.shape
  assert np.std(out) == pytest.approx(np.std(x), rel=0.1)  # loudness kept
  other_noise = coloured_noise(seed=1)  # same envelope, other samples: the best a pitchless estimate can do
  mel = audio_metrics.multiscale_mel_distance(x, out)
  assert mel < 1.2 * audio_metrics.multiscale_mel_distance(x, other_noise)
  assert mel < 0.2 * audio_metrics.multiscale_mel_distance(x, audio_metrics.silence_baseline(x))


def test_envelope_vocoder_loses_pitch():
  out = baselines.envelope_vocoder(tone(), frame_rate=50, bands=16)
  assert pitch.chroma_similarity(tone(), out) < 0.5
  assert np.std(out) == pytest.approx(np.std(tone()), rel=0.1)


def test_envelope_vocoder_is_deterministic_and_batches():
  x = np.stack([coloured_noise(), tone()])
  out = baselines.envelope_vocoder(x, frame_rate=8, bands=20)
  assert out.shape == (2, SR)
  np.testing.assert_array_equal(out, baselines.envelope_vocoder(x, frame_rate=8, bands=20))
  np.testing.assert_allclose(out[1], baselines.envelope_vocoder(x[1], frame_rate=8, bands=20))  # row alone
  assert not np.allclose(out, baselines.envelope_vocoder(x, frame_rate=8, bands=20, seed=1))
  with pytest.raises(ValueError, match=r"\(1, 2, 3\)"):
    baselines.envelope_vocoder(np.zeros((1, 2, 3)), 50, 16)


def test_latent_bitrate_and_opus_clamp():
  assert baselines.latent_bitrate_kbps(50, 16) == pytest.approx(6.4)
  assert baselines.latent_bitrate_kbps(8, 20, bits_per_value=4) == pytest.approx(0.64)
  assert baselines.opus_bitrate_kbps(0.64) == 6.0 and baselines.opus_bitrate_kbps(12) == 12.0


def test_opus_missing_raises_codec_unavailable(monkeypatch):
  monkeypatch.setattr(baselines.shutil, "which", lambda name: None)
  with pytest.raises(baselines.CodecUnavailable, match="opus-tools"):
    baselines.opus_roundtrip(tone(), 12)
  assert issubclass(baselines.CodecUnavailable, RuntimeError)
  estimates = baselines.baseline_estimates(tone(0.25), frame_rate=50, latent_dim=16)
  assert estimates["opus"] is None
  assert any("opus-tools" in note for note in baselines.baseline_notes(50, 16))
  assert set(reconstruction.baseline_metrics(tone(0.25), 50, 16)) == {"silence", "lowpass", "envelope_vocoder"}


@needs_opus
def test_opus_roundtrip_keeps_the_note():
  decoded, kbps = baselines.opus_roundtrip(tone(), 12)
  assert kbps == 12.0 and decoded.shape == (SR,)
  assert pitch.chroma_similarity(tone(), decoded) > 0.9
  batch, kbps = baselines.opus_roundtrip(np.stack([tone(), tone(660.0)])[:, :12345], 2)
  assert kbps == 6.0 and batch.shape == (2, 12345)  # clamped to Opus's minimum; any length


@needs_opus
def test_baseline_metrics_has_every_baseline_and_chroma():
  x = np.stack([tone(), coloured_noise()])
  metrics = reconstruction.baseline_metrics(x, frame_rate=50, latent_dim=16)
  assert set(metrics) == {"silence", "lowpass", "envelope_vocoder", "opus"}
  assert all(set(m) == set(reconstruction.METRICS) for m in metrics.values())
  assert metrics["opus"]["chroma_similarity"] > metrics["envelope_vocoder"]["chroma_similarity"]
  assert metrics["envelope_vocoder"]["mel_distance"] < metrics["lowpass"]["mel_distance"]
  assert baselines.baseline_notes(50, 16) == []
  assert "6 kbit/s" in baselines.baseline_notes(8, 20)[0]  # 1.28 kbit/s is below Opus's minimum


def test_held_power_keeps_a_low_tone_only_in_narrow_bins():
  """A2 (110 Hz) as noise with its own power per bin: bins of 4 Hz (hop 1000) keep its pitch class, bins of
  20 Hz (hop 200) spread it over the semitones either side."""
  tone = 0.1 * np.sin(2 * np.pi * 110.0 * np.arange(32000) / 16000)
  rng = np.random.default_rng(0)
  narrow, wide = (pitch.chroma_similarity(tone, baselines.held_power_noise(tone, hop, 2000 // hop, rng))
                  for hop in (1000, 200))
  assert narrow > 0.65 and wide < 0.5, (narrow, wide)  # 0.73 and 0.39 with this seed
