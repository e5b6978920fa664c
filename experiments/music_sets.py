"""The recordings issue 23's runners edit: the validation split of a run's corpus, and pieces unlike the corpus."""

import os
import tempfile

import numpy as np

from genie_audio import codec
from genie_audio.data import manifest
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
