"""Waveform augmentations for tokenizer training: random pitch shifts, band limits and level fades, as pure numpy.

Why: the tokenizer's decoder is generative. One that only ever saw full-band, evenly loud crops (the demo
corpus: drums, bass and comping in every bar, loudness-normalised) learns to paint that texture in whatever
the latent says: broadband hiss over a band-limited record, a bass line under a solo piano, a constant level
over a decaying tail. Band-limiting and fading random training crops makes the latent carry the spectral
envelope and the level, so the decoder reproduces what is there. Old jazz records, the first users' data,
are band-limited (little above 5-8 kHz), which is exactly the low-pass case. A pitch shift (the crop played
faster or slower, so its tempo and timbre move too) puts every register and key in front of the decoder, not
only the corpus's: a decoder that must name notes it never heard in that register writes the nearest it knows.

Every function is deterministic given its arguments; `WaveAugment` draws its choices from the example's own
`np.random.Generator` (Grain's `random_map`), so a resumed run sees the same augmented crops.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from genie_audio.data.manifest import SAMPLE_RATE


def band_response(freqs_hz: np.ndarray, low_hz: float | None, high_hz: float | None, order: int) -> np.ndarray:
  """Butterworth magnitude response: a high-pass at `low_hz` times a low-pass at `high_hz` (None = none)."""
  freqs_hz = np.asarray(freqs_hz, np.float64)
  response = np.ones_like(freqs_hz)
  if high_hz is not None:
    response /= np.sqrt(1.0 + (freqs_hz / high_hz) ** (2 * order))
  if low_hz is not None:
    ratio = np.divide(low_hz, freqs_hz, out=np.full_like(freqs_hz, np.inf), where=freqs_hz > 0)
    response /= np.sqrt(1.0 + ratio ** (2 * order))
  return response


def band_limit(wave_T: np.ndarray, low_hz: float | None, high_hz: float | None, order: int = 2,
               rate: int = SAMPLE_RATE) -> np.ndarray:
  """Zero-phase band limiting in the frequency domain. The signal is mirrored at both ends first, so the
  FFT's circular wrap does not smear the end of the crop into its start."""
  wave_T = np.asarray(wave_T, np.float32)
  n = wave_T.shape[0]
  pad = min(n - 1, n // 4)
  padded = np.pad(wave_T, pad, mode="reflect") if pad > 0 else wave_T
  spectrum = np.fft.rfft(padded)
  spectrum *= band_response(np.fft.rfftfreq(padded.shape[0], 1.0 / rate), low_hz, high_hz, order)
  return np.fft.irfft(spectrum, n=padded.shape[0])[pad:pad + n].astype(np.float32)


def level_ramp(length: int, start_db: float, end_db: float) -> np.ndarray:
  """Gain (length,) that moves linearly in dB from start_db to end_db (a fade in or out)."""
  return (10.0 ** (np.linspace(start_db, end_db, length) / 20.0)).astype(np.float32)


def frames_for_pitch_shift(crop_frames: int, max_semitones: float) -> int:
  """How many samples a crop needs to come out `crop_frames` long after a shift of up to `max_semitones` up."""
  return int(np.ceil(crop_frames * 2.0 ** (abs(max_semitones) / 12.0))) + 1


def pitch_shift(wave_T: np.ndarray, semitones: float, length: int) -> np.ndarray:
  """The first `length` samples of `wave_T` played 2^(semitones/12) times faster (pitch, tempo and timbre move
  together), band-limited: resampled in the frequency domain, so nothing aliases. `wave_T` must hold
  `frames_for_pitch_shift(length, semitones)` samples. Mirrored at both ends first, as in `band_limit`."""
  wave_T = np.asarray(wave_T, np.float32)
  needed = frames_for_pitch_shift(length, semitones)
  if wave_T.shape[0] < needed:
    raise ValueError(f"a shift of {semitones:+.2f} semitones to {length} samples needs {needed}, got "
                     f"{wave_T.shape[0]}")
  ratio = 2.0 ** (semitones / 12.0)
  segment = wave_T[:needed]
  pad = segment.shape[0] // 4
  padded = np.pad(segment, pad, mode="reflect")
  out_frames = int(round(padded.shape[0] / ratio))
  spectrum = np.fft.rfft(padded)[:out_frames // 2 + 1]  # a shift up drops what would pass the new Nyquist
  resampled = np.fft.irfft(spectrum, n=out_frames) * (out_frames / padded.shape[0])
  start = int(round(pad / ratio))
  return resampled[start:start + length].astype(np.float32)


def _log_uniform(rng: np.random.Generator, low: float, high: float) -> float:
  return float(np.exp(rng.uniform(np.log(low), np.log(high))))


@dataclasses.dataclass(frozen=True)
class WaveAugment:
  """Random pitch shifts, band limits and fades for one crop; picklable (Grain worker processes) and cheap (an
  FFT or two).

  Each part happens independently with its probability: a pitch shift by U[-pitch_semitones, pitch_semitones]
  semitones (the crop is then read `frames_to_read` long and shifted to its length), a low-pass at a
  log-uniform cutoff in `lowpass_hz`, a high-pass at a log-uniform cutoff in `highpass_hz` (Butterworth
  magnitude of `order`), and a fade over the whole crop from 0 dB down to -U[0, fade_db] dB, in or out with
  equal chance.
  """
  lowpass_prob: float = 0.0
  lowpass_hz: tuple[float, float] = (1000.0, 7000.0)
  highpass_prob: float = 0.0
  highpass_hz: tuple[float, float] = (40.0, 400.0)
  order: int = 2
  fade_prob: float = 0.0
  fade_db: float = 40.0
  pitch_prob: float = 0.0
  pitch_semitones: float = 3.0

  @property
  def active(self) -> bool:
    return max(self.lowpass_prob, self.highpass_prob, self.fade_prob, self.pitch_prob) > 0

  def frames_to_read(self, crop_frames: int) -> int:
    """The samples to read for a crop of `crop_frames`: more than it when a shift up may need them."""
    return frames_for_pitch_shift(crop_frames, self.pitch_semitones) if self.pitch_prob > 0 else crop_frames

  def __call__(self, wave_T: np.ndarray, rng: np.random.Generator, crop_frames: int | None = None) -> np.ndarray:
    """`wave_T` (`frames_to_read(crop_frames)` samples) -> an augmented crop of `crop_frames` (default: all)."""
    crop_frames = wave_T.shape[0] if crop_frames is None else crop_frames
    # Every draw happens whether or not its part applies, so one part's probability does not shift the
    # random stream of the others; the pitch draws come last, so runs from before them see the same stream.
    lowpass, highpass, fade = rng.uniform(size=3) < (self.lowpass_prob, self.highpass_prob, self.fade_prob)
    high_hz, low_hz = _log_uniform(rng, *self.lowpass_hz), _log_uniform(rng, *self.highpass_hz)
    depth_db, fade_in = rng.uniform(0.0, self.fade_db), rng.uniform() < 0.5
    shift, semitones = False, 0.0
    if self.pitch_prob > 0:
      shift, semitones = rng.uniform() < self.pitch_prob, rng.uniform(-self.pitch_semitones, self.pitch_semitones)
    wave_T = pitch_shift(wave_T, semitones, crop_frames) if shift else wave_T[:crop_frames]
    if lowpass or highpass:
      wave_T = band_limit(wave_T, low_hz if highpass else None, high_hz if lowpass else None, self.order)
    if fade:
      ramp = level_ramp(wave_T.shape[0], 0.0, -depth_db)
      wave_T = wave_T * (ramp[::-1] if fade_in else ramp)
    return np.asarray(wave_T, np.float32)


def validate(augment: WaveAugment, field: str = "data.augment") -> None:
  """ValueError naming the config field of the first invalid setting."""
  for name in ("lowpass_prob", "highpass_prob", "fade_prob", "pitch_prob"):
    value = getattr(augment, name)
    if not 0.0 <= value <= 1.0:
      raise ValueError(f"config.{field}.{name}={value!r}: must be in [0, 1]")
  for name in ("lowpass_hz", "highpass_hz"):
    low, high = getattr(augment, name)
    if not 0.0 < low <= high < SAMPLE_RATE / 2:
      raise ValueError(f"config.{field}.{name}={(low, high)!r}: need 0 < low <= high < {SAMPLE_RATE // 2} Hz")
  if augment.order < 1:
    raise ValueError(f"config.{field}.order={augment.order!r}: must be >= 1")
  if augment.fade_db < 0:
    raise ValueError(f"config.{field}.fade_db={augment.fade_db!r}: must be >= 0")
  if not 0.0 <= augment.pitch_semitones <= 12.0:
    raise ValueError(f"config.{field}.pitch_semitones={augment.pitch_semitones!r}: must be in [0, 12]")


def from_config(augment_config) -> WaveAugment:
  """A `WaveAugment` from `config.data.augment` (a mapping with its field names), validated."""
  fields = {f.name for f in dataclasses.fields(WaveAugment)}
  augment_config = dict(augment_config)
  unknown = sorted(set(augment_config) - fields)
  if unknown:
    raise ValueError(f"config.data.augment: unknown field(s) {unknown}; known: {sorted(fields)}")
  kwargs = {k: tuple(float(x) for x in v) if k.endswith("_hz") else v for k, v in augment_config.items()}
  augment = WaveAugment(**kwargs)
  validate(augment)
  return augment
