"""Per-cut features of prepared audio (16 kHz mono, loudness-normalised) for the quality filter (quality.py).

A recording is cut into consecutive `cut_s` pieces (a recording shorter than one cut is one cut); each cut
becomes one row of measures of *damage*, each made so that the music's style moves it little: no column holds
the spectrum's overall shape (band levels, tilt, brightness, loudness), which is what a recording's style,
instrument, room and mastering set, so an equaliser or a gain changes no column by much
(experiments/quality_cross_style.py: with band levels the filter learnt "sounds like the training folder").

- noise floor: per band, how far the band's quiet floor (between partials, between notes) sits below its loud
  partials (hiss fills every gap), and how far partials stand out of their spectral neighbourhood (noise fills
  the valleys);
- band limit: the highest frequency within 50/70 dB of the long-term spectrum's top, and the steepest drop of
  that spectrum over 500 Hz (a low-pass cuts off, music tails away);
- clicks: bursts of the second difference far above its local level, per second, and its kurtosis;
- clipping: shares of samples at (or within 1% of) the peak, and how the amplitude density piles up at the top;
- wow and flutter: partials tracked between frames; how much they drift, and how much of the drift all partials
  share (a speed change moves every partial together, a singer's vibrato moves one), and how smoothly;
- talking: the share of partials gliding fast (voices glide, held notes do not), the share of band-level
  modulation at syllable rates; how steady fine spectra are.

Nothing above 7 kHz is looked at (resampling to 16 kHz leaves its own cliff near 8 kHz).

Changing what a row holds changes `FEATURE_VERSION`, so a model trained on other features is refused.
"""

from __future__ import annotations

import functools

import numpy as np
from scipy import ndimage

from genie_audio.data.manifest import SAMPLE_RATE

FEATURE_VERSION = 2
N_FFT = 1024          # 64 ms at 16 kHz
HOP = 512
N_FFT_FINE = 2048     # 128 ms, 7.8 Hz bins: partials of held notes are tracked to a fraction of a bin
N_MELS = 32
F_MIN = 30.0
_EPS = 1e-10
_FLOOR_DB = 100.0  # spectra are floored this far below the cut's loudest bin, so features do not depend on gain
_EMPTY_DB = 80.0   # a band whose loud moments stay this far below the cut's loudest bin holds nothing
# Nothing above 7 kHz is looked at: resampling to 16 kHz (preparation, or a degradation's own resampling) cuts
# off near 8 kHz, a trace of the transfer chain, not a fault of the recording.
_TOP_HZ = 7000.0
_BANDS = ((50.0, 250.0), (250.0, 1000.0), (1000.0, 4000.0), (4000.0, _TOP_HZ))
_EDGES_DB = (50, 70)  # not 30 dB: how far the top falls 30 dB below the peak is the tilt of the timbre
_CLIFF_HZ = 500.0
_PARTIAL_BANDS = ((100.0, 1000.0), (1000.0, 4000.0))  # where partials of the melody and harmony sit
_STEADINESS_BAND = (300.0, 4000.0)
_TRACKING_BAND = (200.0, 4000.0)
_GLIDE = 0.004             # relative frequency change per 32 ms frame: a 12% glide per second
_SYLLABLE_HZ = (3.0, 7.0)  # speech's syllable rate, as a share of level modulations at 0.5-15 Hz
_CLICK_BLOCK = 160         # 10 ms: the local level a click is measured against
_CLICK_FACTORS = (10, 30)


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


def floored(power: np.ndarray) -> np.ndarray:
  """Power plus a floor _FLOOR_DB below its loudest bin: digitally empty bins (synthesised or band-limited
  audio) then sit at a level relative to the cut, not at an absolute epsilon that would depend on the gain."""
  return power + max(float(power.max()), 1e-20) * 10.0 ** (-_FLOOR_DB / 10.0)  # 1e-20: float32 stays normal


def cut_bounds(num_samples: int, rate: int, cut_s: float) -> list[tuple[int, int]]:
  """(start, end) samples of consecutive cuts; a last partial cut shorter than half a cut joins the one
  before, so no cut's statistics rest on a sliver of audio."""
  cut = max(1, int(round(cut_s * rate)))
  starts = list(range(0, num_samples, cut)) or [0]
  if len(starts) > 1 and num_samples - starts[-1] < cut / 2:
    starts.pop()
  return [(s, starts[i + 1] if i + 1 < len(starts) else num_samples) for i, s in enumerate(starts)]


def _band_name(band: tuple[float, float]) -> str:
  return f"{band[0] / 1000:g}_{band[1] / 1000:g}k"


def feature_names() -> list[str]:
  names = [f"floor_db_{_band_name(b)}" for b in _BANDS] + [f"prominence_db_{_band_name(b)}" for b in _BANDS]
  names += [f"edge_khz_{db}db" for db in _EDGES_DB] + ["cliff_db"]
  names += [f"click_rate_{k}x" for k in _CLICK_FACTORS] + ["diff_kurtosis"]
  names += ["clipped_share", "exact_peak_share", "top_density"]
  names += ["drift_p50", "drift_p90", "glide_share", "partial_persistence", "speed_rms", "speed_lag1",
            "speed_share"]
  names += ["long_term_prominence_low", "long_term_prominence_high", "steadiness_mean", "steadiness_p10",
            "syllable_modulation"]
  return names


# ------------------------------------------------------------------------------------------- noise and band

def _noise_floor(power: np.ndarray, freqs: np.ndarray) -> list[float]:
  """Per band, the floor of the band's quiet moments against its loud partials (dB): the 20th percentile over
  bins of each bin's 10th percentile over frames, against the 90th percentile over bins of each bin's 90th
  percentile over frames, on fine (7.8 Hz) bins. Hiss fills every bin at every moment; music leaves gaps
  between its partials, or between its notes, and a sustained chord (an organ) leaves the bins between its
  partials empty (coarser bins would fill them with the partials' leakage: dense low chords looked noisy). An
  equaliser moves floor and partials alike. An empty band (nothing within _EMPTY_DB of the cut's loudest
  bin) has no noise either: -_EMPTY_DB."""
  low, high = np.percentile(power, (10, 90), axis=0)
  out = []
  for band in _BANDS:
    bins = (freqs >= band[0]) & (freqs < band[1])
    loud = np.percentile(high[bins], 90)
    empty = loud < power.max() * 10.0 ** (-_EMPTY_DB / 10.0)
    out.append(-_EMPTY_DB if empty else float(10.0 * np.log10(np.percentile(low[bins], 20) / loud)))
  return out


def _prominence(log_db: np.ndarray, freqs: np.ndarray) -> list[float]:
  """Per band, how far the top 5% of bins stand above their 9-bin spectral neighbourhood's median (median
  over frames, dB): partials stand out of clean music's spectrum; noise fills the valleys between them."""
  residual = log_db - ndimage.median_filter(log_db, size=(1, 9), mode="nearest")
  out = []
  for band in _BANDS:
    bins = (freqs >= band[0]) & (freqs < band[1])
    out.append(float(np.median(np.percentile(residual[:, bins], 95, axis=1))))
  return out


def _band_limit(log_db: np.ndarray, freqs: np.ndarray) -> list[float]:
  """Highest frequencies (kHz, up to _TOP_HZ) where the long-term spectrum's upper envelope is within 50/70 dB
  of its top, and its steepest drop over _CLIFF_HZ from 1 kHz to _TOP_HZ (dB): a low-pass falls off a cliff,
  music tails away."""
  # 95th percentile over frames, then a maximum over +-150 Hz: the envelope over partials, not the valleys.
  envelope = ndimage.maximum_filter1d(np.percentile(log_db, 95, axis=0), size=21, mode="nearest")
  envelope = envelope[freqs <= _TOP_HZ] - envelope.max()
  edges = []
  for db in _EDGES_DB:
    above = np.flatnonzero(envelope > -db)
    edges.append(float(freqs[above[-1]] / 1000.0) if above.size else 0.0)
  step = int(round(_CLIFF_HZ / (freqs[1] - freqs[0])))
  start = int(np.searchsorted(freqs, 1000.0))
  drops = envelope[start:envelope.shape[0] - step] - envelope[start + step:]
  return edges + [float(drops.max()) if drops.size else 0.0]


# ---------------------------------------------------------------------------------------- clicks, clipping

def _clicks(x: np.ndarray, rate: int) -> list[float]:
  """log10(1 + clicks per second) at two sizes: second-difference samples more than k times the median level
  of their 10 ms block and both neighbours (so a note's onset, which raises its block, is not a click); and the
  log kurtosis of the first difference."""
  d2 = np.abs(x[2:] - 2 * x[1:-1] + x[:-2])
  blocks = d2.shape[0] // _CLICK_BLOCK
  out = []
  if blocks >= 3:
    d2 = d2[:blocks * _CLICK_BLOCK].reshape(blocks, _CLICK_BLOCK)
    level = np.median(d2, axis=1)
    level = np.maximum(np.maximum(level, np.r_[level[1:], level[-1]]), np.r_[level[0], level[:-1]]) + _EPS
    seconds = d2.size / rate
    for factor in _CLICK_FACTORS:
      out.append(float(np.log10(1.0 + np.sum(d2 > factor * level[:, None]) / seconds)))
  else:
    out = [0.0] * len(_CLICK_FACTORS)
  d = np.square(np.diff(x)) if x.shape[0] > 1 else np.zeros(1)
  kurtosis = np.mean(d * d) / max(np.mean(d) ** 2, 1e-30)  # d * d, not diff ** 4: pow is 20x slower
  return out + [float(np.log10(kurtosis + 1.0))]


def _clipping(x: np.ndarray) -> list[float]:
  """Shares of samples within 1% of the peak and at the peak itself (hard clipping flattens many samples onto
  one level), and log10 of the amplitude density in the top 2% of the range against the 8% below it."""
  a = np.abs(x)
  peak = float(a.max()) + _EPS
  top = np.mean(a >= 0.98 * peak)
  below = np.mean((a >= 0.90 * peak) & (a < 0.98 * peak))
  return [float(np.mean(a >= 0.99 * peak)), float(np.mean(a >= peak * (1 - 1e-5))),
          float(np.log10((top / 0.02 + 1e-4) / (below / 0.08 + 1e-4)))]


# --------------------------------------------------------------------------------------------- wow, talking

def _peaks(log_power: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
  """Spectral peaks at least 20 dB (ln 100) above their frame's median (partials, not noise), and their
  positions in bins refined by parabolic interpolation."""
  left, centre, right = log_power[:, :-2], log_power[:, 1:-1], log_power[:, 2:]
  peak = (centre > left) & (centre >= right) & (centre > np.median(log_power, axis=1, keepdims=True) + 4.6)
  curvature = left - 2 * centre + right
  offset = np.where(peak, 0.5 * (left - right) / np.where(curvature < 0, curvature, -_EPS), 0.0)
  peak = np.pad(peak, ((0, 0), (1, 1)))
  return peak, np.arange(peak.shape[1])[None, :] + np.pad(np.clip(offset, -1, 1), ((0, 0), (1, 1)))


def _tracking(log_power: np.ndarray, first_bin: int) -> list[float]:
  """Partials followed from frame to frame (a peak within one bin of a peak in the next frame): their relative
  drift (median, 90th percentile), the share of them gliding faster than _GLIDE per frame (speaking voices
  glide, held notes do not), the share of peaks followed, and the speed trace (the median signed relative
  drift of a frame's partials: every partial moves together with wow and flutter): its RMS, its lag-1
  autocorrelation (wow is slow), and its RMS against the partials' median drift (shared, not each its own)."""
  peak, position = _peaks(log_power)
  position = position + first_bin
  best = np.full((peak.shape[0] - 1, peak.shape[1]), np.inf)
  for shift in (-1, 0, 1):
    nxt = np.roll(peak[1:], -shift, axis=1)
    step = np.roll(position[1:], -shift, axis=1) - position[:-1]
    step = np.where(peak[:-1] & nxt, step, np.inf)
    best = np.where(np.abs(step) < np.abs(best), step, best)
  followed = np.isfinite(best)
  if followed.sum() < 8:
    return [0.0] * 7
  relative = np.where(followed, best / np.maximum(position[:-1], 1.0), np.nan)
  drift = np.abs(relative[followed])
  glide = float(np.mean(drift > _GLIDE))
  persistence = followed.sum() / max(1, peak[:-1].sum())
  counts = followed.sum(axis=1)
  speed = np.where(counts >= 3, np.nanmedian(np.where(counts[:, None] >= 3, relative, 0.0), axis=1), np.nan)
  valid = np.isfinite(speed)
  if valid.sum() < 4:
    return [float(np.median(drift)), float(np.percentile(drift, 90)), glide, float(persistence), 0.0, 0.0, 0.0]
  rms = float(np.sqrt(np.mean(speed[valid] ** 2)))
  pairs = valid[1:] & valid[:-1]
  centred = speed - np.nanmean(speed)
  lag1 = (float(np.sum((centred[1:] * centred[:-1])[pairs]) / (np.sum(centred[valid] ** 2) + 1e-30))
          if pairs.sum() >= 3 else 0.0)
  # 2e-4 (0.02%): synthesised partials that never move would otherwise make any speed trace look shared.
  return [float(np.median(drift)), float(np.percentile(drift, 90)), glide, float(persistence), rms * 1000.0, lag1,
          rms / (float(np.median(drift)) + 2e-4)]


def _long_term_prominence(fine_power: np.ndarray, freqs: np.ndarray) -> list[float]:
  """Per band of _PARTIAL_BANDS, how far the long-term fine spectrum's top 5% of bins stand above their 9-bin
  neighbourhood's median (dB): wow and flutter smear held partials over neighbouring bins."""
  long_term = 10.0 * np.log10(fine_power.mean(axis=0))
  residual = long_term - ndimage.median_filter(long_term, size=9, mode="nearest")
  return [float(np.percentile(residual[(freqs >= band[0]) & (freqs < band[1])], 95)) for band in _PARTIAL_BANDS]


def _steadiness(log_power: np.ndarray) -> np.ndarray:
  """Correlation of consecutive frames' fine log spectra: held notes give ~1, unsteady pitch less."""
  if log_power.shape[0] < 2:
    return np.ones(1)
  centred = log_power - log_power.mean(axis=1, keepdims=True)
  norms = np.sqrt(np.sum(centred * centred, axis=1)) + _EPS
  return np.sum(centred[1:] * centred[:-1], axis=1) / (norms[1:] * norms[:-1])


def _syllable_modulation(log_mel: np.ndarray, frame_rate: float) -> float:
  """Share of the band levels' modulation energy at syllable rates (talking over the music)."""
  if log_mel.shape[0] < 8:
    return 0.0
  spectrum = np.abs(np.fft.rfft(log_mel - log_mel.mean(axis=0), axis=0)) ** 2
  hz = np.fft.rfftfreq(log_mel.shape[0], 1.0 / frame_rate)
  syllable = spectrum[(hz >= _SYLLABLE_HZ[0]) & (hz <= _SYLLABLE_HZ[1])].sum()
  return float(syllable / (spectrum[(hz >= 0.5) & (hz <= 15.0)].sum() + _EPS))


def _cut_row(x: np.ndarray, rate: int) -> np.ndarray:
  power = floored(power_frames(x))
  freqs = np.fft.rfftfreq(N_FFT, 1.0 / rate)
  log_db = 10.0 * np.log10(power)
  fine_power = floored(power_frames(x, N_FFT_FINE, HOP))
  fine = np.log(fine_power)
  fine_freqs = np.fft.rfftfreq(N_FFT_FINE, 1.0 / rate)
  tracked = np.flatnonzero((fine_freqs >= _TRACKING_BAND[0]) & (fine_freqs <= _TRACKING_BAND[1]))
  steady = np.flatnonzero((freqs >= _STEADINESS_BAND[0]) & (freqs <= _STEADINESS_BAND[1]))
  steadiness = _steadiness(log_db[:, steady])
  log_mel = 10.0 * np.log10(power @ mel_filterbank(rate, N_FFT, N_MELS))
  x64 = x.astype(np.float64)
  return np.array([
      *_noise_floor(fine_power, fine_freqs), *_prominence(log_db, freqs), *_band_limit(log_db, freqs),
      *_clicks(x64, rate), *_clipping(x64), *_tracking(fine[:, tracked], tracked[0]),
      *_long_term_prominence(fine_power, fine_freqs),
      steadiness.mean(), np.percentile(steadiness, 10), _syllable_modulation(log_mel, rate / HOP)])


def cut_features(x: np.ndarray, rate: int = SAMPLE_RATE, cut_s: float = 5.0) -> np.ndarray:
  """(cuts, features) float32 rows of a mono recording; columns named by `feature_names()`."""
  x = np.asarray(x, dtype=np.float32)
  if x.ndim != 1 or x.shape[0] == 0:
    raise ValueError(f"cut_features wants non-empty mono audio (samples,), got shape {x.shape}")
  # Spectra per cut, not for the whole recording at once: an hour-long file's frames would not fit in memory.
  rows = [_cut_row(x[start:end], rate) for start, end in cut_bounds(x.shape[0], rate, cut_s)]
  return np.asarray(rows, dtype=np.float32)
