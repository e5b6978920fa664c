"""Stage registry: `config.task` names the Task class the loop trains (imported lazily)."""

from __future__ import annotations

import importlib

from genie_audio.training.task import Task

REGISTRY = {
    "dynamics": "genie_audio.training.tasks.dynamics:DynamicsTask",
    "lam": "genie_audio.training.tasks.lam:LamTask",
    "tokenizer": "genie_audio.training.tasks.tokenizer:TokenizerTask",
    "toy": "genie_audio.testing.toy_task:ToyTask",
}


def get(name: str) -> type[Task]:
  if name not in REGISTRY:
    raise ValueError(f"config.task={name!r} is not a known stage; known: {sorted(REGISTRY)}")
  module, _, cls = REGISTRY[name].partition(":")
  return getattr(importlib.import_module(module), cls)
