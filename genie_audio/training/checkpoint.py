"""Orbax checkpoints of a run: train state + Grain iterator state, async, keeping the last N.

Layout: WORKDIR/checkpoints/<step>/{state,data}. Orbax writes each step into a temporary folder and renames
it when complete, so a run killed at any moment leaves only complete checkpoints to resume from.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import grain
import jax
import orbax.checkpoint as ocp


def checkpoint_dir(workdir: str | Path) -> Path:
  return Path(workdir).absolute() / "checkpoints"


class Checkpointer:
  """One CheckpointManager per run."""

  def __init__(self, workdir: str | Path, max_to_keep: int = 3, use_async: bool = True,
               read_only: bool = False):
    options = ocp.CheckpointManagerOptions(max_to_keep=max_to_keep, enable_async_checkpointing=use_async,
                                           read_only=read_only, create=not read_only)
    self.manager = ocp.CheckpointManager(
        checkpoint_dir(workdir), options=options,
        item_handlers={"state": ocp.StandardCheckpointHandler(), "data": grain.checkpoint.CheckpointHandler()})

  def latest_step(self) -> int | None:
    return self.manager.latest_step()

  def save(self, step: int, state: Any, data_iterator: grain.DatasetIterator) -> None:
    self.manager.save(step, args=ocp.args.Composite(
        state=ocp.args.StandardSave(state), data=grain.checkpoint.CheckpointSave(data_iterator)), force=True)

  def restore(self, abstract_state: Any, data_iterator: grain.DatasetIterator | None = None,
              step: int | None = None) -> Any:
    """Restores the state (into the shardings of `abstract_state`) and, if given, the iterator in place."""
    step = self.latest_step() if step is None else step
    items = {"state": ocp.args.StandardRestore(abstract_state)}
    if data_iterator is not None:
      items["data"] = grain.checkpoint.CheckpointRestore(data_iterator)
    return self.manager.restore(step, args=ocp.args.Composite(**items)).state

  def read_state(self, step: int | None = None) -> Any:
    """The saved state as host numpy arrays, whatever device count wrote it (evaluation, notebooks, tests).

    Orbax refuses a target-less restore when the writer had another topology (trained on 8 devices, read
    in a 1-device process), so the target is built from the checkpoint's own metadata on one local device.
    """
    step = self.latest_step() if step is None else step
    if step is None:
      raise FileNotFoundError(f"no checkpoint in {self.manager.directory}")
    metadata = self.manager.item_metadata(step)["state"]
    device = jax.sharding.SingleDeviceSharding(jax.local_devices()[0])
    abstract = jax.tree.map(lambda m: jax.ShapeDtypeStruct(m.shape, m.dtype, sharding=device),
                            getattr(metadata, "tree", metadata),
                            is_leaf=lambda m: hasattr(m, "shape") and hasattr(m, "dtype"))
    return jax.device_get(self.restore(abstract, step=step))

  def restore_params(self, abstract_params: Any, step: int | None = None) -> Any:
    """Only the params (e.g. of an upstream run), placed into the shardings of `abstract_params`.

    Goes through host memory, which is fine at this project's model sizes and makes the upstream run's
    device count and optimizer irrelevant.
    """
    return place_params(self.read_state(step)["params"], abstract_params, str(self.manager.directory))

  def wait(self) -> None:
    self.manager.wait_until_finished()

  def close(self) -> None:
    self.manager.wait_until_finished()
    self.manager.close()


def place_params(host_params: Any, abstract_params: Any, source: str) -> Any:
  """Host params -> device arrays in the shapes, dtypes and shardings of `abstract_params`, with errors
  naming the first mismatch."""
  saved = jax.tree_util.tree_flatten_with_path(host_params)[0]
  target = jax.tree_util.tree_flatten_with_path(abstract_params)[0]
  if [jax.tree_util.keystr(p) for p, _ in saved] != [jax.tree_util.keystr(p) for p, _ in target]:
    raise ValueError(f"{source}: its params do not have the structure of this model (trained with another "
                     f"config.model?)")
  leaves = []
  for (path, value), (_, want) in zip(saved, target):
    if value.shape != want.shape:
      raise ValueError(f"{source}: param {jax.tree_util.keystr(path)} has shape {value.shape}, this model "
                       f"expects {want.shape}")
    leaves.append(jax.device_put(value.astype(want.dtype), getattr(want, "sharding", None)))
  return jax.tree.unflatten(jax.tree.structure(abstract_params), leaves)
