"""A session-wide tiny trained pipeline (fake data -> tokenizer -> encode -> LAM -> dynamics), built once.

A test module that sets `pytest_plugins = ["fixtures_pipeline"]` gets the `pipeline_runs` fixture; as a plugin
it is registered once, so every such module shares one build (training costs most of a minute on two cores).
The stages' periodic evaluations are skipped (they are tested with the stages); the runs are otherwise exactly
`genie_audio.testing.pipeline.train_pipeline`'s.
"""

import pytest

from genie_audio import tasks
from genie_audio.testing import pipeline


@pytest.fixture(scope="session")
def pipeline_runs(tmp_path_factory):
  """{"dataset", "tokenizer", "lam", "dynamics"}: folders of the tiny trained pipeline."""
  with pytest.MonkeyPatch.context() as patch:
    for name in ("tokenizer", "lam", "dynamics"):
      patch.setattr(tasks.get(name), "evaluate", lambda self, params, ema_params, step: ({}, {}))
    return pipeline.train_pipeline(tmp_path_factory.mktemp("pipeline"))
