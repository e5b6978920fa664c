"""Issue 11: does steering the sampler by the LAM (action guidance) make edits follow the actions, and is the
gain real (seen without the LAM) or the LAM fooled?

    python experiments/action_guidance.py --workdir runs/demo/dynamics [--weights 0,0.3,1,3] [--out DIR]

Evaluates the trained dynamics run with launch/evaluate.py once per action-guidance weight (the validation
windows, `eval.report_windows` of them; the same start noise for every weight) and prints one table. Reports
are kept in --out (default: WORKDIR/action_guidance) and reused. Columns:
  acc gG        edit action accuracy at classifier-free guidance G: the LAM re-reading an edit gives the request
  x chance      accuracy at the run's default guidance over chance (1 / number of actions)
  level r gG    the LAM-free check: correlation of the requested actions' mean level moves with the moves the
                edits made (eval/edit_metrics.py; original: the unedited windows against their own labels)
  inpaint       latent error of the span re-generated with its own actions (guided too: the cost to fidelity)
  seam          mel distance across the span's edges at the default guidance (the unedited re-generation's beside)
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from absl import app, flags  # noqa: E402

from benchmarks.common import print_table  # noqa: E402
from experiments.common import cached_json, evaluate_report  # noqa: E402

_WORKDIR = flags.DEFINE_string("workdir", "runs/demo/dynamics", "Trained dynamics run.")
_WEIGHTS = flags.DEFINE_list("weights", ["0", "0.3", "1", "3"], "Action-guidance weights to evaluate.")
_OUT = flags.DEFINE_string("out", None, "Folder for the kept reports (default: WORKDIR/action_guidance).")


def report_for(weight: float) -> dict:
  out = _OUT.value or os.path.join(_WORKDIR.value, "action_guidance")
  os.makedirs(out, exist_ok=True)
  return cached_json(os.path.join(out, f"report_w{weight:g}.json"),
                     lambda: evaluate_report(_WORKDIR.value, f"--action_guidance={weight}"))


def table_row(weight: float, report: dict) -> dict:
  row = {"weight": weight}
  row.update({f"acc g{g}": v["action_accuracy"] for g, v in report["per_guidance"].items()})
  row["x chance"] = report["action_accuracy"] / report["chance"]
  row.update({f"level r g{g}": v["level_move_r"] for g, v in report["per_guidance"].items() if g in ("1", "4")})
  row.update({"level r own": report["level_move_r_own"], "level r original": report["level_move_r_original"],
              "inpaint": report["inpaint_error"], "seam": report["seam_mel_distance"],
              "seam unedited": report["seam_mel_distance_unedited"]})
  return row


def main(argv):
  del argv
  rows = []
  for weight in map(float, _WEIGHTS.value):
    rows.append(table_row(weight, report_for(weight)))
    print(rows[-1], flush=True)
  print_table(rows, title=f"Action guidance on {_WORKDIR.value} (validation windows)")


if __name__ == "__main__":
  app.run(main)
