"""Stage registry: `config.task` names the Task class the loop trains (its module is imported on first use).

A name is a registered stage ("tokenizer", "lam", "dynamics") or a "module:Class" path, so code outside the
library (e.g. the toy stage of `genie_audio/testing/`) can name its own Task in a config.
"""

from __future__ import annotations

import importlib
import os

from genie_audio.runs import run
from genie_audio.training.task import Task

REGISTRY = {
    "dynamics": "genie_audio.tasks.dynamics:DynamicsTask",
    "lam": "genie_audio.tasks.lam:LamTask",
    "tokenizer": "genie_audio.tasks.tokenizer:TokenizerTask",
}


def get(name: str) -> type[Task]:
  """The Task class of a registered stage name or of a "module:Class" path."""
  path = REGISTRY.get(name, name)
  module, _, cls = path.partition(":")
  if not cls:
    raise ValueError(f"config.task={name!r} is not a known stage; known: {sorted(REGISTRY)} (or module:Class)")
  return getattr(importlib.import_module(module), cls)


def load(workdir: str | os.PathLike) -> Task:
  """A finished run's `Task`, rebuilt from its config and prepared (`Task.prepare`: its upstream runs loaded,
  its inputs found, made only where missing), ready to evaluate (`launch/evaluate.py` reports through it)."""
  config = run.load_config(workdir)
  task = get(config.task)(config, str(workdir))
  task.prepare()
  return task
