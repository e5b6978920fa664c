"""Degradations of clean music, the faults of old transfers: the quality filter's negatives when no bad
recordings are labelled (`quality.py train --bad synth`), and degraded copies to check a filter on. Also
`restyle`: changes that are style, not damage (another equaliser, another room), so that a filter trained on
one collection does not learn its sound as the mark of a good recording.

Each degradation maps mono float32 audio at `rate` to audio of the same length, with its strength drawn from
`rng` inside the range the issue asks for (noise at 0-10 dB SNR, band limits at 3-4 kHz, ...). Callers
re-normalise the loudness afterwards, as preparation would.
"""

from __future__ import annotations

from typing import Callable, Iterator

import numpy as np
import soxr
from scipy import signal

from genie_audio.data import audio
from genie_audio.data.manifest import SAMPLE_RATE


def _power(x: np.ndarray) -> float:
  return float(np.mean(np.square(x, dtype=np.float64))) + 1e-12


def _mix_at_snr(x: np.ndarray, noise: np.ndarray, snr_db: float) -> np.ndarray:
  gain = np.sqrt(_power(x) / (_power(noise) * 10.0 ** (snr_db / 10.0)))
  return (x + gain * noise).astype(np.float32)


def _shape_spectrum(x: np.ndarray, rate: int, gain_of_hz: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
  """x filtered by a zero-phase gain curve over frequency (one FFT of the whole signal)."""
  spectrum = np.fft.rfft(x)
  spectrum *= gain_of_hz(np.fft.rfftfreq(x.shape[0], 1.0 / rate))
  return np.fft.irfft(spectrum, n=x.shape[0]).astype(np.float32)


def noise(x: np.ndarray, rng: np.random.Generator, rate: int = SAMPLE_RATE) -> np.ndarray:
  """Stationary hiss to rumble (white to 1/f^1.5) at 0-10 dB SNR."""
  tilt = rng.uniform(0.0, 1.5)
  hiss = _shape_spectrum(rng.standard_normal(x.shape[0]).astype(np.float32), rate,
                         lambda f: np.maximum(f, 20.0) ** (-tilt / 2))
  return _mix_at_snr(x, hiss, rng.uniform(0.0, 10.0))


def crackle(x: np.ndarray, rng: np.random.Generator, rate: int = SAMPLE_RATE) -> np.ndarray:
  """Surface crackle (dense small impulses) and clicks (sparse loud ones, 5-50 a second), each a short decay."""
  n = x.shape[0]
  rms = np.sqrt(_power(x))
  impulses = np.zeros(n, np.float32)
  crackles, clicks = (rng.uniform(200, 1000), rng.uniform(0.3, 1.5)), (rng.uniform(5, 50), rng.uniform(2, 8))
  for per_second, level in (crackles, clicks):  # (impulses per second, size relative to the music's RMS)
    at = rng.integers(0, n, int(per_second * n / rate))
    sizes = rms * level * rng.standard_normal(at.size) * rng.uniform(0.2, 1.0, at.size)
    np.add.at(impulses, at, sizes.astype(np.float32))
  # A click rings for a fraction of a millisecond in the stylus and the amplifier.
  decay = np.exp(-np.arange(int(rate * 0.002)) / (rate * rng.uniform(0.0002, 0.0008))).astype(np.float32)
  return (x + np.convolve(impulses, decay)[:n]).astype(np.float32)


def band_limit(x: np.ndarray, rng: np.random.Generator, rate: int = SAMPLE_RATE) -> np.ndarray:
  """Low-pass at 3-4 kHz (a 78 rpm side, a telephone), with a low cut at 50-300 Hz half the time."""
  high = rng.uniform(3000.0, 4000.0)
  low = rng.uniform(50.0, 300.0) if rng.random() < 0.5 else 0.0

  def raised_cosine(u):
    return 0.5 - 0.5 * np.cos(np.pi * np.clip(u, 0.0, 1.0))

  def gain(f):
    # Steep but not brick-wall: a 300 Hz roll-off, as an old cutter head would give.
    return raised_cosine((high + 150.0 - f) / 300.0) * (raised_cosine((f - low + 25.0) / 50.0) if low else 1.0)

  return _shape_spectrum(x, rate, gain)


def clipping(x: np.ndarray, rng: np.random.Generator, rate: int = SAMPLE_RATE) -> np.ndarray:
  """Hard clipping of the loudest 2-15% of samples."""
  del rate
  level = np.quantile(np.abs(x), 1.0 - rng.uniform(0.02, 0.15))
  return np.clip(x, -level, level).astype(np.float32)


def wow_flutter(x: np.ndarray, rng: np.random.Generator, rate: int = SAMPLE_RATE) -> np.ndarray:
  """Speed wobble: wow (0.3-2 Hz, 0.3-1.5% pitch deviation) plus flutter (4-12 Hz, 0.1-0.5%)."""
  n = x.shape[0]
  up = 4  # linear interpolation at 4x the rate: its own low-pass stays under 1 dB below Nyquist
  t = np.arange(n * up, dtype=np.float64) / (rate * up)
  offset_s = np.zeros_like(t)
  for low_hz, high_hz, low_dev, high_dev in ((0.3, 2.0, 0.003, 0.015), (4.0, 12.0, 0.001, 0.005)):
    hz, deviation = rng.uniform(low_hz, high_hz), rng.uniform(low_dev, high_dev)
    # A pitch deviation d at rate f is a time offset of amplitude d / (2 pi f).
    offset_s += deviation / (2 * np.pi * hz) * np.sin(2 * np.pi * hz * t + rng.uniform(0, 2 * np.pi))
  fine = soxr.resample(x, rate, rate * up)
  warped = np.interp((t + offset_s) * rate * up, np.arange(fine.shape[0]), fine)
  return soxr.resample(warped.astype(np.float32), rate * up, rate)[:n].astype(np.float32)


def _voice(n: int, rng: np.random.Generator, rate: int) -> np.ndarray:
  """One talker: a gliding glottal buzz through vowel formants that change each syllable, in syllable bursts."""
  t = np.arange(n) / rate
  f0 = rng.uniform(90, 250) * (1 + 0.15 * np.sin(2 * np.pi * rng.uniform(0.2, 1.0) * t + rng.uniform(0, 6)))
  buzz = 2.0 * ((np.cumsum(f0) / rate) % 1.0) - 1.0  # a sawtooth: every harmonic, as vocal folds give
  buzz += 0.3 * rng.standard_normal(n)  # breath
  syllable_s = rng.uniform(0.15, 0.3)
  syllables = int(np.ceil(n / (syllable_s * rate))) + 1
  # Per syllable: one of a few vowels (formant pairs) and a loudness, with pauses between phrases.
  vowels = rng.uniform([250, 800], [850, 2500], size=(4, 2))
  which = rng.integers(0, len(vowels), syllables)
  loud = rng.uniform(0.3, 1.0, syllables) * (rng.random(syllables) > 0.2)
  position = t / syllable_s
  index = position.astype(int)
  shape = np.sin(np.pi * (position - index)) ** 2  # each syllable swells and fades
  spectrum = np.fft.rfft(buzz.astype(np.float32))
  f = np.fft.rfftfreq(n, 1.0 / rate)
  out = np.zeros(n, np.float32)
  for v, (f1, f2) in enumerate(vowels):
    formants = np.exp(-np.square((f - f1) / 120)) + 0.6 * np.exp(-np.square((f - f2) / 200))
    vowel = np.fft.irfft(spectrum * formants, n=n).astype(np.float32)
    out += vowel * ((which[index] == v) * loud[index] * shape).astype(np.float32)
  return out


def babble(x: np.ndarray, rng: np.random.Generator, rate: int = SAMPLE_RATE) -> np.ndarray:
  """Two to six speech-like talkers (an announcer, a noisy room) at 0-10 dB SNR."""
  talkers = sum(_voice(x.shape[0], rng, rate) for _ in range(rng.integers(2, 7)))
  return _mix_at_snr(x, talkers, rng.uniform(0.0, 10.0))


def restyle(x: np.ndarray, rng: np.random.Generator, rate: int = SAMPLE_RATE) -> np.ndarray:
  """Clean audio as another mastering, source and room would give it: a spectral tilt of -3..3 dB per octave
  around 1 kHz, two broad (one octave) boosts or cuts of up to 8 dB anywhere from 80 Hz to 6 kHz, a third of
  the time nothing above 5-7 kHz (a source recorded at a lower rate, an instrument with no highs), and half the
  time a room (an exponentially decaying noise tail, RT60 0.2-1.2 s, 10-40% of the level). A band limit at
  3-4 kHz (band_limit) stays damage."""
  tilt = rng.uniform(-3.0, 3.0)
  bumps = [(np.log2(rng.uniform(80.0, 6000.0)), rng.uniform(-8.0, 8.0)) for _ in range(2)]
  top = rng.uniform(5000.0, 7000.0) if rng.random() < 1 / 3 else np.inf

  def gain(f):
    octaves = np.log2(np.clip(f, 50.0, rate / 2))
    db = tilt * (octaves - np.log2(1000.0)) + sum(g * np.exp(-0.5 * np.square((octaves - c) / 0.5)) for c, g in bumps)
    return 10.0 ** (db / 20.0) * np.clip((top + 100.0 - f) / 200.0, 0.0, 1.0)

  y = _shape_spectrum(x, rate, gain)
  if rng.random() < 0.5:
    rt60 = rng.uniform(0.2, 1.2)
    t = np.arange(int(rt60 * rate)) / rate
    tail = (rng.standard_normal(t.shape[0]) * np.exp(-6.9 * t / rt60)).astype(np.float32)
    wet = signal.fftconvolve(y, tail)[:y.shape[0]]
    y = y + (np.sqrt(_power(y) / _power(wet)) * rng.uniform(0.1, 0.4) * wet).astype(np.float32)
  return y.astype(np.float32)


DEGRADATIONS: dict[str, Callable[[np.ndarray, np.random.Generator, int], np.ndarray]] = {
    "noise": noise, "crackle": crackle, "band_limit": band_limit, "clipping": clipping,
    "wow_flutter": wow_flutter, "babble": babble,
}


def degrade(x: np.ndarray, kind: str, rng: np.random.Generator, rate: int = SAMPLE_RATE) -> np.ndarray:
  """`x` (mono float32) with the degradation `kind` (a key of DEGRADATIONS)."""
  if kind not in DEGRADATIONS:
    raise ValueError(f"unknown degradation {kind!r}; choose from {sorted(DEGRADATIONS)}")
  x = np.asarray(x, dtype=np.float32)
  y = DEGRADATIONS[kind](x, rng, rate)
  # Resampling inside a degradation may round the length; callers index cuts by the original's samples.
  return np.pad(y[:x.shape[0]], (0, max(0, x.shape[0] - y.shape[0])))


def degraded_copies(x: np.ndarray, seed: int, index: int, rate: int = SAMPLE_RATE) -> Iterator[tuple[str, np.ndarray]]:
  """(kind, copy) for every degradation of prepared audio `x`, loudness-normalised as preparation would; the
  strengths are drawn from (seed, index, kind), so the copies do not depend on the order they are made in."""
  for k, kind in enumerate(DEGRADATIONS):
    copy = degrade(x, kind, np.random.default_rng([seed, index, k]), rate)
    yield kind, audio.normalize_loudness(copy, rate)


def mixed_copy(x: np.ndarray, blocks: list[tuple[int, int]], seed: int, index: int,
               rate: int = SAMPLE_RATE) -> tuple[np.ndarray, list[str]]:
  """One copy of `x` whose consecutive `blocks` (start, end) each carry another degradation, then
  loudness-normalised as a whole; also returns each block's kind. Block b of recording `index` gets kind
  (index + b) mod 6, so a collection covers every kind even when its recordings are short."""
  kinds = [list(DEGRADATIONS)[(index + b) % len(DEGRADATIONS)] for b in range(len(blocks))]
  parts = [degrade(x[start:end], kind, np.random.default_rng([seed, index, b]), rate)
           for b, ((start, end), kind) in enumerate(zip(blocks, kinds))]
  return audio.normalize_loudness(np.concatenate(parts), rate), kinds
