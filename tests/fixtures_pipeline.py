"""A session-wide tiny trained pipeline (fake data -> tokenizer -> encode -> LAM -> dynamics), built once.

A test module that sets `pytest_plugins = ["fixtures_pipeline"]` gets the `pipeline_runs` fixture (and
`audio_folder`, one of its recordings in a folder); as a plugin it is registered once, so every such module shares
one build (training costs most of a minute on two cores).
Under pytest-xdist the workers share it too: the first to arrive builds it in the session's common temporary
folder while holding a file lock, the others wait for the lock and reuse the finished build.
The stages' periodic evaluations are skipped (they are tested with the stages); the runs are otherwise exactly
`genie_audio.testing.pipeline.train_pipeline`'s.
"""

import fcntl
import json
import os
import shutil
from pathlib import Path

import pytest

from genie_audio import tasks
from genie_audio.testing import pipeline

_DONE = "pipeline_runs.json"


def session_root(tmp_path_factory) -> Path:
  """A temporary folder shared by every worker of this test session (the session's own folder without xdist)."""
  base = tmp_path_factory.getbasetemp()
  return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@pytest.fixture(scope="session")
def pipeline_runs(tmp_path_factory):
  """{"dataset", "tokenizer", "lam", "dynamics"}: folders of the tiny trained pipeline."""
  root = session_root(tmp_path_factory) / "shared_pipeline"
  root.mkdir(exist_ok=True)
  with open(root / "lock", "w") as lock:
    fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes, also if the build fails
    done = root / _DONE
    if done.exists():
      return {name: Path(path) for name, path in json.loads(done.read_text()).items()}
    with pytest.MonkeyPatch.context() as patch:
      for name in ("tokenizer", "lam", "dynamics"):
        patch.setattr(tasks.get(name), "evaluate", lambda self, params, ema_params, step: ({}, {}))
      runs = pipeline.train_pipeline(root / "build")
    done.write_text(json.dumps({name: str(path) for name, path in runs.items()}))
    return runs


@pytest.fixture(scope="module")
def audio_folder(tmp_path_factory, pipeline_runs):
  """A folder holding one short recording (for the runners' --audio / --ood options)."""
  folder = tmp_path_factory.mktemp("audio")
  shutil.copy(sorted((pipeline_runs["dataset"] / "shards").glob("*.wav"))[0], folder / "piece.wav")
  return folder
