"""A stage's train step built and compiled from its config alone: no data, no upstream runs.

Used by benchmarks/memory.py and the sharding tests. A dynamics config normally reads its LAM run's config
(latent width, actions, R); here the matching LAM config file stands in for it (configs/dynamics_8hz.py ->
configs/lam_8hz.py, same preset).
"""

from __future__ import annotations

import importlib.util
import math
import re
from pathlib import Path
from typing import Any
from unittest import mock

import jax
import ml_collections
import numpy as np

from genie_audio import tasks
from genie_audio.testing import runs
from genie_audio.training import loop, sharding
from genie_audio.training.task import Task

def load_config(spec: str) -> ml_collections.ConfigDict:
  """`configs/lam.py:tiny` -> that file's get_config("tiny") (relative paths from the repository root)."""
  path, _, arg = spec.partition(":")
  full = Path(path) if Path(path).is_absolute() else runs.REPO_ROOT / path
  module_spec = importlib.util.spec_from_file_location(f"_config_{full.stem}", full)
  module = importlib.util.module_from_spec(module_spec)
  module_spec.loader.exec_module(module)
  return module.get_config(arg or None)


def upstream_lam_spec(spec: str) -> str:
  """The LAM config file (and preset) a dynamics config file stands on."""
  path, _, arg = spec.partition(":")
  return str(Path(path).with_name(Path(path).name.replace("dynamics", "lam"))) + (f":{arg}" if arg else "")


def build_task(config: ml_collections.ConfigDict, spec: str = "") -> Task:
  """The config's Task, not prepared (nothing read); `spec` names the config file for a dynamics stage, whose
  LAM config file then stands in for the LAM run's config."""
  if config.task != "dynamics":
    return tasks.get(config.task)(config, None)
  lam = load_config(upstream_lam_spec(spec))
  with mock.patch("genie_audio.tasks.dynamics.upstream_lam_config", lambda _: lam):
    return tasks.get(config.task)(config, None)


def build(config: ml_collections.ConfigDict, spec: str = "", devices: list | None = None
          ) -> tuple[Task, loop.StepParts]:
  """The task and the loop's step parts on a mesh of `devices` (default: all) from `config.mesh`."""
  task = build_task(config, spec)
  mesh = sharding.make_mesh(config.mesh.data, config.mesh.fsdp, devices)
  sharding.check_batch(config.batch_size, mesh)
  return task, loop.build_step(config, task, mesh, task.batch_shapes(config.batch_size))


def memory_bytes(compiled: Any) -> dict[str, int]:
  """Per-device bytes XLA reports: arguments (state + batch), outputs, temporaries; `peak` = arguments + outputs
  - donated aliases + temporaries."""
  m = compiled.memory_analysis()
  out = dict(argument_bytes=int(m.argument_size_in_bytes), output_bytes=int(m.output_size_in_bytes),
             alias_bytes=int(m.alias_size_in_bytes), temp_bytes=int(m.temp_size_in_bytes))
  out["peak_bytes"] = out["argument_bytes"] + out["output_bytes"] - out["alias_bytes"] + out["temp_bytes"]
  return out


def state_bytes_per_device(parts: loop.StepParts, *, trees: tuple[str, ...] = ("params", "opt_state")) -> int:
  """Bytes of the named parts of the train state one device holds under the state's shardings."""
  total = 0
  for name in trees:
    for leaf in jax.tree.leaves(getattr(parts.abstract_state, name)):
      total += np.dtype(leaf.dtype).itemsize * math.prod(leaf.sharding.shard_shape(leaf.shape))
  return total


_ALL_GATHER = re.compile(r"= \(?(\w+)\[([\d,]*)\][^=]*? all-gather(?:-start)?\(.*?dimensions=\{(\d+)\}")


def all_gathers(hlo_text: str) -> list[tuple[tuple[int, ...], int, str]]:
  """(result shape, gathered dimension, HLO line) of every all-gather in a compiled program's text."""
  found = []
  for line in hlo_text.splitlines():
    match = _ALL_GATHER.search(line)
    if match:
      shape = tuple(int(d) for d in match.group(2).split(",") if d)
      found.append((shape, int(match.group(3)), line.strip()))
  return found


def batch_sized_gathers(hlo_text: str, batch_size: int, data: int) -> list[str]:
  """All-gathers that put a batch-sized activation back together (the gathered dimension is the global batch
  or one data row's share of it): with the batch split over (data, fsdp), none should remain."""
  return [line for shape, dim, line in all_gathers(hlo_text)
          if len(shape) >= 2 and shape[dim] in (batch_size, batch_size // data)]
