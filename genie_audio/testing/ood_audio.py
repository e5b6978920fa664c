"""Audio unlike the demo corpus, for out-of-distribution checks: a synthetic piano chord progression.

Inharmonic string partials (B = 4e-4), a 4 ms attack and partial-dependent decay, written as 44.1 kHz
stereo so the rate conversion and downmix are exercised too.
"""

from __future__ import annotations

import numpy as np

CHORDS = ((60, 64, 67, 72), (57, 60, 64, 69), (53, 57, 60, 65), (55, 59, 62, 67), (60, 64, 67, 72))


def piano_note(midi: int, seconds: float, rate: int, rng: np.random.Generator) -> np.ndarray:
  f0 = 440.0 * 2 ** ((midi - 69) / 12)
  t = np.arange(int(seconds * rate)) / rate
  out = np.zeros_like(t)
  for k in range(1, 12):
    fk = f0 * k * np.sqrt(1 + 4e-4 * k * k)  # stiff-string inharmonicity
    if fk > rate / 2:
      break
    out += np.sin(2 * np.pi * fk * t + rng.uniform(0, 2 * np.pi)) * np.exp(-t * (1.5 + 0.8 * k)) / k ** 1.2
  return out * np.minimum(t / 0.004, 1.0)


def piano_chords(rate: int = 44100, chord_seconds: float = 1.6, seed: int = 7) -> np.ndarray:
  """(T, 2) float32 stereo: CHORDS, one every `chord_seconds`, each ringing 1 s longer."""
  rng = np.random.default_rng(seed)
  wave = np.zeros(int(rate * (chord_seconds * len(CHORDS) + 1.0)))
  for i, chord in enumerate(CHORDS):
    start = int(i * chord_seconds * rate)
    for midi in chord:
      note = piano_note(midi, chord_seconds + 1.0, rate, rng)
      wave[start:start + len(note)] += note
  wave = 0.25 * wave / np.abs(wave).max()
  return np.stack([wave, 0.9 * wave], axis=1).astype(np.float32)
