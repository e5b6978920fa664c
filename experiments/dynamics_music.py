"""Issue 23: where are the notes lost? Dynamics models trained differently (capacity, steps, the objective's time
sampling, context length), each scored on the audio of its edits (`genie_audio/eval/edit_music.py`).

    python experiments/dynamics_music.py --lam runs/demo/lam --arms base,steps2x,wide4x,low_noise,context2x \
        [--start_t 1,0.5] [--steps 2000]

Every arm is the tiny dynamics config plus its overrides, trained from the LAM run's labels (a finished arm is
reused; `base` may be the demo's own run copied into --out); compute is given relative to `base` per training
step times steps. Each arm's edits of 2 s spans at 10, 30 and 50 s of the validation recordings are scored from
pure noise (start_t 1: what the model writes by itself) and from the retrieval fill noised to each other --start_t:
  tonality, harmony, level_db   `span_music` on the edited span (reconstruction ~0.19 / ~0.8 / 0; noise ~0.06 / ~0.4)
  accuracy                      random-action edits read back from the output audio (chance 1/A)
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from absl import app, flags  # noqa: E402

from benchmarks.common import print_table  # noqa: E402
from experiments.common import cached_json, check_arms, run_python  # noqa: E402
from experiments.music_sets import validation_waves  # noqa: E402
from genie_audio.editing.edit import Editor  # noqa: E402
from genie_audio.eval import edit_music  # noqa: E402

# name -> (config overrides on configs/dynamics.py:tiny, compute per step relative to base, steps multiple)
ARMS = {
    "base": ((), 1.0, 1),
    "steps2x": ((), 1.0, 2),                                                    # the same model, twice the steps
    "wide4x": (("--config.model.dim=192", "--config.model.depth=4"), 4.0, 1),   # ~4x FLOPs per step
    "wide4x_steps2x": (("--config.model.dim=192", "--config.model.depth=4"), 4.0, 2),  # ~8x
    "low_noise": (("--config.time_power=2",), 1.0, 1),     # t = u^2: half the training below t = 0.25
    "context2x": (("--config.data.window_frames=160",), 2.0, 1),  # 3.2 s windows: twice the context per span
}

_LAM = flags.DEFINE_string("lam", "runs/demo/lam", "Trained LAM run (its latents labelled by it).")
_OUT = flags.DEFINE_string("out", "runs/dynamics_music", "Folder for the arms' runs.")
_ARMS = flags.DEFINE_list("arms", ["base", "steps2x", "wide4x", "low_noise"], "Arms to run.")
_STEPS = flags.DEFINE_integer("steps", 2000, "Training steps of `base` (the demo's dynamics steps).")
_START_T = flags.DEFINE_list("start_t", ["1", "0.5"], "Noise levels the edits start from (1: pure noise).")
_STARTS = flags.DEFINE_list("starts", ["10", "30", "50"], "Span start times (s) in every recording.")


def train_arm(arm: str) -> str:
  """The arm's finished run folder (trained now if it has no checkpoint of its last step)."""
  overrides, _, multiple = ARMS[arm]
  workdir, steps = os.path.join(_OUT.value, arm), _STEPS.value * multiple
  if not os.path.exists(os.path.join(workdir, "checkpoints", str(steps))):
    run_python("launch/train.py", "--config=configs/dynamics.py:tiny", f"--workdir={workdir}",
               f"--config.init.lam.workdir={os.path.abspath(_LAM.value)}", f"--config.total_steps={steps}",
               f"--config.eval_every_steps={steps}", f"--config.checkpoint_every_steps={steps}", *overrides)
  return workdir


def score_arm(arm: str, workdir: str) -> dict:
  """{start_t: summaries} of the arm's edits, kept beside the run (music_{starts}.json)."""
  def produce():
    editor = Editor.load(workdir)
    waves = validation_waves(workdir)
    found = {}
    for start_t in _START_T.value:
      rows = edit_music.evaluate(editor, waves, starts_s=[float(s) for s in _STARTS.value],
                                 edit_settings=dict(start_t=float(start_t)), fills=("resample", "random"))
      found[start_t] = edit_music.summarise(rows)
    return found
  return cached_json(os.path.join(workdir, f"music_{'_'.join(_START_T.value)}.json"), produce)


def main(argv):
  del argv
  check_arms(_ARMS.value, ARMS)
  rows = []
  for arm in _ARMS.value:
    _, per_step, multiple = ARMS[arm]
    scores = score_arm(arm, train_arm(arm))
    for start_t, summary in scores.items():
      resample, random = summary["resample"], summary["random"]
      rows.append({"arm": arm, "compute": per_step * multiple, "start_t": start_t,
                   "tonal resample": resample["tonality"], "harmony resample": resample["harmony"],
                   "level resample": resample["level_db"], "tonal random": random["tonality"],
                   "harmony random": random["harmony"], "accuracy random": random["accuracy"]})
      print(json.dumps(rows[-1]), flush=True)
  print_table(rows, title=f"Dynamics arms on {_LAM.value}'s actions, edits scored on the audio (validation, base = "
                          f"{_STEPS.value} steps of the tiny model)")


if __name__ == "__main__":
  app.run(main)
