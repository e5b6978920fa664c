"""The recordings the runners edit and score: a split of a run's corpus, and pieces unlike the corpus."""

import os
import tempfile

import numpy as np
import soundfile as sf

from genie_audio import codec
from genie_audio.data import manifest, pipelines
from genie_audio.data.manifest import SAMPLE_RATE
from genie_audio.runs import trained_run
from genie_audio.testing import ood_audio


def validation_waves(workdir: str) -> dict[str, np.ndarray]:
  """The validation recordings of the corpus the dynamics run's tokenizer was trained on, by file name."""
  lam = trained_run.load_lam(trained_run.load(workdir).config.init.lam.workdir, "the dynamics run's LAM")
  dataset_dir = trained_run.load_tokenizer(trained_run.lam_latent_dir(lam)).config.data.dataset_dir
  return {r.source: codec.load_audio(str(manifest.shard_path(dataset_dir, r)))
          for r in manifest.load_split(dataset_dir, "validation")}


def unlike_the_corpus() -> dict[str, np.ndarray]:
  """Synthetic piano chords, and where MMA and FluidSynth are installed an organ hymn and piano arpeggios over
  strings (`genie_audio/testing/ood_audio.py`)."""
  waves = {"piano_chords": ood_audio.piano_chords(rate=SAMPLE_RATE)[:, 0]}
  with tempfile.TemporaryDirectory() as work:
    for name in ood_audio.PIECES:
      try:
        ood_audio.mma_piece(name, os.path.join(work, f"{name}.wav"), work)
        waves[name] = codec.load_audio(os.path.join(work, f"{name}.wav"))
      except (OSError, RuntimeError, ValueError) as e:  # no mma / fluidsynth: the synthetic piece alone
        print(f"{name} left out: {e}", flush=True)
  return waves


# Where the runners keep the pieces unlike the corpus when no other folder is named (written on first use).
UNLIKE_FOLDER = "runs/ood"


def write_unlike_folder(folder: str) -> None:
  """The pieces unlike the corpus as .wav files in `folder` (those already there are kept): the synthetic piano
  chords at 44.1 kHz, and the organ hymn and the arpeggios over strings rendered by MMA and FluidSynth."""
  os.makedirs(folder, exist_ok=True)
  if not os.path.exists(f"{folder}/piano_chords.wav"):
    sf.write(f"{folder}/piano_chords.wav", ood_audio.piano_chords(), 44100)
  for name in ood_audio.PIECES:
    if not os.path.exists(f"{folder}/{name}.wav"):
      with tempfile.TemporaryDirectory() as work:
        ood_audio.mma_piece(name, f"{folder}/{name}.wav", work)


def split_waves(dataset_dir: str, split: str, max_seconds: float) -> list[np.ndarray]:
  """The first `max_seconds` of each recording of a prepared dataset's split."""
  n = int(max_seconds * SAMPLE_RATE)
  return [pipelines.read_wave(str(manifest.shard_path(dataset_dir, r)), 0, min(n, r.frames))
          for r in manifest.load_split(dataset_dir, split)]


def scored_sets(dataset_dir: str, ood_folder: str, max_seconds: float) -> dict[str, list[np.ndarray]]:
  """{"validation": the split's recordings, "ood": each .wav of `ood_folder` (left out when it is '')}, the first
  `max_seconds` of each."""
  sets = {"validation": split_waves(dataset_dir, "validation", max_seconds)}
  if ood_folder:
    sets["ood"] = unlike_waves(ood_folder, max_seconds)
  return sets


def unlike_waves(folder: str, max_seconds: float | None = None) -> list[np.ndarray]:
  """`folder_waves` of a folder of music unlike the corpus; `UNLIKE_FOLDER` is written first if it is missing,
  another folder must exist."""
  if folder == UNLIKE_FOLDER:
    write_unlike_folder(folder)
  return folder_waves(folder, max_seconds)


def folder_waves(folder: str, max_seconds: float | None = None) -> list[np.ndarray]:
  """Each .wav of `folder`, in name order: the first `max_seconds` of it (None: all of it)."""
  paths = sorted(os.path.join(folder, f) for f in os.listdir(folder) if f.endswith(".wav"))
  n = None if max_seconds is None else int(max_seconds * SAMPLE_RATE)
  return [codec.load_audio(p)[:n] for p in paths]
