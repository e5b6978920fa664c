"""Issue 11's dynamics ablation: which training makes edits follow the LAM's (change-coding) actions.

    python experiments/dynamics_ablation.py --lam runs/demo/lam [--arms base,step_mean10] [--steps 2000]
        [--set model.dim=16 --set eval.report_windows=4 ...]    # overrides for every arm (e.g. a smoke run)

Trains every arm below (the tiny dynamics config plus the arm's overrides) for the same number of steps on the
LAM run's action labels (equal steps are equal compute: the step-mean term costs nothing measurable), evaluates
each with launch/evaluate.py (the validation windows, `eval.report_windows` of them) and prints one table. A
finished arm is reused; `base` may be the demo's own dynamics run copied into --out. Columns:
  acc gG       edit action accuracy at guidance G: the LAM re-reading an edit gives the requested action
  x chance     the accuracy at the edit default guidance over chance (1 / number of actions)
  ceiling      the LAM re-reading the unedited windows gives their own labels (the most an edit can score)
  inpaint      in-painting error of the span with its own actions; unconditional: with none (what actions add)
  seam         mel distance across the span's edges at the default guidance (the unedited re-generation's beside)
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from absl import app, flags  # noqa: E402

from benchmarks.common import print_table  # noqa: E402
from experiments.common import cached_report, check_arms, config_flags, run_python  # noqa: E402

# name -> config overrides on configs/dynamics.py:tiny
ARMS = {
    "base": (),
    "step_mean10": ("--config.step_mean_weight=10",),  # ~R: the step means weigh about as much as the frames
    "step_mean30": ("--config.step_mean_weight=30",),
    "step_mean3": ("--config.step_mean_weight=3",),
    "step_mean10_s1": ("--config.step_mean_weight=10", "--config.seed=1"),  # the seed's share of a difference
    "dim128": ("--config.model.dim=128",),  # issue 25: a wider model for the 32-channel latent
    "base_s1": ("--config.seed=1",),
}

_LAM = flags.DEFINE_string("lam", "runs/demo/lam", "Trained LAM run (its latents labelled by it).")
_OUT = flags.DEFINE_string("out", "runs/dynamics_ablation", "Folder for the ablation runs.")
_ARMS = flags.DEFINE_list("arms", list(ARMS), "Arms to run.")
_STEPS = flags.DEFINE_integer("steps", 2000, "Training steps per arm (the demo's dynamics steps).")
_SET = flags.DEFINE_multi_string("set", [], "FIELD=VALUE config override for every arm, before the arm's own.")


def evaluate_arm(arm: str) -> dict:
  """Trains (or reuses) the arm and returns its launch/evaluate.py report (kept beside the run)."""
  workdir = os.path.join(_OUT.value, arm)
  return cached_report(workdir, _STEPS.value, lambda: run_python(
      "launch/train.py", "--config=configs/dynamics.py:tiny", f"--workdir={workdir}",
      f"--config.init.lam.workdir={os.path.abspath(_LAM.value)}", f"--config.total_steps={_STEPS.value}",
      f"--config.eval_every_steps={_STEPS.value}", f"--config.checkpoint_every_steps={_STEPS.value}",
      *config_flags(_SET.value), *ARMS[arm]))


def table_row(arm: str, report: dict) -> dict:
  row = {"arm": arm}
  row.update({f"acc g{g}": v["action_accuracy"] for g, v in report["per_guidance"].items()})
  row.update({"x chance": report["action_accuracy"] / report["chance"], "ceiling": report["action_accuracy_original"],
              "inpaint": report["inpaint_error"], "unconditional": report["inpaint_error_unconditional"],
              "seam": report["seam_mel_distance"], "seam unedited": report["seam_mel_distance_unedited"]})
  return row


def main(argv):
  del argv
  check_arms(_ARMS.value, ARMS)
  rows = []
  for arm in _ARMS.value:
    rows.append(table_row(arm, evaluate_arm(arm)))
    print(json.dumps(rows[-1]), flush=True)
  print_table(rows, title=f"Dynamics arms on {_LAM.value}'s actions ({_STEPS.value} steps each, tiny, validation "
                          "windows)")


if __name__ == "__main__":
  app.run(main)
