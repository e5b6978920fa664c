"""Audio preparation as pure numpy functions: decode, downmix, resample, trim silence, normalise, validate.

`process_file` chains them into the one recipe every source file goes through before it becomes a shard:

    decode -> finite check -> mono -> 16 kHz (soxr) -> silent check -> trim long silences -> length check
           -> loudness to -23 LUFS (ITU BS.1770, pyloudnorm) with a peak guard

Anything wrong with a file raises `BadAudioError` with a short machine-readable `reason` (one of `REASONS`),
so callers can count skips by reason instead of crashing.
"""

from __future__ import annotations

import os
import warnings

import numpy as np
import pyloudnorm
import soundfile as sf
import soxr

from genie_audio.data.manifest import SAMPLE_RATE

UNDECODABLE = "undecodable"
EMPTY = "empty"
TOO_SHORT = "too_short"
SILENT = "silent"
NON_FINITE = "non_finite"
REASONS = (UNDECODABLE, EMPTY, TOO_SHORT, SILENT, NON_FINITE)

TARGET_LUFS = -23.0   # EBU R128 programme loudness
PEAK_LIMIT = 0.99     # keeps float shards safely inside [-1, 1] if someone writes them as PCM
SILENT_PEAK_DB = -60.0  # a file whose loudest sample is below this (dBFS) has no usable content
MIN_DURATION_S = 1.0  # after trimming; shorter clips cannot fill even the smallest training crop


class BadAudioError(ValueError):
  """A source file that cannot become a shard; `reason` is one of `REASONS`."""

  def __init__(self, reason: str, detail: str = ""):
    self.reason = reason
    self.detail = detail
    super().__init__(f"{reason}: {detail}" if detail else reason)


def decode(path: str | os.PathLike) -> tuple[np.ndarray, int]:
  """Reads wav/flac/ogg/mp3 (anything libsndfile reads) as float32 (frames, channels) and its rate."""
  try:
    if os.path.getsize(path) == 0:
      raise BadAudioError(EMPTY, "file has 0 bytes")
    x, rate = sf.read(path, dtype="float32", always_2d=True)
  except BadAudioError:
    raise
  except Exception as e:  # libsndfile raises several types (LibsndfileError, RuntimeError, TypeError)
    raise BadAudioError(UNDECODABLE, f"{type(e).__name__}: {e}") from None
  if x.shape[0] == 0 or x.shape[1] == 0:
    raise BadAudioError(EMPTY, "no audio frames")
  return x, int(rate)


def to_mono(x: np.ndarray) -> np.ndarray:
  """(frames, channels) or (frames,) -> (frames,) float32, averaging channels."""
  x = np.asarray(x, dtype=np.float32)
  if x.ndim == 1:
    return x
  # Averaging (not summing) keeps the level of a centred mono source and cannot clip.
  return x.mean(axis=1, dtype=np.float32)


def resample(x: np.ndarray, rate: int, target_rate: int = SAMPLE_RATE) -> np.ndarray:
  """Band-limited resampling with soxr (VHQ); mono (frames,) in and out, float32."""
  x = np.asarray(x, dtype=np.float32)
  if rate == target_rate:
    return x
  return soxr.resample(x, rate, target_rate, quality="VHQ").astype(np.float32, copy=False)


def peak_db(x: np.ndarray) -> float:
  peak = float(np.max(np.abs(x))) if x.size else 0.0
  return 20.0 * np.log10(peak) if peak > 0 else -np.inf


def loudness(x: np.ndarray, rate: int) -> float:
  """Integrated loudness in LUFS; clips shorter than one 400 ms gating block fall back to K-free mean power."""
  x = np.asarray(x, dtype=np.float64)
  if x.shape[0] >= int(0.4 * rate) + 1:
    meter = pyloudnorm.Meter(rate)
    with warnings.catch_warnings():
      warnings.simplefilter("ignore")
      value = meter.integrated_loudness(x)
    if np.isfinite(value):
      return float(value)
  # Too short to gate, or every block under the -70 LUFS absolute gate: the BS.1770 formula without
  # K-weighting and gating is the closest sensible estimate.
  power = float(np.mean(np.square(x))) if x.size else 0.0
  return -0.691 + 10.0 * np.log10(power) if power > 0 else -np.inf


def normalize_loudness(x: np.ndarray, rate: int, target_lufs: float = TARGET_LUFS,
                       peak_limit: float = PEAK_LIMIT) -> np.ndarray:
  """Gain to `target_lufs`, then scaled down (never clipped) if a peak would exceed `peak_limit`."""
  x = np.asarray(x, dtype=np.float32)
  current = loudness(x, rate)
  if not np.isfinite(current):
    return x
  y = x * np.float32(10.0 ** ((target_lufs - current) / 20.0))
  peak = float(np.max(np.abs(y)))
  if peak > peak_limit:
    # A plain gain instead of a limiter: quieter than target beats altering the waveform.
    y = y * np.float32(peak_limit / peak)
  return y.astype(np.float32, copy=False)


def frame_db(x: np.ndarray, frame: int) -> np.ndarray:
  """RMS level in dB of consecutive non-overlapping frames (the last partial frame included)."""
  n = -(-x.shape[0] // frame)
  padded = np.zeros(n * frame, dtype=np.float64)
  padded[:x.shape[0]] = x
  power = np.mean(np.square(padded.reshape(n, frame)), axis=1)
  return 10.0 * np.log10(np.maximum(power, 1e-20))


def trim_silence(x: np.ndarray, rate: int, threshold_db: float = -50.0, max_gap_s: float = 1.0,
                 keep_gap_s: float = 0.25, edge_s: float = 0.05, frame_s: float = 0.02) -> np.ndarray:
  """Removes leading/trailing silence and shortens inner silences longer than `max_gap_s` to `keep_gap_s`.

  Silence is any frame `threshold_db` below the loudest frame (relative, so a hissy old recording's noise
  floor counts as silence while quiet playing does not). `edge_s` of silence is kept at both ends so soft
  attacks and decays are not clipped.
  """
  x = np.asarray(x, dtype=np.float32)
  frame = max(1, int(round(frame_s * rate)))
  db = frame_db(x, frame)
  loud = db >= db.max() + threshold_db
  if not loud.any():
    return x[:0]
  keep = np.ones_like(loud)
  # Runs of silent frames: start/end frame indices of each.
  edges = np.flatnonzero(np.diff(np.concatenate([[1], loud.astype(np.int8), [1]])))
  edge_frames = int(round(edge_s / frame_s))
  half_gap = max(1, int(round(keep_gap_s / frame_s / 2)))
  max_gap = int(round(max_gap_s / frame_s))
  for start, end in zip(edges[::2], edges[1::2]):
    if start == 0:
      keep[:max(0, end - edge_frames)] = False
    elif end == loud.size:
      keep[start + edge_frames:] = False
    elif end - start > max_gap:
      # Keep the gap's two ends (a decay in, a breath before the next entry) and drop its middle.
      keep[start + half_gap:end - half_gap] = False
  mask = np.repeat(keep, frame)[:x.shape[0]]
  return x[mask]


def check_finite(x: np.ndarray) -> None:
  if not np.all(np.isfinite(x)):
    raise BadAudioError(NON_FINITE, f"{int(np.sum(~np.isfinite(x)))} NaN/inf samples")


def validate(x: np.ndarray, rate: int, min_duration_s: float = MIN_DURATION_S,
             silent_peak_db: float = SILENT_PEAK_DB) -> None:
  """Raises `BadAudioError` unless `x` (mono) is finite, non-empty, audible and at least `min_duration_s`."""
  if x.size == 0:
    raise BadAudioError(EMPTY, "no audio frames")
  check_finite(x)
  if peak_db(x) < silent_peak_db:
    raise BadAudioError(SILENT, f"peak {peak_db(x):.1f} dBFS < {silent_peak_db} dBFS")
  if x.shape[0] < min_duration_s * rate:
    raise BadAudioError(TOO_SHORT, f"{x.shape[0] / rate:.2f} s < {min_duration_s} s")


def process(x: np.ndarray, rate: int, min_duration_s: float = MIN_DURATION_S,
            target_lufs: float = TARGET_LUFS) -> np.ndarray:
  """Decoded (frames, channels) audio at any rate -> validated, trimmed, normalised 16 kHz mono float32."""
  check_finite(x)  # before resampling, which would smear a NaN over the whole file
  y = resample(to_mono(x), rate, SAMPLE_RATE)
  if y.size == 0:
    raise BadAudioError(EMPTY, "no audio frames")
  if peak_db(y) < SILENT_PEAK_DB:
    raise BadAudioError(SILENT, f"peak {peak_db(y):.1f} dBFS < {SILENT_PEAK_DB} dBFS")
  y = trim_silence(y, SAMPLE_RATE)
  validate(y, SAMPLE_RATE, min_duration_s=min_duration_s)
  y = normalize_loudness(y, SAMPLE_RATE, target_lufs=target_lufs)
  check_finite(y)
  return y


def process_file(path: str | os.PathLike, min_duration_s: float = MIN_DURATION_S,
                 target_lufs: float = TARGET_LUFS) -> tuple[np.ndarray, int, int]:
  """Decodes and prepares one file: (16 kHz mono float32 samples, original rate, original channels)."""
  x, rate = decode(path)
  return process(x, rate, min_duration_s=min_duration_s, target_lufs=target_lufs), rate, x.shape[1]
