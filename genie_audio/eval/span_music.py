"""Does an edited span carry music? Pitch measures of the audio an edit writes, against its original span.

An edit that writes noise under the music's loudness envelope can still follow the requested loudness moves,
and a LAM that reads those moves calls it followed; these measures look at the notes instead, on the audio:

  tonality  mean over the span's loud frames of 1 - H(p) / log 12, p the frame's 12-bin chroma as a
            distribution: 1 for a single pitch class, 0 for flat (pitchless) energy. Noise scores ~0.05, the
            demo corpus's real music ~0.2 (chords spread energy over several classes).
  harmony   centred cosine (each vector minus its mean over the 12 classes) of the span's mean chroma with the
            original span's: do the notes written belong to the harmony that was there? 1 for the same pitch
            classes, ~0 for unrelated ones; noise under the original's envelope keeps some (its spectral
            envelope favours the register the notes were in), a pasted loop of the bars before keeps what the
            harmony shares with them.
  level     the span's RMS level against the original span's, in dB.

Chroma here: 2048-point STFT (128 ms, hop 512) with the bins from 65 Hz to 4 kHz, each added to its nearest
equal-tempered pitch class; a frame is scored when its chroma energy is within `LOUD_DB` of the span's loudest
frame. Coarser than `pitch.chroma` (4096 points) so that 1-2 s spans give enough frames. Every function takes
mono numpy waveforms at 16 kHz, the span already cut out (`inner`: the span minus its crossfades).
"""

from __future__ import annotations

import numpy as np

from genie_audio.eval import audio_metrics, pitch

SPAN_N_FFT, SPAN_HOP = 2048, 512
SPAN_FMIN, SPAN_FMAX = 65.0, 4000.0
LOUD_DB = 30.0
_EPS = 1e-20


def inner(wave: np.ndarray, start: int, end: int, trim: int) -> np.ndarray:
  """wave[start + trim:end - trim]: the span without its seams (the crossfades mix in the original)."""
  if end - start <= 2 * trim:
    raise ValueError(f"span [{start}, {end}) is too short to trim {trim} samples from each end")
  return np.asarray(wave[start + trim:end - trim], np.float64)


def loud_chroma(wave: np.ndarray, sample_rate: int = audio_metrics.DEFAULT_SAMPLE_RATE) -> np.ndarray:
  """(F, 12) chroma power of the frames within LOUD_DB of the loudest (F = 0 for silence or a too-short wave)."""
  wave = np.asarray(wave, np.float64)
  if wave.ndim != 1:
    raise ValueError(f"span_music: expected a mono waveform (T,), got shape {wave.shape}")
  if wave.size < SPAN_N_FFT // 2:
    return np.zeros((0, 12))
  power = audio_metrics.stft_magnitude(wave, SPAN_N_FFT, SPAN_HOP) ** 2
  frames = power @ pitch.chroma_matrix(sample_rate, SPAN_N_FFT, SPAN_FMIN, SPAN_FMAX).T
  energy = frames.sum(-1)
  if energy.max(initial=0.0) <= _EPS:
    return np.zeros((0, 12))
  return frames[energy >= energy.max() * 10.0 ** (-LOUD_DB / 10.0)]


def _distributions(chroma_F12: np.ndarray) -> np.ndarray:
  return chroma_F12 / np.maximum(chroma_F12.sum(-1, keepdims=True), _EPS)


def tonality(wave: np.ndarray) -> float:
  """Mean 1 - entropy / log 12 of the loud frames' chroma (module docstring); NaN for a silent span."""
  p = _distributions(loud_chroma(wave))
  if not len(p):
    return float("nan")
  entropy = -np.sum(p * np.log(np.maximum(p, _EPS)), axis=-1)
  return float(np.mean(1.0 - entropy / np.log(12.0)))


def mean_chroma(wave: np.ndarray) -> np.ndarray:
  """(12,) mean of the loud frames' chroma distributions (each frame weighs the same); NaN when silent."""
  p = _distributions(loud_chroma(wave))
  return p.mean(0) if len(p) else np.full(12, np.nan)


def harmony(estimate: np.ndarray, reference: np.ndarray) -> float:
  """Centred cosine of the two spans' mean chroma (module docstring); NaN when either is silent."""
  a, b = mean_chroma(estimate), mean_chroma(reference)
  a, b = a - a.mean(), b - b.mean()
  norms = np.linalg.norm(a) * np.linalg.norm(b)
  return float(np.dot(a, b) / norms) if np.isfinite(norms) and norms > _EPS else float("nan")


def level_db(estimate: np.ndarray, reference: np.ndarray) -> float:
  """RMS level of `estimate` relative to `reference`, dB (positive: louder)."""
  rms = lambda x: np.sqrt(np.mean(np.square(np.asarray(x, np.float64))) + _EPS)
  return float(20.0 * np.log10(rms(estimate) / rms(reference)))


def span_scores(estimate: np.ndarray, reference: np.ndarray) -> dict[str, float]:
  """tonality, harmony and level of one filled span against the original span (both already cut out)."""
  return dict(tonality=tonality(estimate), harmony=harmony(estimate, reference),
              level_db=level_db(estimate, reference))
