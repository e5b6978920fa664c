"""A finished (or running) training run's folder as later code reads it: its config, its checkpoints, its params.

Every run folder holds WORKDIR/config.json (written by the loop) and WORKDIR/checkpoints/<step>/. Commands
(`launch/evaluate.py`, `launch/encode.py`, `launch/reconstruct.py`) and later stages (which rebuild a frozen
upstream model, `trained_run.py`) load runs through these functions, which fail with errors naming the workdir and
the command that would create what is missing.

config.json records the run's upstream runs and data relative to the run's folder where they share its
grandparent (`data.paths`); `load_config` resolves them against the folder it reads, so a runs folder moved or
copied as a whole loads from its new place.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import ml_collections

from genie_audio.data import paths
from genie_audio.training import checkpoint

PyTree = Any
_TRAIN_HINT = "train it first: python launch/train.py --config configs/STAGE.py --workdir {workdir}"


def _tuples(value: Any) -> Any:
  """JSON turns the config's tuples into lists; configs hold tuples (hashable, immutable)."""
  if isinstance(value, dict):
    return {k: _tuples(v) for k, v in value.items()}
  if isinstance(value, list):
    return tuple(_tuples(v) for v in value)
  return value


def load_config(workdir: str | os.PathLike) -> ml_collections.ConfigDict:
  """The config a run was trained with (WORKDIR/config.json), tuples restored, its folders resolved."""
  path = Path(workdir) / "config.json"
  if not path.exists():
    raise FileNotFoundError(f"{path} does not exist: {workdir} is not a training run; "
                            + _TRAIN_HINT.format(workdir=workdir))
  recorded = json.loads(path.read_text())
  return ml_collections.ConfigDict(_tuples(paths.map_fields(recorded, paths.PATH_KEYS,
                                                            lambda p: paths.resolve(p, workdir))))


def latest_step(workdir: str | os.PathLike) -> int:
  """The step of the run's latest complete checkpoint."""
  step = None
  if checkpoint.checkpoint_dir(workdir).exists():
    step = checkpoint.Checkpointer(workdir, read_only=True).latest_step()
  if step is None:
    raise FileNotFoundError(f"{workdir} has no checkpoint yet; " + _TRAIN_HINT.format(workdir=workdir))
  return step


def read_state(workdir: str | os.PathLike, step: int | None = None) -> dict[str, Any]:
  """A checkpoint's whole train state as host numpy arrays, whatever device count wrote it."""
  step = latest_step(workdir) if step is None else step
  return checkpoint.Checkpointer(workdir, read_only=True).read_state(step)


def load_train_params(workdir: str | os.PathLike, step: int | None = None
                      ) -> tuple[PyTree, PyTree | None, int]:
  """(params, ema_params or None, step) of a checkpoint (default: the latest), as host numpy arrays."""
  step = latest_step(workdir) if step is None else step
  state = read_state(workdir, step)
  return state["params"], state.get("ema_params"), step


def load_params(workdir: str | os.PathLike, ema: bool = True, step: int | None = None) -> PyTree:
  """The run's params from its latest checkpoint: the EMA params when `ema` and the run kept them."""
  params, ema_params, _ = load_train_params(workdir, step)
  return ema_params if ema and ema_params is not None else params
