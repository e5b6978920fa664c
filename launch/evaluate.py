"""Evaluates a trained run of any stage (its task's `report`); the last line printed is one JSON object.

  python launch/evaluate.py --workdir runs/tok_tiny [--audio FILE_OR_DIR] [--steps 50] [--method heun]
  python launch/evaluate.py --workdir runs/dynamics [--action_guidance 1.0]

Without --audio the run's validation split is used (fixed crops); with it, each audio file is evaluated
whole. For the tokenizer the JSON holds mel_distance, si_sdr, lsd, chroma_similarity and chroma_correlation
(pitch: 1 = the same notes; a pitchless estimate scores ~0.6 and ~0 on music), sampler_steps and baselines
{silence, lowpass, envelope_vocoder, opus} with the same keys (envelope_vocoder: as many band energies per
second as the latent has values, resynthesised from noise; opus: Opus at the latent's bitrate, 8 bits per
value, at least 6 kbit/s). Without opus-tools the opus entry is left out; baseline_notes says why. For a LAM
run it holds the hidden-span errors, controllability_gap, codebook use and stability, eta_squared
{"state": {descriptor: share}, "move": {...}} and gain_invariance {"-10dB", "+6dB"} (genie_audio/training/
tasks/lam.py).
"""

import json
import os
import sys
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from absl import app, flags  # noqa: E402
from absl import logging as absl_logging  # noqa: E402

from genie_audio import tasks  # noqa: E402
from genie_audio.archive import prepare  # noqa: E402
from genie_audio.data import audio  # noqa: E402
from genie_audio.runs import run  # noqa: E402
from launch import process_flags  # noqa: E402

_WORKDIR = flags.DEFINE_string("workdir", None, "Run folder.", required=True)
_AUDIO = flags.DEFINE_string("audio", None, "Audio file or folder (searched recursively) to evaluate on.")
_STEPS = flags.DEFINE_integer("steps", None, "Sampler steps (default: the run's config).")
_METHOD = flags.DEFINE_string("method", None, "Sampler (default: the run's config).")
_SEED = flags.DEFINE_integer("seed", None, "Noise seed (default: the run's config).")
_ACTION_GUIDANCE = flags.DEFINE_float("action_guidance", None, "Dynamics runs: the LAM's pull towards the "
                                      "requested actions (default: the run's config.edit.action_guidance).")


def audio_paths(path: str) -> list[str]:
  if os.path.isdir(path):
    found = [str(Path(path) / p) for p in prepare.find_audio_files(path)]
    if not found:
      raise FileNotFoundError(f"--audio {path}: no audio files in this folder")
    return found
  if not os.path.exists(path):
    raise FileNotFoundError(f"--audio {path}: no such file or folder")
  return [path]


def main(argv):
  absl_logging.set_verbosity(absl_logging.WARNING)  # Orbax logs every restore at INFO
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {argv[1:]}")
  try:
    process_flags.initialize()  # before anything touches a device
    paths = audio_paths(_AUDIO.value) if _AUDIO.value else None
    task = tasks.load(_WORKDIR.value)
    if _ACTION_GUIDANCE.value is not None and task.name != "dynamics":
      raise ValueError(f"--action_guidance steers a dynamics run's edits; {_WORKDIR.value} is a {task.name} run")
    params, ema_params, step = run.load_train_params(_WORKDIR.value)
    options = {k: v for k, v in dict(steps=_STEPS.value, method=_METHOD.value, seed=_SEED.value,
                                     action_guidance=_ACTION_GUIDANCE.value).items() if v is not None}
    result = task.report(params, ema_params, paths, **options)
  except (FileNotFoundError, ValueError, audio.BadAudioError) as e:
    print(f"error: {e}", file=sys.stderr)
    print(json.dumps({"error": str(e)}))
    return 1
  print(json.dumps({"workdir": _WORKDIR.value, "step": step, **result}))
  return 0


if __name__ == "__main__":
  app.run(main)
