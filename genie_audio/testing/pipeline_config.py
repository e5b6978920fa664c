"""The micro pipeline's stage configs (`genie_audio/testing/pipeline.py`) as a config file, so tests can run them
through launch/train.py in subprocesses:

    python launch/train.py --config genie_audio/testing/pipeline_config.py:lam,TOKENIZER_RUN --workdir W \
        [--config.FIELD=VALUE ...]

The argument is STAGE,UPSTREAM: `tokenizer,DATASET_DIR`, `lam,TOKENIZER_RUN` or `dynamics,LAM_RUN`.
"""

from __future__ import annotations

import ml_collections

from genie_audio.testing import pipeline

_STAGES = {"tokenizer": pipeline.tokenizer_config, "lam": pipeline.lam_config,
           "dynamics": pipeline.dynamics_config}


def get_config(arg: str) -> ml_collections.ConfigDict:
  stage, _, upstream = (arg or "").partition(",")
  if stage not in _STAGES or not upstream:
    raise ValueError(f"pipeline_config.py:{arg}: expected STAGE,UPSTREAM with STAGE one of {sorted(_STAGES)}")
  return _STAGES[stage](upstream)


def spec(stage: str, upstream) -> str:
  """The --config value for `stage` on `upstream` (a dataset folder or the previous stage's run)."""
  return f"{__file__}:{stage},{upstream}"
