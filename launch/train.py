"""Trains one stage: `python launch/train.py --config configs/STAGE.py[:preset] [--workdir DIR] [--config.X=Y]`.

The run resumes from the latest checkpoint in the workdir; a later stage finds its upstream run through the
workdir named in its config. Without --workdir the run goes to runs/<task>.
"""

import logging
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from absl import app, flags  # noqa: E402
from absl import logging as absl_logging  # noqa: E402
from ml_collections import config_flags  # noqa: E402

from configs import common  # noqa: E402
from genie_audio import tasks  # noqa: E402
from genie_audio.training import distributed, loop  # noqa: E402

_CONFIG = config_flags.DEFINE_config_file("config", None, "Stage config file[:preset].", lock_config=True)
_WORKDIR = flags.DEFINE_string("workdir", None, "Run folder (checkpoints, logs, config).")
flags.mark_flags_as_required(["config"])


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {argv[1:]}")
  config = _CONFIG.value
  # Join the other processes first: validation opens upstream checkpoints and traces with PRNG keys, and JAX
  # refuses to join once a device has been touched.
  common.validate_distributed(config)
  distributed.initialize(config.distributed)
  common.validate(config)
  common.absolutize_paths(config)
  task_cls = tasks.get(config.task)
  absl_logging.set_verbosity(absl_logging.WARNING)  # Orbax logs every save at INFO
  logging.getLogger("genie_audio").setLevel(logging.INFO)
  workdir = _WORKDIR.value or os.path.join(common.REPO_ROOT, "runs", task_cls.name)
  metrics = loop.train(config, workdir, task_cls)
  print({k: round(v, 6) for k, v in sorted(metrics.items())})


if __name__ == "__main__":
  app.run(main)
