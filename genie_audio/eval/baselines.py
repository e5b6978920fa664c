"""Baseline estimates a tokenizer's reconstruction must beat, from trivial to a real codec.

- silence and low-pass (`audio_metrics.silence_baseline`, `audio_metrics.lowpass_baseline`): no content / the
  slow waveform trend a latent at the frame rate could carry if it tracked the samples.
- envelope vocoder: the strongest simple baseline *without pitch*: the band energies of the reference, as many
  numbers per second as the latent holds (frame_rate x latent_dim), resynthesised with random phase. It keeps
  loudness and spectral envelope, so it scores well on mel distance and LSD while the notes are gone (unless the
  bands are narrow enough to resolve them): a tokenizer whose chroma scores are no better has not learnt pitch.
- held-power noise (`held_power_noise`): each STFT bin's power held for one latent frame under random phase, the
  ceiling of a decoder that predicts only per-bin power (the tokenizer's envelope skip path); it keeps the notes only
  where the bins resolve semitones (`experiments/stft_resolution.py`).
- Opus at the latent's bitrate (8 bits per latent value): a codec at a comparable budget.

All work on mono numpy waveforms (T,) or (B, T) and return an estimate of the same shape (float64).
"""

from __future__ import annotations

import math
import os
import shutil
import subprocess
import tempfile

import jax.numpy as jnp
import numpy as np
import soundfile as sf

from genie_audio.eval import audio_metrics
from genie_audio.models import spectral

DEFAULT_SAMPLE_RATE = audio_metrics.DEFAULT_SAMPLE_RATE
VOCODER_SEED = 0
OPUS_MIN_KBPS, OPUS_MAX_KBPS = 6.0, 256.0
BITS_PER_LATENT_VALUE = 8


class CodecUnavailable(RuntimeError):
  """A codec's command-line tools are not installed."""


# ---------------------------------------------------------------------------------------------------------------
# Envelope vocoder.
# ---------------------------------------------------------------------------------------------------------------


def vocoder_frame(sample_rate: int, frame_rate: float) -> tuple[int, int]:
  """(hop, n_fft): hop = one latent frame (sample_rate / frame_rate), n_fft = 2 * hop up to a power of two."""
  hop = int(round(sample_rate / frame_rate))
  if hop < 1:
    raise ValueError(f"frame_rate {frame_rate} is above the sample rate {sample_rate}")
  return hop, max(4, 1 << math.ceil(math.log2(2 * hop)))


def band_matrices(sample_rate: int, n_fft: int, bands: int) -> tuple[np.ndarray, np.ndarray]:
  """(average (bands, bins), interpolate (bins, bands)) for `bands` equal-width bands on the Slaney mel scale.

  `average` takes the mean over each band's bins (a band with no bin, possible when bands are narrower than a
  bin, gets an all-zero row); `interpolate` spreads band values back to every bin, linearly in mel between the
  centres of the non-empty bands and held constant beyond the outer ones.
  """
  if bands < 1:
    raise ValueError(f"bands must be >= 1, got {bands}")
  mel = audio_metrics.hz_to_mel(np.fft.rfftfreq(n_fft, d=1.0 / sample_rate))
  band = np.minimum((mel / mel[-1] * bands).astype(np.int64), bands - 1)  # the Nyquist bin joins the last band
  member = (band[None, :] == np.arange(bands)[:, None]).astype(np.float64)
  counts = member.sum(axis=1)
  average = member / np.maximum(counts, 1.0)[:, None]
  filled = np.flatnonzero(counts)
  centres = (member @ mel)[filled] / counts[filled]
  interpolate = np.zeros((mel.size, bands))
  for j, k in enumerate(filled):
    interpolate[:, k] = np.interp(mel, centres, np.eye(filled.size)[j])
  return average, interpolate


def envelope_vocoder(reference: np.ndarray, frame_rate: float, bands: int,
                     sample_rate: int = DEFAULT_SAMPLE_RATE, seed: int = VOCODER_SEED) -> np.ndarray:
  """Band-energy envelope of the reference (frame_rate x bands values per second) resynthesised from noise.

  STFT (Hann, centre padding, hop = sample_rate / frame_rate), RMS magnitude within `bands` mel-spaced bands per
  frame, band power interpolated back to every bin (each frame's total power kept), random phase from `seed`,
  inverse STFT by windowed overlap-add. Frames of random phase add incoherently, so the sum is normalised by the
  square root of the summed squared windows (times the window's RMS): the output power spectrum matches the
  reference's in expectation. Same shape as the reference; deterministic for a given seed.

  Pitch survives only as far as the bands resolve it: with few bands (16 at 50 frames/s) they span several
  semitones each and notes are gone; with many (64 at 8 frames/s) the low bands are about two semitones wide
  and a single tone keeps part of its pitch class.
  """
  ref = np.asarray(reference, dtype=np.float64)
  if ref.ndim not in (1, 2) or ref.shape[-1] == 0:
    raise ValueError(f"expected mono waveforms of shape (T,) or (B, T), got {ref.shape}")
  hop, n_fft = vocoder_frame(sample_rate, frame_rate)
  length = ref.shape[-1]
  average, interpolate = band_matrices(sample_rate, n_fft, bands)
  power = audio_metrics.stft_magnitude(ref, n_fft, hop) ** 2          # (..., frames, bins)
  band_rms = np.sqrt(power @ average.T)                              # (..., frames, bands): what is kept
  envelope = np.sqrt(band_rms ** 2 @ interpolate.T)
  # Linear interpolation spreads a band's power over its neighbours; one gain per frame restores the total
  # (the sum of the band powers times their bin counts, so still only the band values are used).
  envelope *= np.sqrt(power.sum(-1, keepdims=True) / np.maximum((envelope ** 2).sum(-1, keepdims=True), 1e-30))
  # One phase pattern for every row, so a row's output does not depend on the batch it came in.
  phase = np.random.default_rng(seed).uniform(0.0, 2.0 * np.pi, envelope.shape[-2:])
  window = audio_metrics.hann_window(n_fft)
  frames = np.fft.irfft(envelope * np.exp(1j * phase), n=n_fft, axis=-1) * window
  # Overlap-add: frame k starts at k * hop in the centre-padded signal.
  num_frames = frames.shape[-2]
  padded = np.zeros(ref.shape[:-1] + ((num_frames - 1) * hop + n_fft,))
  window_power = np.zeros(padded.shape[-1])
  for k in range(num_frames):
    padded[..., k * hop:k * hop + n_fft] += frames[..., k, :]
    window_power[k * hop:k * hop + n_fft] += window ** 2
  out = padded / (np.sqrt(np.maximum(window_power, 1e-12)) * np.sqrt(np.mean(window ** 2)))
  return out[..., n_fft // 2:n_fft // 2 + length]


# ---------------------------------------------------------------------------------------------------------------
# Opus.
# ---------------------------------------------------------------------------------------------------------------


def opus_available() -> bool:
  return shutil.which("opusenc") is not None and shutil.which("opusdec") is not None


def opus_bitrate_kbps(bitrate_kbps: float) -> float:
  """The bitrate Opus will really use: clamped to its range [6, 256] kbit/s (mono)."""
  return float(min(max(bitrate_kbps, OPUS_MIN_KBPS), OPUS_MAX_KBPS))


def _opus_one(wave: np.ndarray, kbps: float, sample_rate: int, folder: str) -> np.ndarray:
  src, coded, out = (os.path.join(folder, name) for name in ("in.wav", "coded.opus", "out.wav"))
  sf.write(src, wave.astype(np.float32), sample_rate, subtype="FLOAT")
  for command in (["opusenc", "--quiet", "--bitrate", f"{kbps:g}", src, coded],
                  ["opusdec", "--quiet", "--rate", str(sample_rate), "--float", coded, out]):
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
      raise RuntimeError(f"{' '.join(command)} failed ({result.returncode}): {result.stderr.strip()[-500:]}")
  decoded, _ = sf.read(out, dtype="float64", always_2d=True)
  decoded = decoded[:, 0]
  # opusdec already drops the encoder's pre-skip; only the last packet's padding can make lengths differ.
  if decoded.size >= wave.size:
    return decoded[:wave.size]
  return np.pad(decoded, (0, wave.size - decoded.size))


def opus_roundtrip(reference: np.ndarray, bitrate_kbps: float, sample_rate: int = DEFAULT_SAMPLE_RATE
                   ) -> tuple[np.ndarray, float]:
  """(decoded, used_kbps): the reference through `opusenc --bitrate` and `opusdec --rate`, same shape.

  The bitrate is clamped to Opus's range (6 kbit/s minimum); `used_kbps` is what was asked of the encoder.
  Raises CodecUnavailable when opusenc / opusdec are not installed.
  """
  if not opus_available():
    raise CodecUnavailable("the Opus baseline needs opusenc and opusdec: install the Debian package opus-tools "
                           "(apt-get install opus-tools, or run launch/setup.sh)")
  ref = np.asarray(reference, dtype=np.float64)
  if ref.ndim not in (1, 2) or ref.shape[-1] == 0:
    raise ValueError(f"expected mono waveforms of shape (T,) or (B, T), got {ref.shape}")
  kbps = opus_bitrate_kbps(bitrate_kbps)
  with tempfile.TemporaryDirectory(prefix="opus_baseline_") as folder:
    decoded = np.stack([_opus_one(row, kbps, sample_rate, folder) for row in ref.reshape(-1, ref.shape[-1])])
  return decoded.reshape(ref.shape), kbps


# ---------------------------------------------------------------------------------------------------------------
# All baselines for a tokenizer.
# ---------------------------------------------------------------------------------------------------------------


def latent_bitrate_kbps(frame_rate: float, latent_dim: int, bits_per_value: int = BITS_PER_LATENT_VALUE) -> float:
  """What the continuous latent would cost if each value were quantised to `bits_per_value` bits (kbit/s)."""
  return frame_rate * latent_dim * bits_per_value / 1000.0


def baseline_notes(frame_rate: float, latent_dim: int) -> list[str]:
  """Why a baseline is missing or differs from its nominal setting (empty when nothing to say)."""
  latent_kbps = latent_bitrate_kbps(frame_rate, latent_dim)
  if not opus_available():
    return ["no opus baseline: opusenc/opusdec not found; install the Debian package opus-tools"]
  if opus_bitrate_kbps(latent_kbps) != latent_kbps:
    return [f"opus baseline at {opus_bitrate_kbps(latent_kbps):g} kbit/s, Opus's limit, not the latent's "
            f"{latent_kbps:g} kbit/s"]
  return []


def baseline_estimates(reference: np.ndarray, frame_rate: float, latent_dim: int,
                       sample_rate: int = DEFAULT_SAMPLE_RATE) -> dict[str, np.ndarray | None]:
  """{silence, lowpass, envelope_vocoder, opus}: estimates of the reference for a latent of `latent_dim`
  channels at `frame_rate`; opus is None when opus-tools are missing (`baseline_notes` says so)."""
  opus = None
  if opus_available():
    opus, _ = opus_roundtrip(reference, latent_bitrate_kbps(frame_rate, latent_dim), sample_rate)
  return {
      "silence": audio_metrics.silence_baseline(reference),
      "lowpass": audio_metrics.lowpass_baseline(reference, frame_rate / 2.0, sample_rate=sample_rate),
      "envelope_vocoder": envelope_vocoder(reference, frame_rate, latent_dim, sample_rate=sample_rate),
      "opus": opus,
  }


def held_power_noise(wave: np.ndarray, hop: int, frames_per_latent: int, rng: np.random.Generator) -> np.ndarray:
  """`wave` (T,) resynthesised from random phases with its own STFT power per bin, averaged over each group of
  `frames_per_latent` frames (the last, shorter group over what it has)."""
  T = len(wave) // hop * hop
  spec = np.asarray(spectral.stft(jnp.asarray(wave[None, :T], jnp.float32), hop))[0]  # (N, F) complex
  power = np.abs(spec) ** 2
  groups = np.arange(len(power)) // frames_per_latent
  held = np.stack([power[groups == g].mean(0) for g in groups])
  noise = np.sqrt(held) * np.exp(1j * rng.uniform(0.0, 2.0 * np.pi, held.shape))
  out = np.asarray(spectral.istft(jnp.asarray(noise[None], jnp.complex64), hop))[0]
  return np.pad(out, (0, len(wave) - len(out)))
