"""Per-cut features of prepared audio (16 kHz mono, loudness-normalised) for the quality filter (quality.py).

A recording is cut into consecutive `cut_s` pieces (a recording shorter than one cut is one cut); each cut
becomes one row of simple statistics, cheap enough to score a collection at thousands of times real time:

- log-mel band levels relative to the cut's mean level: mean, deviation over time, 10/50/90th percentiles,
  and mean frame-to-frame change per band (noise floors, missing highs, crackle, unsteady pitch);
- spectral flatness over frames (noise), the long-term spectrum's peakiness (wow and flutter smear partials);
- waveform statistics: crest factor, share of samples at the peak (hard clipping), kurtosis of the first
  difference (clicks), zero-crossing rate, the cut's level.

Changing what a row holds changes `FEATURE_VERSION`, so a model trained on other features is refused.
"""

from __future__ import annotations

import functools

import numpy as np

from genie_audio.data.manifest import SAMPLE_RATE

FEATURE_VERSION = 1
N_FFT = 1024          # 64 ms at 16 kHz
HOP = 512
N_MELS = 32
F_MIN = 30.0
PERCENTILES = (10, 50, 90)
_EPS = 1e-10
_FLOOR_DB = 100.0  # spectra are floored this far below the cut's loudest bin, so features do not depend on gain
_PEAKINESS_BANDS = ((100.0, 1000.0), (1000.0, 4000.0))  # where partials of the melody and harmony sit
_STEADINESS_BAND = (300.0, 4000.0)
_SYLLABLE_HZ = (3.0, 7.0)  # speech's syllable rate, as a share of level modulations at 0.5-15 Hz


def _hz_to_mel(f):
  return 2595.0 * np.log10(1.0 + np.asarray(f) / 700.0)


@functools.lru_cache(maxsize=4)
def mel_filterbank(rate: int = SAMPLE_RATE, n_fft: int = N_FFT, n_mels: int = N_MELS) -> np.ndarray:
  """(n_fft // 2 + 1, n_mels) triangular filters on the HTK mel scale from F_MIN to Nyquist."""
  mels = np.linspace(_hz_to_mel(F_MIN), _hz_to_mel(rate / 2), n_mels + 2)
  edges = 700.0 * (10.0 ** (mels / 2595.0) - 1.0)
  freqs = np.fft.rfftfreq(n_fft, 1.0 / rate)
  lower, centre, upper = edges[:-2, None], edges[1:-1, None], edges[2:, None]
  weights = np.maximum(0.0, np.minimum((freqs - lower) / (centre - lower), (upper - freqs) / (upper - centre)))
  return weights.T.astype(np.float32)


@functools.lru_cache(maxsize=4)
def _hann(n_fft: int) -> np.ndarray:
  return np.hanning(n_fft).astype(np.float32)


def power_frames(x: np.ndarray, n_fft: int = N_FFT, hop: int = HOP) -> np.ndarray:
  """(frames, n_fft // 2 + 1) power spectra of Hann-windowed frames; the tail shorter than a frame is dropped."""
  x = np.asarray(x, dtype=np.float32)
  if x.shape[0] < n_fft:
    x = np.pad(x, (0, n_fft - x.shape[0]))
  frames = np.lib.stride_tricks.sliding_window_view(x, n_fft)[::hop]
  spectra = np.fft.rfft(frames * _hann(n_fft), axis=1)
  return (spectra.real ** 2 + spectra.imag ** 2).astype(np.float32)


def cut_bounds(num_samples: int, rate: int, cut_s: float) -> list[tuple[int, int]]:
  """(start, end) samples of consecutive cuts; a last partial cut shorter than half a cut joins the one
  before, so no cut's statistics rest on a sliver of audio."""
  cut = max(1, int(round(cut_s * rate)))
  starts = list(range(0, num_samples, cut)) or [0]
  if len(starts) > 1 and num_samples - starts[-1] < cut / 2:
    starts.pop()
  return [(s, starts[i + 1] if i + 1 < len(starts) else num_samples) for i, s in enumerate(starts)]


def feature_names() -> list[str]:
  bands = range(N_MELS)
  names = [f"mel{b}_mean" for b in bands] + [f"mel{b}_std" for b in bands]
  names += [f"mel{b}_p{q}" for q in PERCENTILES for b in bands]
  names += [f"mel{b}_delta" for b in bands]
  names += ["flatness_mean", "flatness_std", "flatness_p90", "peakiness_low", "peakiness_high",
            "steadiness_mean", "steadiness_p10", "syllable_modulation", "partial_drift_p50", "partial_drift_p90",
            "partial_persistence"]
  names += ["crest_db", "clipped_share", "diff_kurtosis", "zero_crossing_rate", "level_db"]
  return names


def _peakiness(power: np.ndarray, freqs: np.ndarray, band: tuple[float, float]) -> float:
  """How far the long-term spectrum's peaks stand above its median in `band` (dB): wow smears partials."""
  long_term_db = 10.0 * np.log10(power[:, (freqs >= band[0]) & (freqs <= band[1])].mean(axis=0))
  return float(np.percentile(long_term_db, 95) - np.median(long_term_db))


def _steadiness(log_power: np.ndarray) -> np.ndarray:
  """Correlation of consecutive frames' fine log spectra: held notes give ~1, unsteady pitch less."""
  if log_power.shape[0] < 2:
    return np.ones(1)
  centred = log_power - log_power.mean(axis=1, keepdims=True)
  norms = np.sqrt(np.sum(centred * centred, axis=1)) + _EPS
  return np.sum(centred[1:] * centred[:-1], axis=1) / (norms[1:] * norms[:-1])


def _partial_drift(log_power: np.ndarray, first_bin: int) -> list[float]:
  """How much spectral peaks (partials) move between frames, relative to their frequency, measured to a
  fraction of a bin by parabolic interpolation: still for held notes, moving with wow and flutter. Also the
  share of peaks still there in the next frame."""
  left, centre, right = log_power[:, :-2], log_power[:, 1:-1], log_power[:, 2:]
  # Peaks at least 20 dB (ln 100) above the frame's median: partials, not noise.
  peak = (centre > left) & (centre >= right) & (centre > np.median(log_power, axis=1, keepdims=True) + 4.6)
  curvature = left - 2 * centre + right
  offset = np.where(peak, 0.5 * (left - right) / np.where(curvature < 0, curvature, -_EPS), 0.0)
  held = peak[1:] & peak[:-1]
  if not held.any():
    return [0.0, 0.0, 0.0]
  bins = np.arange(first_bin + 1, first_bin + 1 + centre.shape[1])
  drift = (np.abs(offset[1:] - offset[:-1]) / bins)[held]
  return [float(np.median(drift)), float(np.percentile(drift, 90)), float(held.sum() / max(1, peak[:-1].sum()))]


def _syllable_modulation(log_mel: np.ndarray, frame_rate: float) -> float:
  """Share of the band levels' modulation energy at syllable rates (talking over the music)."""
  if log_mel.shape[0] < 8:
    return 0.0
  spectrum = np.abs(np.fft.rfft(log_mel - log_mel.mean(axis=0), axis=0)) ** 2
  hz = np.fft.rfftfreq(log_mel.shape[0], 1.0 / frame_rate)
  syllable = spectrum[(hz >= _SYLLABLE_HZ[0]) & (hz <= _SYLLABLE_HZ[1])].sum()
  return float(syllable / (spectrum[(hz >= 0.5) & (hz <= 15.0)].sum() + _EPS))


def _spectral_stats(power: np.ndarray, rate: int) -> np.ndarray:
  """Band statistics, flatness, peakiness, steadiness and modulation of one cut's power frames (frames, bins)."""
  n_fft = (power.shape[1] - 1) * 2
  # A floor relative to the cut, not an absolute epsilon: digitally empty bands (synthesised or band-limited
  # audio) would otherwise sit at a fixed level and make every relative feature depend on the gain.
  power = power + max(float(power.max()), 1e-20) * 10.0 ** (-_FLOOR_DB / 10.0)  # 1e-20: float32 stays normal
  log_mel = 10.0 * np.log10(power @ mel_filterbank(rate, n_fft, N_MELS))
  log_mel -= log_mel.mean()  # levels relative to the cut: a quiet passage is not a defect
  delta = np.abs(np.diff(log_mel, axis=0)).mean(axis=0) if log_mel.shape[0] > 1 else np.zeros(N_MELS)
  log_power = np.log(power)
  flatness = np.exp(log_power.mean(axis=1)) / power.mean(axis=1)
  freqs = np.fft.rfftfreq(n_fft, 1.0 / rate)
  band = np.flatnonzero((freqs >= _STEADINESS_BAND[0]) & (freqs <= _STEADINESS_BAND[1]))
  steadiness = _steadiness(log_power[:, band])
  return np.concatenate([
      log_mel.mean(axis=0), log_mel.std(axis=0), np.percentile(log_mel, PERCENTILES, axis=0).ravel(), delta,
      [flatness.mean(), flatness.std(), np.percentile(flatness, 90),
       *(_peakiness(power, freqs, band) for band in _PEAKINESS_BANDS),
       steadiness.mean(), np.percentile(steadiness, 10), _syllable_modulation(log_mel, rate / HOP),
       *_partial_drift(log_power[:, band], band[0])]])


def _waveform_stats(x: np.ndarray) -> np.ndarray:
  x = x.astype(np.float64)
  rms = np.sqrt(np.mean(x * x)) + _EPS
  peak = np.max(np.abs(x)) + _EPS
  d2 = np.square(np.diff(x)) if x.shape[0] > 1 else np.zeros(1)
  kurtosis = np.mean(d2 * d2) / max(np.mean(d2) ** 2, 1e-30)  # d2 * d2, not d ** 4: pow is 20x slower
  return np.array([
      20.0 * np.log10(peak / rms),
      np.mean(np.abs(x) >= 0.99 * peak),
      np.log10(kurtosis + 1.0),
      np.mean(np.signbit(x[1:]) != np.signbit(x[:-1])) if x.shape[0] > 1 else 0.0,
      20.0 * np.log10(rms),
  ])


def cut_features(x: np.ndarray, rate: int = SAMPLE_RATE, cut_s: float = 5.0) -> np.ndarray:
  """(cuts, features) float32 rows of a mono recording; columns named by `feature_names()`."""
  x = np.asarray(x, dtype=np.float32)
  if x.ndim != 1 or x.shape[0] == 0:
    raise ValueError(f"cut_features wants non-empty mono audio (samples,), got shape {x.shape}")
  # Spectra per cut, not for the whole recording at once: an hour-long file's frames would not fit in memory.
  rows = [np.concatenate([_spectral_stats(power_frames(x[start:end]), rate), _waveform_stats(x[start:end])])
          for start, end in cut_bounds(x.shape[0], rate, cut_s)]
  return np.asarray(rows, dtype=np.float32)
