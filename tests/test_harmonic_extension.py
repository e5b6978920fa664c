"""The decoder's harmonic extension: an octave up in the STFT, and the bands above a crossover re-written from
below at their own level."""

import jax.numpy as jnp
import numpy as np
import pytest

from genie_audio.eval import harmonic_extension
from genie_audio.models import spectral

SR, HOP = 16000, 160
BIN_HZ = SR / spectral.n_fft(HOP)  # 25 Hz


def _stft(wave):
  return spectral.stft(jnp.asarray(wave, jnp.float32)[None], HOP)


def _peak_hz(wave):
  spectrum = np.abs(np.fft.rfft(wave * np.hanning(len(wave))))
  return np.argmax(spectrum) * SR / len(wave)


def test_an_octave_up_doubles_a_tone_between_bins():
  t = np.arange(SR) / SR
  tone = np.sin(2 * np.pi * 1012.5 * t)  # half-way between two bins
  up = np.asarray(spectral.istft(harmonic_extension.octave_up(_stft(tone)), HOP))[0]
  assert abs(_peak_hz(up[2000:-2000]) - 2025.0) < 3.0


def _harmonic_tone_over_noise(f0=200.0, top_hz=2000.0, noise_level=0.05, seconds=2.0):
  t = np.arange(int(SR * seconds)) / SR
  tone = sum(np.sin(2 * np.pi * k * f0 * t + k) / k for k in range(1, int(top_hz / f0)))
  noise = np.fft.irfft(np.fft.rfft(np.random.default_rng(0).standard_normal(len(t))) *
                       (np.fft.rfftfreq(len(t), 1 / SR) >= top_hz), len(t))
  return tone + noise_level * noise / noise.std()


def test_the_extension_writes_partials_above_the_crossover_at_the_bands_own_level():
  wave = _harmonic_tone_over_noise()
  spec = _stft(wave)
  c = harmonic_extension.bin_at(2000.0, HOP)
  out = harmonic_extension.extend(spec, c, 5)
  np.testing.assert_array_equal(np.asarray(out)[..., :c], np.asarray(spec)[..., :c])
  power_in, power_out = np.abs(np.asarray(spec)[0, 5:-5]) ** 2, np.abs(np.asarray(out)[0, 5:-5]) ** 2
  bands = harmonic_extension.band_matrix(spec.shape[-1], c, 5)
  np.testing.assert_allclose(power_out @ bands, power_in @ bands, rtol=1e-3)
  # The noise above 2 kHz is now lines: in the audio, 2-4 kHz's power gathers within a bin of the partials of
  # 200 Hz (each line twice as wide in bins as the partial it came from, so not all of it).
  heard = _stft(harmonic_extension.extend_wave(wave[None], 2000.0, 125.0)[0])
  hz = np.arange(spec.shape[-1]) * BIN_HZ
  near_partial = (np.abs((hz + 100) % 200 - 100) <= BIN_HZ) & (hz >= 2000) & (hz < 4000)
  in_band = (hz >= 2000) & (hz < 4000)
  share = lambda p: p[:, near_partial].sum() / p[:, in_band].sum()
  assert share(power_in) < 0.45  # 3 bins of every 8
  assert share(np.abs(np.asarray(heard)[0, 5:-5]) ** 2) > 0.6


def test_a_silent_source_octave_keeps_the_decoders_band():
  noise = np.random.default_rng(1).standard_normal(SR)
  upper_only = np.fft.irfft(np.fft.rfft(noise) * (np.fft.rfftfreq(SR, 1 / SR) >= 2000), SR)
  spec = _stft(upper_only)
  out = harmonic_extension.extend(spec, 80, 5)
  hz = np.arange(spec.shape[-1]) * BIN_HZ
  kept = (hz >= 2200) & (hz < 3800)  # its source, 1100-1900 Hz, is empty: the input stays
  # (Away from the signal's abrupt ends, whose frames leak into every bin.)
  np.testing.assert_allclose(np.asarray(out)[:, 5:-5, kept], np.asarray(spec)[:, 5:-5, kept])
  assert np.all(np.isfinite(np.asarray(out)))


def test_errors_name_the_value():
  spec = _stft(np.zeros(1600))
  with pytest.raises(ValueError, match="crossover bin 400 outside"):
    harmonic_extension.extend(spec, 400, 5)
  with pytest.raises(ValueError, match="band_bins must be >= 1, got 0"):
    harmonic_extension.extend(spec, 80, 0)
