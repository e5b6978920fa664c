"""Eta squared of every step descriptor by action, for finished LAM runs (no training, no gain invariance).

    python experiments/lam_eta.py --workdirs runs/lam_ablation2/norm,runs/lam_ablation3/level_side
    python experiments/lam_eta.py --workdirs runs/demo/lam --audio data/ood    # music unlike the corpus

The same numbers as the `eta_squared` of launch/evaluate.py's report (`action_analysis.measure` on the runs'
validation recordings), so descriptors added after a run was evaluated (e.g. centroid_jump_oct) can be
filled in for it without evaluating it again. With --audio, the steps are those of the audio files in that
folder instead (searched recursively; e.g. music unlike the training corpus, such as the pieces of
`genie_audio/testing/ood_audio.py` in data/ood), their actions inferred as the editor infers them (coded at
the training loudness).
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import dataclasses  # noqa: E402

import numpy as np  # noqa: E402
from absl import app, flags  # noqa: E402

from benchmarks.common import print_table  # noqa: E402

from genie_audio.codec import load_audio  # noqa: E402
from genie_audio.archive import prepare  # noqa: E402
from genie_audio.data.manifest import SAMPLE_RATE  # noqa: E402
from genie_audio.editing.action_reader import ActionReader  # noqa: E402
from genie_audio.eval import action_analysis  # noqa: E402

_WORKDIRS = flags.DEFINE_list("workdirs", None, "Finished LAM runs.", required=True)
_SPLIT = flags.DEFINE_string("split", "validation", "Split whose recordings are analysed.")
_AUDIO = flags.DEFINE_string("audio", None, "Folder of audio files to analyse instead of the split.")


@dataclasses.dataclass(frozen=True)
class _File:
  name: str
  audio_path: str


class AudioFolderReader:
  """What `action_analysis.analyze` asks of an ActionReader, over the audio files of a folder: each file's
  timeline is inferred from its waveform by `reader.infer_actions` (no latent store involved)."""

  def __init__(self, reader: ActionReader, folder: str):
    self.reader = reader
    self.step_samples, self.num_actions, self.step_seconds = (reader.step_samples, reader.num_actions,
                                                              reader.step_seconds)
    paths = prepare.find_audio_files(folder)
    if not paths:
      raise FileNotFoundError(f"--audio {folder}: no audio files in this folder")
    self.files = [_File(str(p), os.path.join(folder, p)) for p in paths]

  def recordings(self, split: str):
    del split
    return self.files

  def read(self, ref: _File, max_seconds: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    wave = load_audio(ref.audio_path)
    if max_seconds is not None:
      wave = wave[:int(max_seconds * SAMPLE_RATE)]
    return wave, wave   # the "latents" handed to timeline_of: the wave itself, coded there

  def timeline_of(self, wave: np.ndarray) -> np.ndarray:
    return self.reader.infer_actions(wave).codes


def main(argv):
  del argv
  rows = []
  for workdir in _WORKDIRS.value:
    reader = ActionReader.load(workdir)
    if _AUDIO.value:
      reader = AudioFolderReader(reader, _AUDIO.value)
    analysis = action_analysis.analyze(reader, _SPLIT.value)
    eta = action_analysis.measure(analysis)["eta_squared"]
    rows.append({"run": workdir, "steps": len(analysis.codes),
                 "codes": len(np.unique(analysis.codes)), **eta["state"], **eta["move"]})
  where = f"the audio files in {_AUDIO.value}" if _AUDIO.value else f"the {_SPLIT.value} split"
  print_table(rows, title=f"Eta squared by action, {where}")


if __name__ == "__main__":
  app.run(main)
