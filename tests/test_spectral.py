"""The tokenizer's STFT representation: exact inversion, frame layout, compression round trip."""

import jax.numpy as jnp
import numpy as np
import pytest

from genie_audio.models import spectral


def test_istft_inverts_stft_exactly_with_one_frame_per_hop():
  x = np.random.default_rng(0).standard_normal((2, 1600)).astype(np.float32)
  spec = spectral.stft(jnp.asarray(x), 160)
  assert spec.shape == (2, 10, spectral.num_bins(160)) == (2, 10, 321)
  np.testing.assert_allclose(spectral.istft(spec, 160), x, atol=1e-5)


def test_a_tone_peaks_in_its_bin_and_frames_are_local():
  hop, sr = 160, 16000
  n = np.arange(3200)
  tone = np.sin(2 * np.pi * 1000.0 * n / sr).astype(np.float32)  # 1 kHz = bin 40 of a 640-point FFT
  mag = np.abs(np.asarray(spectral.stft(jnp.asarray(tone)[None], hop)))[0]
  assert np.all(mag[2:-2].argmax(axis=-1) == 40)
  # Zero padding, no reflection: frame k sees only samples [k hop - 1.5 hop, k hop + 2.5 hop).
  impulse = np.zeros(3200, np.float32)
  impulse[1600] = 1.0
  energy = np.abs(np.asarray(spectral.stft(jnp.asarray(impulse)[None], hop)))[0].sum(axis=-1)
  assert set(np.flatnonzero(energy > 1e-6)) <= {8, 9, 10, 11}


def test_compression_round_trip_and_scaling():
  spec = spectral.stft(jnp.asarray(np.random.default_rng(1).standard_normal((1, 640)), jnp.float32), 32)
  c = spectral.compress(spec, 0.5)
  assert c.shape == (1, 20, 2 * spectral.num_bins(32))
  np.testing.assert_allclose(np.abs(spectral.decompress(c, 0.5) - spec), 0.0, atol=1e-4)
  # |c| = |X|^0.5 bin by bin: a 4x louder signal gives 2x larger coefficients.
  np.testing.assert_allclose(spectral.compress(4.0 * spec, 0.5), 2.0 * c, rtol=1e-5)
  zeros = spectral.compress(jnp.zeros_like(spec), 0.5)
  assert np.all(np.isfinite(zeros)) and not np.any(zeros)


def test_errors_name_the_problem():
  with pytest.raises(ValueError, match="even hop that divides"):
    spectral.stft(jnp.zeros((1, 1000)), 160)
  with pytest.raises(ValueError, match="321 for hop 160"):
    spectral.istft(jnp.zeros((1, 4, 100), jnp.complex64), 160)
