"""Small synthetic prepared datasets for tests: harmonic notes with envelopes, written in the real format."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

from genie_audio.data import manifest


def harmonic_notes(seconds: float, rng: np.random.Generator, note_s: float = 0.25) -> np.ndarray:
  """A melody of decaying harmonic notes: music-like enough for metrics, cheap to make."""
  n = int(seconds * manifest.SAMPLE_RATE)
  t = np.arange(int(note_s * manifest.SAMPLE_RATE)) / manifest.SAMPLE_RATE
  notes = []
  while sum(len(x) for x in notes) < n:
    f0 = 110.0 * 2 ** (rng.integers(0, 24) / 12)
    note = sum(np.sin(2 * np.pi * f0 * k * t) / k for k in range(1, 5)) * np.exp(-6 * t)
    notes.append(note)
  return (0.3 * np.concatenate(notes)[:n]).astype(np.float32)


def write_fake_dataset(dataset_dir: str | Path, recordings: int = 4, seconds: float = 3.0,
                       validation: int = 1, seed: int = 0) -> Path:
  """Writes `recordings` shards (the last `validation` of them in the validation split) and a manifest."""
  dataset_dir = Path(dataset_dir)
  (dataset_dir / manifest.SHARDS).mkdir(parents=True, exist_ok=True)
  rng = np.random.default_rng(seed)
  for i in range(recordings):
    wave = harmonic_notes(seconds, rng)
    shard = f"{manifest.SHARDS}/fake{i:03d}.wav"
    sf.write(dataset_dir / shard, wave, manifest.SAMPLE_RATE, subtype="FLOAT")
    split = "validation" if i >= recordings - validation else "train"
    record = manifest.Recording(shard, f"fake{i:03d}.wav", len(wave), manifest.SAMPLE_RATE, 1, split)
    manifest.append_line(dataset_dir / manifest.MANIFEST, record.to_json())
  return dataset_dir
