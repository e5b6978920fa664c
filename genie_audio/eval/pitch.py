"""Pitch-aware metrics: chroma (pitch-class energy per frame) and the chroma similarity of two waveforms.

The mel, SI-SDR and LSD metrics (`audio_metrics`) reward a reconstruction that keeps loudness and spectral
envelope even when every note is wrong; chroma does not: a wrong note moves energy to another pitch class.
Same conventions as `audio_metrics`: mono numpy float64, (T,) -> float or (B, T) -> (B,), 16 kHz by default.

Chroma: |STFT|^2 (periodic Hann, centre padding, n_fft 4096 = 3.9 Hz bins so semitones separate down to
~110 Hz) with each bin from 55 Hz to 5 kHz added to its nearest equal-tempered pitch class (A4 = 440 Hz;
class 0 is C, 9 is A). Bins below 55 Hz carry no usable pitch at this resolution, and above 5 kHz mostly noise.

Two scores: `chroma_similarity` (cosine of the chroma vectors) and `chroma_correlation` (cosine after removing
each vector's mean over the 12 classes). Noise has a nearly flat chroma, and the chroma of real music is far
from one-hot, so a pitchless estimate still gets a chroma similarity around 0.6 on music (a single tone: ~0.3);
the correlation puts it near 0 and keeps 1 for the same notes, which makes it the easier one to read.
"""

from __future__ import annotations

import numpy as np

from genie_audio.data import spectra
from genie_audio.eval import audio_metrics

DEFAULT_SAMPLE_RATE = audio_metrics.DEFAULT_SAMPLE_RATE
CHROMA_N_FFT = 4096
CHROMA_FMIN, CHROMA_FMAX = 55.0, 5000.0
A4_HZ, A4_MIDI = spectra.A4_HZ, spectra.A4_MIDI
PITCH_CLASSES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
# Frames of the reference more than this far below its loudest frame (in chroma energy) are not scored:
# pitch is undefined in silence, and fades would otherwise count as mismatches.
SILENCE_DB = 40.0
_EPS = 1e-20


def chroma_matrix(sample_rate: int, n_fft: int, fmin: float = CHROMA_FMIN, fmax: float = CHROMA_FMAX
                  ) -> np.ndarray:
  """(12, n_fft // 2 + 1) 0/1 matrix: row c sums the bins in [fmin, fmax] whose nearest pitch class is c."""
  return spectra.chroma_matrix(sample_rate, n_fft, fmin, fmax)


def chroma(wave: np.ndarray, sample_rate: int = DEFAULT_SAMPLE_RATE, n_fft: int = CHROMA_N_FFT,
           hop: int | None = None) -> np.ndarray:
  """Pitch-class power per frame: (..., T) -> (..., 1 + T // hop, 12); hop defaults to n_fft // 4."""
  hop = n_fft // 4 if hop is None else hop
  power = audio_metrics.stft_magnitude(np.asarray(wave, np.float64), n_fft, hop) ** 2
  return power @ chroma_matrix(sample_rate, n_fft).T


def chroma_similarity(reference: np.ndarray, estimate: np.ndarray, sample_rate: int = DEFAULT_SAMPLE_RATE,
                      n_fft: int = CHROMA_N_FFT, hop: int | None = None, silence_db: float = SILENCE_DB,
                      centre: bool = False) -> np.ndarray | float:
  """Mean over the reference's non-silent frames of the cosine similarity of the two 12-bin chroma vectors.

  1 for identical pitch content (any gain), ~0 for disjoint pitch classes, higher is better. A frame counts
  when its reference chroma energy is within `silence_db` of the reference's loudest frame; a frame where the
  estimate is silent scores 0. NaN when the reference is entirely silent (no pitch to compare). With
  `centre=True` each chroma vector loses its mean first (see `chroma_correlation`).
  """
  ref, est = audio_metrics._check_pair(reference, estimate)  # same shape errors as the other metrics
  c_ref = chroma(ref, sample_rate, n_fft, hop)
  c_est = chroma(est, sample_rate, n_fft, hop)
  energy = c_ref.sum(axis=-1)
  loud = (energy > _EPS) & (energy >= energy.max(axis=-1, keepdims=True) * 10.0 ** (-silence_db / 10.0))
  if centre:
    c_ref = c_ref - c_ref.mean(axis=-1, keepdims=True)
    c_est = c_est - c_est.mean(axis=-1, keepdims=True)
  norms = np.linalg.norm(c_ref, axis=-1) * np.linalg.norm(c_est, axis=-1)
  # Uncentred chroma is non-negative, so its cosine lies in [0, 1]; the clip only removes rounding.
  cosine = np.clip(np.sum(c_ref * c_est, axis=-1) / np.maximum(norms, _EPS), -1.0 if centre else 0.0, 1.0)
  count = loud.sum(axis=-1)
  with np.errstate(invalid="ignore", divide="ignore"):
    mean = np.where(count > 0, np.sum(cosine * loud, axis=-1) / count, np.nan)
  return audio_metrics._scalar_or_batch(mean)


def chroma_correlation(reference: np.ndarray, estimate: np.ndarray, sample_rate: int = DEFAULT_SAMPLE_RATE,
                       n_fft: int = CHROMA_N_FFT, hop: int | None = None,
                       silence_db: float = SILENCE_DB) -> np.ndarray | float:
  """`chroma_similarity` of mean-removed chroma (a per-frame Pearson correlation over the 12 classes).

  1 for the same notes, ~0 for an estimate with a flat chroma (noise, or any pitchless resynthesis), negative
  for different notes (A against E: -1/11). Same frames, shapes and NaN rule as `chroma_similarity`.
  """
  return chroma_similarity(reference, estimate, sample_rate, n_fft, hop, silence_db, centre=True)
