"""How much of a tokenizer's chroma does its spectral envelope carry alone? (issue 25)

    python experiments/envelope_share.py --workdirs runs/demo_8hz_h500/tokenizer [--ood runs/ood]

The envelope skip path (`models/envelope.py`) predicts a variance per STFT bin from the latent; the flow's network
adds the rest. For each run with an envelope, every recording (the run's validation split, and a folder of music
unlike it) is encoded and decoded twice: by the sampler (`codec.reconstruct`, as `launch/evaluate.py`) and from
the envelope alone (`codec.envelope_only`). If the envelope alone keeps most of the chroma, the notes are named by
the envelope head, and the head's and the latent's capacity are what to grow; if it keeps little, the network is
what carries them. Silence (a faint noise) is the metric's floor.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402
from absl import app, flags  # noqa: E402

from benchmarks import common  # noqa: E402
from experiments import music_sets  # noqa: E402
from genie_audio import codec, tasks  # noqa: E402
from genie_audio.eval import audio_metrics, pitch  # noqa: E402
from genie_audio.runs import run  # noqa: E402

_WORKDIRS = flags.DEFINE_list("workdirs", None, "Tokenizer runs with an envelope (model.envelope_bands).",
                              required=True)
_OOD = flags.DEFINE_string("ood", music_sets.UNLIKE_FOLDER, "Folder of music unlike the corpus ('' to skip; "
                           "the default is written on first use).")
_SECONDS = flags.DEFINE_float("max_seconds", 30.0, "Seconds read from each recording.")
_STEPS = flags.DEFINE_integer("sampler_steps", 16, "Euler steps of the full decode.")


def main(argv):
  del argv
  rows = []
  for workdir in _WORKDIRS.value:
    task = tasks.load(workdir)
    if not task.model.envelope_bands:
      raise ValueError(f"--workdirs: {workdir} has no spectral envelope (model.envelope_bands is 0)")
    params, ema, _ = run.load_train_params(workdir)
    params = ema if ema is not None else params
    for name, waves in music_sets.scored_sets(task.config.data.dataset_dir, _OOD.value, _SECONDS.value).items():
      renders = {"full": [codec.reconstruct(task.model, params, w, num_steps=_STEPS.value) for w in waves],
                 "envelope": [codec.envelope_only(task.model, params, w) for w in waves],
                 "silence": [audio_metrics.silence_baseline(w) for w in waves]}
      chroma = {k: float(np.mean([pitch.chroma_similarity(w, o) for w, o in zip(waves, outs)]))
                for k, outs in renders.items()}
      rows.append(dict(run=workdir, test=name, recordings=len(waves), full_chroma=chroma["full"],
                       envelope_chroma=chroma["envelope"], silence_chroma=chroma["silence"],
                       envelope_share=(chroma["envelope"] - chroma["silence"]) / (chroma["full"] - chroma["silence"])))
  common.print_table(rows, "chroma similarity: the full decode, the envelope alone, silence; envelope_share = "
                     "(envelope - silence) / (full - silence)")


if __name__ == "__main__":
  app.run(main)
