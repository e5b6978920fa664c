"""Issue 11's LAM ablation: which arm makes actions that are moves rather than volume levels.

    python experiments/lam_ablation.py --tokenizer runs/demo/tokenizer [--arms base,norm] [--steps 1500]
        [--set model.model_dim=16 --set eval.num_windows=4 ...]   # overrides on every arm (e.g. a smoke run)

Trains every arm of experiments/lam_arms.py for the same number of steps on the tokenizer run's latents (equal
steps are equal compute there; a finished arm is reused), evaluates each with launch/evaluate.py (on the
validation split: the hidden-span errors, codebook use, stability, eta squared of every step descriptor by
action, gain invariance) and prints one table. Columns:
  gap          hidden-span error with random actions / with the inferred ones (controllability)
  none/inf     the same with no action: what the actions add over the context alone
  step gap, step none/inf: the same on each hidden step's mean latent (what a step does as a whole)
  codes        codes used on the validation windows; perp: their perplexity
  stab         stability: same code for a step and the step read one frame later
  level, centroid: state eta squared; the move columns are the move descriptors' eta squared
  gain-10/+6   gain invariance with the tokenizer hearing the played level (`gain_invariance_raw`)
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from absl import app, flags  # noqa: E402

from experiments import lam_arms  # noqa: E402
from benchmarks.common import print_table  # noqa: E402
from experiments.common import cached_report, config_flags, run_python  # noqa: E402
from genie_audio.eval.descriptors import MOVES  # noqa: E402

_TOKENIZER = flags.DEFINE_string("tokenizer", "runs/demo/tokenizer", "Trained tokenizer run (with latents).")
_OUT = flags.DEFINE_string("out", "runs/lam_ablation", "Folder for the ablation runs.")
_ARMS = flags.DEFINE_list("arms", list(lam_arms.ARMS), "Arms to run (experiments/lam_arms.py).")
_STEPS = flags.DEFINE_integer("steps", 1500, "Training steps per arm (the demo's LAM steps).")
_SET = flags.DEFINE_multi_string("set", [], "FIELD=VALUE config override on every arm (after the arm's own).")

def evaluate_arm(arm: str) -> dict:
  """Trains (or resumes) the arm and returns its launch/evaluate.py report."""
  workdir = os.path.join(_OUT.value, arm)
  # A report without the step-mean errors predates them: evaluated again.
  return cached_report(workdir, _STEPS.value, lambda: _train(arm, workdir),
                       is_current=lambda report: "step_controllability_gap" in report)


def _train(arm: str, workdir: str) -> None:
  run_python("launch/train.py", f"--config=experiments/lam_arms.py:{arm}", f"--workdir={workdir}",
       f"--config.init.tokenizer.workdir={os.path.abspath(_TOKENIZER.value)}",
       f"--config.total_steps={_STEPS.value}", f"--config.eval_every_steps={_STEPS.value}",
       f"--config.checkpoint_every_steps={_STEPS.value}", *config_flags(_SET.value))


def table_row(arm: str, report: dict) -> dict:
  eta = report.get("eta_squared", {"state": {}, "move": {}})
  gain = report.get("gain_invariance_raw", {})
  row = {"arm": arm, "gap": report["controllability_gap"],
         "none/inf": report["hidden_error_none"] / report["hidden_error_inferred"],
         "step gap": report.get("step_controllability_gap"),
         "step none/inf": report["step_error_none"] / report["step_error_inferred"]
         if "step_error_none" in report else None,
         "codes": f"{round(report['codebook_usage'] * report['num_actions'])}/{report['num_actions']}",
         "perp": report["perplexity"], "stab": report["stability"],
         "level": eta["state"].get("loudness_db"), "centroid": eta["state"].get("centroid_hz"),
         "balance": eta["state"].get("low_high_db")}
  row.update({name: eta["move"].get(name) for name in MOVES})
  row.update({"gain-10": gain.get("-10dB"), "gain+6": gain.get("+6dB")})
  return row


def main(argv):
  del argv
  rows = []
  for arm in _ARMS.value:
    report = evaluate_arm(arm)
    report.setdefault("num_actions", lam_arms.get_config(arm).model.num_actions)
    rows.append(table_row(arm, report))
    print(json.dumps(rows[-1]), flush=True)
  print_table(rows, title=f"LAM arms on {_TOKENIZER.value} latents ({_STEPS.value} steps each, tiny LAM, "
                          "validation split)")


if __name__ == "__main__":
  app.run(main)
