"""An invertible short-time Fourier representation of the waveform for the tokenizer, as pure jnp functions.

Frames: Hann window of n_fft = 4 * hop samples, hop `hop`, the signal zero-padded by (n_fft - hop) / 2 on each
side, so a waveform of T samples (T a multiple of hop) gives exactly T / hop frames, frame k centred on the
middle of samples [k hop, (k + 1) hop). Zero padding (not reflection) keeps every frame a function of the
samples it covers, so chunked encoding stays exact. `istft` is the least-squares inverse (windowed
overlap-add divided by the summed squared window): exact for any STFT of a signal, and the closest signal
for an array of coefficients that is not one (what a generative decoder may produce).

The flow runs on compressed coefficients (`compress`): c = |X|^power e^(i phase), stored as real and
imaginary parts side by side, (B, N, 2F) with F = n_fft / 2 + 1. Compression (power 0.5, as Music2Latent
does) lifts quiet partials and upper harmonics towards the level of the loud low ones, so the MSE of the
flow objective does not spend itself on the few loudest bins.

Dimension keys: B batch, T samples, N frames, W window samples (n_fft), F frequency bins.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from genie_audio.models import axes

OVERLAP = 4  # n_fft / hop


def n_fft(hop: int) -> int:
  return OVERLAP * hop


def num_bins(hop: int) -> int:
  """F: frequency bins of a real FFT of n_fft(hop) samples."""
  return n_fft(hop) // 2 + 1


def _window(hop: int) -> jax.Array:
  n = np.arange(n_fft(hop))
  return jnp.asarray(0.5 - 0.5 * np.cos(2.0 * np.pi * n / n_fft(hop)), jnp.float32)  # periodic Hann


def _check(T: int, hop: int) -> None:
  if hop % 2 or T % hop:
    raise ValueError(f"stft: need an even hop that divides the length; got hop {hop}, {T} samples")


def stft(wave_BT: jax.Array, hop: int) -> jax.Array:
  """(B, T) real -> (B, T / hop, F) complex64."""
  return axes.per_example(functools.partial(_stft, hop=hop))(wave_BT)  # XLA gathers an FFT's whole batch


def _stft(wave_BT: jax.Array, hop: int) -> jax.Array:
  B, T = wave_BT.shape
  _check(T, hop)
  W = n_fft(hop)
  pad = (W - hop) // 2
  padded = jnp.pad(wave_BT.astype(jnp.float32), ((0, 0), (pad, pad)))
  idx = hop * np.arange(T // hop)[:, None] + np.arange(W)[None, :]  # (N, W) gather indices
  frames_BNW = padded[:, idx] * _window(hop)
  return jnp.fft.rfft(frames_BNW, axis=-1)


def istft(spec_BNF: jax.Array, hop: int) -> jax.Array:
  """(B, N, F) complex -> (B, N * hop) real, the least-squares inverse of `stft`."""
  return axes.per_example(functools.partial(_istft, hop=hop))(spec_BNF)


def _istft(spec_BNF: jax.Array, hop: int) -> jax.Array:
  B, N, F = spec_BNF.shape
  W = n_fft(hop)
  if F != num_bins(hop):
    raise ValueError(f"istft: {F} bins, expected {num_bins(hop)} for hop {hop}")
  window = _window(hop)
  frames_BNW = jnp.fft.irfft(spec_BNF, n=W, axis=-1).astype(jnp.float32) * window
  # Overlap-add as OVERLAP shifted sums: frame k lands at [k hop, k hop + W) of the padded signal.
  chunks_BNOH = frames_BNW.reshape(B, N, OVERLAP, hop)
  out_BMH = jnp.zeros((B, N + OVERLAP - 1, hop), jnp.float32)
  norm_MH = jnp.zeros((N + OVERLAP - 1, hop), jnp.float32)
  win_OH = (window ** 2).reshape(OVERLAP, hop)
  for o in range(OVERLAP):
    out_BMH = out_BMH.at[:, o:o + N].add(chunks_BNOH[:, :, o])
    norm_MH = norm_MH.at[o:o + N].add(win_OH[o])
  pad = (W - hop) // 2
  out_BT = (out_BMH / norm_MH).reshape(B, -1)
  return out_BT[:, pad:pad + N * hop]


def compress(spec_BNF: jax.Array, power: float) -> jax.Array:
  """Complex (B, N, F) -> real (B, N, 2F): |X|^power e^(i phase), real parts then imaginary parts."""
  mag = jnp.abs(spec_BNF)
  scale = jnp.where(mag > 0, mag ** (power - 1.0), 0.0)  # |X|^(p-1) X = |X|^p e^(i phase)
  c = spec_BNF * scale
  return jnp.concatenate([c.real, c.imag], axis=-1).astype(jnp.float32)


def decompress(x_BN2F: jax.Array, power: float) -> jax.Array:
  """Inverse of `compress`: real (B, N, 2F) -> complex (B, N, F)."""
  re, im = jnp.split(x_BN2F.astype(jnp.float32), 2, axis=-1)
  c = re + 1j * im
  mag = jnp.abs(c)
  return c * jnp.where(mag > 0, mag ** (1.0 / power - 1.0), 0.0)


def log_magnitude(spec_BNF: jax.Array, floor: float = 1e-4) -> jax.Array:
  """Encoder features: log(|X| + floor), (B, N, F) real."""
  return jnp.log(jnp.abs(spec_BNF) + floor)


def band_profile(band_values: tuple[float, ...] | np.ndarray, hop: int) -> np.ndarray:
  """Per-band values (equal-width bands from 0 Hz to Nyquist) -> (F,) per-bin values, linear between band
  centres and constant beyond the outer ones."""
  values = np.asarray(band_values, np.float64)
  F = num_bins(hop)
  centres = (np.arange(len(values)) + 0.5) / len(values) * (F - 1)
  return np.interp(np.arange(F), centres, values)


def coefficient_profile(band_values: tuple[float, ...] | np.ndarray, hop: int) -> np.ndarray:
  """`band_profile` for the flow's coefficients (2F,): real parts, then imaginary parts, alike."""
  return np.tile(band_profile(band_values, hop), 2)


def band_rms(coefficients_BN2F: np.ndarray, num_bands: int) -> np.ndarray:
  """(num_bands,) RMS of compressed coefficients (real and imaginary parts alike) in equal-width frequency
  bands from 0 Hz to Nyquist, the inverse of `band_profile`'s layout."""
  x = np.asarray(coefficients_BN2F, np.float64)
  F = x.shape[-1] // 2
  power_F = (np.square(x[..., :F]) + np.square(x[..., F:])).reshape(-1, F).mean(axis=0) / 2
  edges = np.linspace(0, F, num_bands + 1).round().astype(int)
  return np.sqrt(np.array([power_F[a:b].mean() for a, b in zip(edges[:-1], edges[1:])]))
