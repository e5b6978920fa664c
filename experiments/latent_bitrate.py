"""Issue 25: what a tokenizer's continuous latent really costs, scored beside Opus at the same rate.

    python experiments/latent_bitrate.py --workdir runs/demo_l32/tokenizer [--ood runs/ood] \
        [--steps 0.5,0.25,0.125] [--max_seconds 30] [--output runs/demo_l32/latent_bitrate.json]

The nominal rate of a latent (8 bits a value) is a convention. Here every recording's latent (the run's
validation split, and a folder of music unlike the corpus; the first --max_seconds of each) is quantised per
channel with a step of STEP standard deviations of the run's training latents (`genie_audio/eval/latent_rate.py`),
decoded as `launch/evaluate.py` decodes a file (`codec`, the run's sampler) and scored. Its rate is the bits an
entropy coder with a fixed per-channel model of the training latents' symbols needs, over the seconds coded. Opus
at that rate (6 kbit/s at least, its floor) is scored on the same recordings, and the continuous latent above.
Columns per set: kbit/s, chroma similarity, mel distance, then Opus's kbit/s, chroma and mel.
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402
from absl import app, flags  # noqa: E402

from benchmarks import common  # noqa: E402
from experiments import music_sets  # noqa: E402
from genie_audio import codec, tasks  # noqa: E402
from genie_audio.data import latents as latent_files  # noqa: E402
from genie_audio.data.manifest import SAMPLE_RATE  # noqa: E402
from genie_audio.eval import baselines, latent_rate, reconstruction  # noqa: E402
from genie_audio.runs import run  # noqa: E402

_WORKDIR = flags.DEFINE_string("workdir", None, "Tokenizer run, with its training latents (launch/encode.py).",
                               required=True)
_OOD = flags.DEFINE_string("ood", music_sets.UNLIKE_FOLDER, "Folder of music unlike the corpus ('' to skip; "
                           "the default is written on first use).")
_STEPS = flags.DEFINE_list("steps", ["0.5", "0.25", "0.125"], "Quantiser steps, in training standard deviations.")
_SECONDS = flags.DEFINE_float("max_seconds", 30.0, "Seconds read from each recording.")
_OUTPUT = flags.DEFINE_string("output", None, "JSON: every row.")


def training_latents(workdir: str) -> list[np.ndarray]:
  """The run's encoded training recordings (T, C) each, from WORKDIR/latents."""
  folder = os.path.join(workdir, "latents")
  entries = latent_files.load_split(folder, "train") if latent_files.read_meta(folder) else []
  if not entries:
    raise ValueError(f"--workdir: {folder} has no encoded training latents; run launch/encode.py --workdir "
                     f"{workdir} first")
  return [np.load(os.path.join(folder, entry.shard)) for entry in entries]


def scores(waves: list[np.ndarray], outs: list[np.ndarray]) -> dict[str, float]:
  """Chroma similarity and mel distance (`reconstruction.mean_metrics`), averaged over the recordings."""
  each = reconstruction.average([reconstruction.mean_metrics(w, o) for w, o in zip(waves, outs)])
  return dict(chroma=each["chroma_similarity"], mel=each["mel_distance"])


def main(argv):
  del argv
  task = tasks.load(_WORKDIR.value)
  params, ema, _ = run.load_train_params(_WORKDIR.value)
  params = ema if ema is not None else params
  model, sampler = task.model, task.config.eval
  train = training_latents(_WORKDIR.value)
  std_C = np.concatenate(train).std(axis=0)
  steps = [float(s) for s in _STEPS.value]
  coders = {s: latent_rate.ChannelModel([latent_rate.quantise(z, s * std_C) for z in train]) for s in steps}
  rows = []
  for set_name, waves in music_sets.scored_sets(task.config.data.dataset_dir, _OOD.value, _SECONDS.value).items():
    gains = [codec.training_level_gain(w) for w in waves]
    encoded = [codec.encode_long(model, params, w * g) for w, g in zip(waves, gains)]
    seconds = sum(len(w) for w in waves) / SAMPLE_RATE
    decode = lambda latents: [codec.decode_long(model, params, z, num_samples=e.num_samples,
                                                num_steps=sampler.sampler_steps, method=sampler.method) / g
                              for z, e, g in zip(latents, encoded, gains)]
    opus_scores = {}  # by the rate Opus really uses: rates below its floor all clamp to 6 kbit/s
    arms = {"continuous": ([e.latents for e in encoded], float("nan"))}
    for s in steps:
      symbols = [latent_rate.quantise(e.latents, s * std_C) for e in encoded]
      kbps = sum(coders[s].bits(x) for x in symbols) / seconds / 1000.0
      arms[f"step {s:g}"] = ([latent_rate.dequantise(x, s * std_C) for x in symbols], kbps)
    for arm, (latents, kbps) in arms.items():
      row = dict(set=set_name, latent=arm, kbps=kbps, **scores(waves, decode(latents)))
      if baselines.opus_available() and np.isfinite(kbps):
        opus_kbps = baselines.opus_bitrate_kbps(kbps)
        if opus_kbps not in opus_scores:
          opus_scores[opus_kbps] = scores(waves, [baselines.opus_roundtrip(w, opus_kbps)[0] for w in waves])
        row.update(opus_kbps=opus_kbps, **{f"opus_{k}": v for k, v in opus_scores[opus_kbps].items()})
      rows.append(row)
      print(json.dumps(row), flush=True)
  common.print_table(rows, f"The latent of {_WORKDIR.value} quantised: kbit/s an entropy coder with a per-channel "
                           f"model of the training latents needs, and Opus at that rate")
  if _OUTPUT.value:
    with open(_OUTPUT.value + ".tmp", "w") as f:
      json.dump(rows, f, indent=1)
    os.replace(_OUTPUT.value + ".tmp", _OUTPUT.value)


if __name__ == "__main__":
  app.run(main)
