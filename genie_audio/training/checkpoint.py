"""Orbax checkpoints of a run: train state + Grain iterator state, async, keeping the last N.

Layout: WORKDIR/checkpoints/<step>/{state,data}. Orbax writes each step into a temporary folder and renames
it when complete, so a run killed at any moment leaves only complete checkpoints to resume from.

The state's layout is `state.TrainState`'s. Checkpoints written before it had `stats` (issue 12) cannot be
resumed; their params can still be read, except a LAM's, which then held the VQ usage EMA: both fail with an
error saying so rather than loading something else.
"""

from __future__ import annotations

import contextlib
import logging
from pathlib import Path
from typing import Any

import grain
import jax
import orbax.checkpoint as ocp


def checkpoint_dir(workdir: str | Path) -> Path:
  return Path(workdir).absolute() / "checkpoints"


def _is_read_only_note(record: logging.LogRecord) -> bool:
  return record.levelno == logging.WARNING and record.getMessage().startswith("Given directory is read only=")


@contextlib.contextmanager
def _quiet_read_only_opening():
  """Drops Orbax's warning that a read-only manager's directory is read only while one is created: it only
  repeats what the caller asked for, and evaluation opens runs read-only dozens of times."""
  absl_logger = logging.getLogger("absl")
  note_filter = lambda record: not _is_read_only_note(record)
  absl_logger.addFilter(note_filter)
  try:
    yield
  finally:
    absl_logger.removeFilter(note_filter)


class Checkpointer:
  """One CheckpointManager per run; `read_only` ones (evaluation, upstream runs) never write or delete."""

  def __init__(self, workdir: str | Path, max_to_keep: int = 3, use_async: bool = True,
               read_only: bool = False):
    handlers = {"state": ocp.StandardCheckpointHandler(), "data": grain.checkpoint.CheckpointHandler()}
    if not read_only:
      options = ocp.CheckpointManagerOptions(max_to_keep=max_to_keep, enable_async_checkpointing=use_async)
      self.manager = ocp.CheckpointManager(checkpoint_dir(workdir), options=options, item_handlers=handlers)
      return
    # Saving options a read-only manager would override (each with a warning) are left out.
    options = ocp.CheckpointManagerOptions(read_only=True, create=False, max_to_keep=None, save_interval_steps=0,
                                           enable_async_checkpointing=use_async)
    with _quiet_read_only_opening():
      self.manager = ocp.CheckpointManager(checkpoint_dir(workdir), options=options, item_handlers=handlers)

  def latest_step(self) -> int | None:
    return self.manager.latest_step()

  def save(self, step: int, state: Any, data_iterator: grain.DatasetIterator) -> None:
    self.manager.save(step, args=ocp.args.Composite(
        state=ocp.args.StandardSave(state), data=grain.checkpoint.CheckpointSave(data_iterator)), force=True)

  def _saved_tree(self, step: int) -> Any:
    """The checkpoint's state structure, from its metadata (leaves describe shapes and dtypes)."""
    metadata = self.manager.item_metadata(step)["state"]
    return getattr(metadata, "tree", metadata)

  def restore(self, abstract_state: Any, data_iterator: grain.DatasetIterator | None = None,
              step: int | None = None) -> Any:
    """Restores the state (into the shardings of `abstract_state`) and, if given, the iterator in place."""
    step = self.latest_step() if step is None else step
    if "stats" not in self._saved_tree(step):
      raise ValueError(f"{self.manager.directory}/{step} was written before the train state kept non-trainable "
                       f"statistics apart from the params (`stats`, issue 12), and cannot be resumed: train the "
                       f"run again in a new workdir")
    return self._restore(abstract_state, step, data_iterator)

  def _restore(self, abstract_state: Any, step: int, data_iterator: grain.DatasetIterator | None = None) -> Any:
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
    saved = self._saved_tree(step)
    if "stats" not in saved and "usage_ema" in saved["params"].get("vq", {}):
      raise ValueError(f"{self.manager.directory}/{step} keeps the VQ usage EMA among its params, as LAM runs "
                       f"did before issue 12 (it is now a non-trainable statistic of the train state): train "
                       f"the LAM run again")
    device = jax.sharding.SingleDeviceSharding(jax.local_devices()[0])
    abstract = jax.tree.map(lambda m: jax.ShapeDtypeStruct(m.shape, m.dtype, sharding=device), saved,
                            is_leaf=lambda m: hasattr(m, "shape") and hasattr(m, "dtype"))
    state = jax.device_get(self._restore(abstract, step))
    state.setdefault("stats", {})  # older layout without statistics (a tokenizer or dynamics run)
    return state

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
