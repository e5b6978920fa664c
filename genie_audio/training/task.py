"""The stage-specific half of training: everything the one loop needs to know about a model.

The loop (`loop.py`) is shared by the tokenizer, latent action model and dynamics model; each stage is a
small `Task` subclass in `genie_audio/tasks/`. The loop never branches on which stage it runs.

Contract (B = global batch, arrays are numpy on the host, jax inside `loss`):
  - `prepare()`: makes and finds what training reads beyond its config (upstream runs, encoded latents,
    action labels), once, before the loop builds any data pipeline; the rest of the Task then reads ready
    paths. Called on every process: long jobs (encoding, labelling) are shared out between them and the
    results gathered (`distributed.my_share`, `distributed.gather_objects`); only process 0 writes what all read.
  - `train_data(seed, batch_size, shard_index, shard_count)` -> a `grain.MapDataset` of per-process batches
    (dicts of numpy arrays; `batch_size` is this process's share of the global batch).
  - `init_params(rng, batch)` -> params pytree (called under `jax.eval_shape` and `jax.jit`); the loop also
    reads the logical axis names the model gives its params (`models/axes.py`) for their shardings.
  - `init_stats()` -> the task's non-trainable statistics (e.g. the VQ's code-usage EMA), kept in the train
    state beside the params with no optimizer state; default {}.
  - `loss(params, batch, rng, step)` -> (scalar loss, dict of scalar metrics, aux pytree).
  - `post_update(params, stats, aux, rng)` -> (params, stats, metrics): optional pure fix-up after the
    optimizer step (e.g. advancing the usage EMA and restarting dead VQ codes); default is identity.
  - `evaluate(params, ema_params, step)` -> (dict of scalar metrics, dict of media: numpy
    waveforms at 16 kHz or matplotlib figures, both logged to TensorBoard); host side,
    called every `eval_every_steps`.
  - `validate_config(config)`: optional classmethod, called by `configs.common.validate` before any work
    starts; raises ValueError naming the stage's invalid field.
  - `report(params, ema_params, audio_paths=None, **options)` -> JSON-able dict: the stage's evaluation of a
    finished run (`launch/evaluate.py`).
"""

from __future__ import annotations

from typing import Any

import grain
import jax
import ml_collections

PyTree = Any
Batch = dict[str, Any]


class Task:
  """Base class; subclasses override what their stage needs."""

  name = "task"

  def __init__(self, config: ml_collections.ConfigDict, workdir: str | None = None):
    self.config = config
    self.workdir = workdir

  @classmethod
  def validate_config(cls, config: ml_collections.ConfigDict) -> None:
    """Checks the stage's own config fields; raises ValueError naming the field. Default: nothing to check."""
    del config

  def prepare(self) -> None:
    """Makes and finds the stage's inputs before training or evaluation (see the module docstring).

    Default: nothing to prepare.
    """

  def train_data(self, seed: int, batch_size: int, shard_index: int, shard_count: int) -> grain.MapDataset:
    raise NotImplementedError

  def batch_shapes(self, batch_size: int) -> dict[str, jax.ShapeDtypeStruct]:
    """The global batch's shapes and dtypes, from the config alone (no data): what `train_data` yields, at
    `batch_size`. Compiling the step without data needs it (`benchmarks/memory.py`, the sharding tests)."""
    raise NotImplementedError(f"{type(self).__name__} does not describe its batch without reading data")

  def init_params(self, rng: jax.Array, batch: Batch) -> PyTree:
    raise NotImplementedError

  def loss(self, params: PyTree, batch: Batch, rng: jax.Array, step: jax.Array
           ) -> tuple[jax.Array, dict[str, jax.Array], PyTree]:
    raise NotImplementedError

  def init_stats(self) -> PyTree:
    """Non-trainable statistics the task advances in `post_update`; default: none."""
    return {}

  def post_update(self, params: PyTree, stats: PyTree, aux: PyTree, rng: jax.Array
                  ) -> tuple[PyTree, PyTree, dict[str, jax.Array]]:
    """(params, stats, metrics) after the optimizer step, a pure function run inside the jitted step; `aux` is
    what `loss` returned. Default: both unchanged, no metrics."""
    del aux, rng
    return params, stats, {}

  def upstream_params(self, abstract_params: PyTree) -> PyTree | None:
    """Params to start from when the workdir has no checkpoint (e.g. a shorter-crop run); None = scratch.

    `abstract_params` carries the target shapes and shardings (restore straight into them).
    """
    del abstract_params
    return None

  def evaluate(self, params: PyTree, ema_params: PyTree | None, step: int
               ) -> tuple[dict[str, float], dict[str, Any]]:
    """Host-side evaluation: (scalar metrics, {name: mono float waveform at 16 kHz})."""
    del params, ema_params, step
    return {}, {}

  def report(self, params: PyTree, ema_params: PyTree | None, audio_paths: list[str] | None = None,
             **options: Any) -> dict[str, Any]:
    """Evaluation of a finished run as one JSON-able dict (on the validation split, or on `audio_paths`)."""
    del params, ema_params, audio_paths, options
    raise NotImplementedError(f"the {self.name!r} stage has no report (launch/evaluate.py)")
