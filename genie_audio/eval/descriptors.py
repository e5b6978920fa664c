"""Music descriptors of short passages (action steps), in numpy: loudness, brightness, onsets, harmony, balance.

Frame features are computed once over a whole recording (`frame_features`: Hann-windowed STFT of FRAME
samples, hop HOP = 10 ms at 16 kHz, frames centred on the hops and zero-padded past the ends), then aggregated
over the frames whose centres fall inside each passage (`step_descriptors`). Onsets are picked over the whole
recording, so a passage's count does not depend on where it was cut.

Descriptors of one passage (DESCRIPTORS holds names, units and meanings):
  loudness_db           mean RMS level (dBFS) of its frames
  loudness_change_db    least-squares trend of frame RMS dB across the passage, times its duration (a
                        crescendo from -30 to -10 dB over the passage gives +20)
  loudness_jump_db      its mean level minus the previous passage's (NaN for a recording's first passage)
  centroid_hz           mean spectral centroid (magnitude-weighted mean frequency) of its non-silent frames
  centroid_change_oct   trend of log2(centroid) across the passage, times its duration: octaves of rise
  centroid_jump_oct     log2 of its mean centroid over the previous passage's: octaves brighter than the step
                        before (NaN for a first passage or next to a silent one)
  onset_density         spectral-flux onsets per second
  chroma_change         cosine distance (0 = same pitch classes, 1 = disjoint) between the 12-bin chroma of
                        its first and second halves
  low_high_db           10 log10(energy below LOW_HZ / energy above HIGH_HZ): > 0 bass-heavy, < 0 bright
  low_high_change_db    trend of the frames' low/high balance across the passage, times its duration (the
                        bass dropping out of a passage gives a large negative value)
Silent frames (below SILENCE_DB) have no centroid, chroma or balance; a descriptor that cannot be measured is
NaN. STATES describe how a passage sounds (level, brightness, balance); MOVES what happens in it or since
the previous one (the actions should carry moves: a gain change of the recording shifts only the level).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from genie_audio.eval.audio_metrics import hann_window

FRAME = 1024          # 64 ms: resolves ~16 Hz, enough for centroids and (above ~250 Hz) semitones
HOP = 160             # 10 ms
RMS_FRAME = 320       # 20 ms: loudness needs time resolution more than frequency resolution
ONSET_FRAME = 512     # 32 ms: an onset is seen at most ~16 ms before it happens
ONSET_RANGE_DB = 60.0
SILENCE_DB = -70.0
RMS_FLOOR = 1e-5      # -100 dBFS: keeps log10 finite on digital silence
LOW_HZ, HIGH_HZ = 250.0, 2000.0
CHROMA_HZ = (65.0, 5000.0)   # C2 .. ~D#8: pitch-class energy outside this range is mostly noise
ONSET_WINDOW_S = 0.05        # an onset is the largest flux within +-50 ms ...
ONSET_CONTEXT_S = 0.25       # ... and exceeds the mean flux within +-250 ms by ONSET_DELTA * (its 95th percentile)
ONSET_DELTA = 0.3
ONSET_FLOOR = 0.1           # ... and by this much (mean log-magnitude rise per bin): noise has no onsets

DESCRIPTORS: tuple[tuple[str, str, str], ...] = (
    ("loudness_db", "dBFS", "mean RMS level"),
    ("loudness_change_db", "dB", "loudness trend across the step"),
    ("loudness_jump_db", "dB", "level minus the previous step's"),
    ("centroid_hz", "Hz", "spectral centroid"),
    ("centroid_change_oct", "oct", "centroid trend across the step"),
    ("centroid_jump_oct", "oct", "centroid over the previous step's"),
    ("onset_density", "1/s", "onsets per second"),
    ("chroma_change", "0..1", "chroma distance, 1st vs 2nd half"),
    ("low_high_db", "dB", f"energy <{LOW_HZ:g} Hz vs >{HIGH_HZ:g} Hz"),
    ("low_high_change_db", "dB", "band balance trend across the step"),
)
NAMES = tuple(name for name, _, _ in DESCRIPTORS)
STATES = ("loudness_db", "centroid_hz", "low_high_db")
MOVES = tuple(name for name in NAMES if name not in STATES)
BALANCE_RANGE_DB = 80.0   # a band with (almost) no energy would otherwise give +-200 dB


@dataclasses.dataclass(frozen=True)
class FrameFeatures:
  """Per-frame features of one recording; frame f is centred on sample f * hop."""
  rms_db: np.ndarray        # (F,)
  centroid_hz: np.ndarray   # (F,) NaN on silent frames
  flux: np.ndarray          # (F,) onset strength: mean log-magnitude rise per bin
  onsets: np.ndarray        # (F,) bool
  chroma: np.ndarray        # (F, 12) pitch-class energy (not normalised; zero on silent frames)
  low_energy: np.ndarray    # (F,)
  high_energy: np.ndarray   # (F,)
  hop: int
  sample_rate: int
  num_samples: int

  @property
  def num_frames(self) -> int:
    return len(self.rms_db)


def frames(wave: np.ndarray, frame: int, hop: int) -> np.ndarray:
  """(F, frame) frames centred on samples 0, hop, 2 hop, ... < T, zero-padded past both ends (a recording
  starts and ends in silence: its first note is an onset, its end is not)."""
  wave = np.asarray(wave, np.float64)
  padded = np.pad(wave, (frame // 2, frame // 2 + hop))
  count = -(-len(wave) // hop)
  return np.lib.stride_tricks.sliding_window_view(padded, frame)[::hop][:count]


def frame_rms_db(wave: np.ndarray, frame: int = RMS_FRAME, hop: int = HOP) -> np.ndarray:
  """RMS level (dBFS) of `frames`."""
  return 20.0 * np.log10(np.maximum(np.sqrt(np.mean(frames(wave, frame, hop) ** 2, axis=-1)), RMS_FLOOR))


def magnitude_spectrogram(wave: np.ndarray, frame: int = FRAME, hop: int = HOP) -> np.ndarray:
  """(F, frame // 2 + 1) |STFT| of Hann-windowed `frames`."""
  return np.abs(np.fft.rfft(frames(wave, frame, hop) * hann_window(frame), axis=-1))


def onset_strength(wave: np.ndarray, frame: int = ONSET_FRAME, hop: int = HOP) -> np.ndarray:
  """(F,) spectral flux: mean over bins of the rise in log magnitude since the previous frame.

  The log is taken relative to the recording's loudest bin (ONSET_RANGE_DB below it counts), so the same
  music at another gain gives the same flux. Each bin is compared with the largest of its neighbours
  (+-1 bin) in the previous frame (SuperFlux, Boeck & Widmer 2013): a glide or vibrato moving into the next
  bin is not an onset, a new note is.
  """
  magnitude = magnitude_spectrogram(wave, frame, hop)
  reference = max(float(magnitude.max()), 1e-12) * 10.0 ** (-ONSET_RANGE_DB / 20.0)
  log_mag = np.log1p(magnitude / reference)
  previous = np.pad(log_mag[:-1], ((1, 0), (1, 1)))  # a silent frame before the first; edge bins padded
  widest = np.maximum(np.maximum(previous[:, :-2], previous[:, 1:-1]), previous[:, 2:])
  return np.maximum(log_mag - widest, 0.0).mean(axis=-1)


def chroma_matrix(sample_rate: int, frame: int) -> np.ndarray:
  """(bins, 12) 0/1 map from FFT bins to pitch classes (0 = C), by each bin's centre frequency."""
  freqs = np.fft.rfftfreq(frame, 1.0 / sample_rate)
  inside = (freqs >= CHROMA_HZ[0]) & (freqs <= CHROMA_HZ[1])
  midi = 69.0 + 12.0 * np.log2(np.maximum(freqs, 1e-6) / 440.0)
  classes = np.mod(np.round(midi).astype(int), 12)
  return (inside[:, None] & (classes[:, None] == np.arange(12)[None, :])).astype(np.float64)


def pick_onsets(flux: np.ndarray, hop_s: float) -> np.ndarray:
  """(F,) bool: frames whose flux is a local maximum that stands out from its surroundings (see constants)."""
  w, c = max(1, round(ONSET_WINDOW_S / hop_s)), max(1, round(ONSET_CONTEXT_S / hop_s))
  padded = np.pad(flux, (w, w), constant_values=-np.inf)
  local_max = flux >= np.max(np.lib.stride_tricks.sliding_window_view(padded, 2 * w + 1), axis=-1)
  kernel = np.ones(2 * c + 1) / (2 * c + 1)
  local_mean = np.convolve(np.pad(flux, (c, c), mode="edge"), kernel, mode="valid")
  delta = max(ONSET_DELTA * float(np.percentile(flux, 95)) if flux.size else 0.0, ONSET_FLOOR)
  onsets = local_max & (flux > local_mean + delta)
  # Plateaus (equal neighbours) count once: keep the first frame of a run.
  onsets[1:] &= ~onsets[:-1]
  return onsets


def frame_features(wave: np.ndarray, sample_rate: int = 16000, frame: int = FRAME, hop: int = HOP
                   ) -> FrameFeatures:
  """`FrameFeatures` of a mono waveform (T,)."""
  wave = np.asarray(wave, np.float64)
  if wave.ndim != 1 or wave.size == 0:
    raise ValueError(f"frame_features: expected a non-empty mono waveform (T,), got shape {wave.shape}")
  magnitude = magnitude_spectrogram(wave, frame, hop)              # (F, bins)
  rms_db = frame_rms_db(wave, RMS_FRAME, hop)
  freqs = np.fft.rfftfreq(frame, 1.0 / sample_rate)
  silent = rms_db < SILENCE_DB
  total = magnitude.sum(axis=-1)
  centroid = np.where(silent | (total <= 0), np.nan, magnitude @ freqs / np.maximum(total, 1e-30))
  flux = onset_strength(wave, ONSET_FRAME, hop)
  power = magnitude ** 2
  chroma = power @ chroma_matrix(sample_rate, frame)
  chroma[silent] = 0.0
  onsets = pick_onsets(flux, hop / sample_rate)
  onsets[np.arange(len(flux)) * hop + ONSET_FRAME // 2 > len(wave)] = False  # the cut at the end is no onset
  return FrameFeatures(rms_db=rms_db, centroid_hz=centroid, flux=flux, onsets=onsets,
                       chroma=chroma, low_energy=power[:, freqs < LOW_HZ].sum(-1),
                       high_energy=power[:, freqs > HIGH_HZ].sum(-1), hop=hop, sample_rate=sample_rate,
                       num_samples=len(wave))


def trend(values: np.ndarray, times: np.ndarray, duration: float) -> float:
  """Least-squares slope of the finite `values` over `times`, times `duration`; NaN with < 2 finite points."""
  ok = np.isfinite(values)
  if ok.sum() < 2:
    return float("nan")
  t, v = times[ok] - times[ok].mean(), values[ok]
  return float(np.sum(t * (v - v.mean())) / max(np.sum(t * t), 1e-30)) * duration


def cosine_distance(a: np.ndarray, b: np.ndarray) -> float:
  na, nb = np.linalg.norm(a), np.linalg.norm(b)
  if na <= 0 or nb <= 0:
    return float("nan")
  return float(1.0 - np.dot(a, b) / (na * nb))


def balance_db(low: np.ndarray, high: np.ndarray) -> np.ndarray:
  """10 log10(low / high), kept within +-BALANCE_RANGE_DB."""
  ratio = (np.asarray(low) + 1e-20) / (np.asarray(high) + 1e-20)
  return np.clip(10.0 * np.log10(ratio), -BALANCE_RANGE_DB, BALANCE_RANGE_DB)


def step_descriptors(features: FrameFeatures, step_samples: int, num_steps: int | None = None
                     ) -> dict[str, np.ndarray]:
  """Descriptors (module docstring) of consecutive passages of `step_samples` samples: {name: (S,)}.

  Passage s covers samples [s * step_samples, (s + 1) * step_samples) and owns the frames centred there.
  `num_steps` defaults to every passage that starts inside the recording, ceil(num_samples / step_samples).
  """
  hop, F = features.hop, features.num_frames
  if num_steps is None:
    num_steps = -(-features.num_samples // step_samples)
  out = {name: np.full(num_steps, np.nan) for name in NAMES}
  owner = np.arange(F) * hop // step_samples
  hop_s = hop / features.sample_rate
  duration = step_samples / features.sample_rate
  for s in range(num_steps):
    idx = np.flatnonzero(owner == s)
    if idx.size == 0:
      continue
    times = idx * hop_s
    db = features.rms_db[idx]
    out["loudness_db"][s] = float(np.mean(db))
    out["loudness_change_db"][s] = trend(db, times, duration)
    if s > 0 and np.isfinite(out["loudness_db"][s - 1]):
      out["loudness_jump_db"][s] = out["loudness_db"][s] - out["loudness_db"][s - 1]
    centroid = features.centroid_hz[idx]
    if np.isfinite(centroid).any():
      out["centroid_hz"][s] = float(np.nanmean(centroid))
      out["centroid_change_oct"][s] = trend(np.log2(centroid), times, duration)
      if s > 0 and np.isfinite(out["centroid_hz"][s - 1]):
        out["centroid_jump_oct"][s] = float(np.log2(out["centroid_hz"][s] / out["centroid_hz"][s - 1]))
    out["onset_density"][s] = float(features.onsets[idx].sum()) / duration
    half = idx.size // 2
    if half >= 1:
      first, second = features.chroma[idx[:half]].sum(0), features.chroma[idx[half:]].sum(0)
      out["chroma_change"][s] = cosine_distance(first, second)
    loud = db >= SILENCE_DB
    if loud.any():
      low, high = features.low_energy[idx][loud], features.high_energy[idx][loud]
      out["low_high_db"][s] = float(balance_db(low.sum(), high.sum()))
      out["low_high_change_db"][s] = trend(balance_db(low, high), times[loud], duration)
  return out
