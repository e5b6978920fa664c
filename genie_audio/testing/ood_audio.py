"""Music unlike the demo corpus, for out-of-distribution checks of the tokenizer.

- `piano_chords`: additive synthesis (inharmonic string partials, B = 4e-4, a 4 ms attack and partial-dependent
  decay), written as 44.1 kHz stereo so the rate conversion and downmix are exercised too. Digitally clean:
  above ~4 kHz and between the notes' decays it is exact silence, which no real recording has.
- `mma_piece`: two non-jazz pieces (an organ hymn; piano arpeggios over sustained strings) with no drums,
  bass line or swing, rendered like the corpus (MMA, FluidSynth).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from genie_audio.archive import demo_corpus

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


# Two pieces with none of the demo corpus's jazz-combo texture (no drums, no walking bass, no swing), written
# for MMA's non-jazz grooves and rendered like the corpus (FluidSynth, FluidR3 GM), 16 kHz mono.
PIECES = {
    # A four-part church-organ hymn in D major, slow, held chords.
    "organ_hymn": ("Tempo 72\nGroove Hymn\n", "D G D A D Bm Em A D G D/F# G A7 D G D"),
    # Quarter-note piano arpeggios over sustained strings, in A minor.
    "arpeggio_strings": ("Tempo 88\nGroove Arpeggio4Sus\n", "Am F C G Am Dm E7 Am F G C Am Dm E7 Am Am"),
}


def mma_piece(name: str, out_wav, work_dir) -> None:
  """Renders PIECES[name] (one chord a bar, then a held last bar) to `out_wav`; needs mma and fluidsynth."""
  header, chords = PIECES[name]
  bars = "".join(f"{i + 1} {chord}\n" for i, chord in enumerate(chords.split()))
  song = f"{header}{bars}Groove None\n{len(chords.split()) + 1} z!\n"
  demo_corpus.render(song, Path(out_wav), Path(work_dir), demo_corpus.soundfont())
