"""Eta squared of every step descriptor by action, for finished LAM runs (no training, no gain invariance).

    python benchmarks/lam_eta.py --workdirs runs/lam_ablation2/norm,runs/lam_ablation3/level_side

The same numbers as the `eta_squared` of launch/evaluate.py's report (`action_analysis.measure` on the runs'
validation recordings), so descriptors added after a run was evaluated (e.g. centroid_jump_oct) can be
filled in for it without evaluating it again.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from absl import app, flags  # noqa: E402

from benchmarks.common import print_table  # noqa: E402
from genie_audio.editing.action_reader import ActionReader  # noqa: E402
from genie_audio.eval import action_analysis  # noqa: E402

_WORKDIRS = flags.DEFINE_list("workdirs", None, "Finished LAM runs.", required=True)
_SPLIT = flags.DEFINE_string("split", "validation", "Split whose recordings are analysed.")


def main(argv):
  del argv
  rows = []
  for workdir in _WORKDIRS.value:
    reader = ActionReader.load(workdir)
    eta = action_analysis.measure(action_analysis.analyze(reader, _SPLIT.value))["eta_squared"]
    rows.append({"run": workdir, **eta["state"], **eta["move"]})
  print_table(rows, title=f"Eta squared by action, {_SPLIT.value} split")


if __name__ == "__main__":
  app.run(main)
