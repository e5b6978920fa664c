"""The one train loop shared by every stage.

Reads top to bottom: mesh (a bad one fails before any work) -> the task's preparation (`Task.prepare`) -> data
-> `build_step`: abstract state (`jax.eval_shape`), shardings from the params' logical axis names, jitted init,
jitted step with the state donated -> restore (this workdir's checkpoint, else upstream params, else scratch) ->
loop with logging, evaluation, checkpoints, a non-finite guard and SIGTERM handling (`preemption.py`: every
process stops at the same step).
Everything stage-specific comes from the `Task`.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from pathlib import Path
from typing import Callable

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax

from genie_audio.data import paths, pipelines
from genie_audio.models import axes
from genie_audio.training import checkpoint, optim, preemption, sharding
from genie_audio.training import state as state_lib
from genie_audio.training.metrics import MetricWriter
from genie_audio.training.progress import Progress
from genie_audio.training.task import Task

log = logging.getLogger(__name__)


class NonFiniteLossError(RuntimeError):
  pass


def make_train_step(task: Task, optimizer: optax.GradientTransformation, config: ml_collections.ConfigDict):
  """The pure update: loss and grads, optimizer, task fix-ups, EMA; a non-finite step changes nothing."""
  base_rng = jax.random.key(config.seed)
  learning_rate = optim.learning_rate_schedule(config.optim, config.total_steps)

  def train_step(state: state_lib.TrainState, batch):
    rng = jax.random.fold_in(base_rng, state.step)  # a resumed run continues the same key sequence
    loss_rng, post_rng = jax.random.split(rng)
    def loss_fn(params):
      loss, metrics, aux = task.loss(params, batch, loss_rng, state.step)
      return loss, (metrics, aux)

    (loss, (metrics, aux)), grads = optim.value_and_trainable_grad(loss_fn, state.params,
                                                                   config.optim.get("trainable", ""))
    updates, opt_state = optimizer.update(grads, state.opt_state, state.params)
    params, stats, post_metrics = task.post_update(optax.apply_updates(state.params, updates), state.stats, aux,
                                                   post_rng)
    ema = state.ema_params
    if ema is not None:
      ema = state_lib.ema_update(ema, params, config.ema_decay)
    grad_norm = optax.tree.norm(grads)  # frozen params' grads are zeros: the trainable params' norm
    finite = jnp.isfinite(loss) & jnp.isfinite(grad_norm)
    keep = lambda new, old: jax.tree.map(lambda n, o: jnp.where(finite, n, o), new, old)
    new_state = state.replace(
        step=state.step + 1, params=keep(params, state.params), opt_state=keep(opt_state, state.opt_state),
        ema_params=keep(ema, state.ema_params), stats=keep(stats, state.stats),
        nonfinite_steps=state.nonfinite_steps + (~finite).astype(jnp.int32),
        first_nonfinite_step=jnp.where((state.first_nonfinite_step < 0) & ~finite, state.step,
                                       state.first_nonfinite_step))
    metrics = {"train/loss": loss, "train/grad_norm": grad_norm, "train/lr": learning_rate(state.step),
               **metrics, **post_metrics}
    return new_state, metrics

  return train_step


@dataclasses.dataclass(frozen=True)
class StepParts:
  """What the loop runs, built without data: the abstract train state, its shardings, and the jitted init and
  step (`train_step.lower(abstract_state, abstract_batch).compile()` compiles it alone: benchmarks/memory.py)."""
  abstract_state: state_lib.TrainState
  state_shardings: state_lib.TrainState
  abstract_batch: dict[str, jax.ShapeDtypeStruct]
  init_fn: Callable
  train_step: Callable


def build_step(config: ml_collections.ConfigDict, task: Task, mesh: jax.sharding.Mesh,
               batch_shapes: dict[str, jax.ShapeDtypeStruct]) -> StepParts:
  """The abstract state (`jax.eval_shape` of init), its shardings, and the jitted init and donated step."""
  optimizer = optim.make_optimizer(config.optim, config.total_steps)
  use_ema = config.ema_decay > 0
  batch_sharding = sharding.batch_sharding(mesh)
  abstract_batch = {k: jax.ShapeDtypeStruct(v.shape, v.dtype, sharding=batch_sharding)
                    for k, v in batch_shapes.items()}

  with axes.boxing_param_names():  # the params' logical axis names (models/axes.py), for their shardings
    names_by_path = sharding.logical_names(jax.eval_shape(task.init_params, jax.random.key(config.seed),
                                                          abstract_batch))

  def init_state(rng):
    return state_lib.create(task.init_params(rng, abstract_batch), optimizer, use_ema, task.init_stats())

  abstract_state = jax.eval_shape(init_state, jax.random.key(config.seed))
  state_shardings = sharding.tree_shardings(abstract_state, mesh, config.shard_min_size, names_by_path)
  init_fn = jax.jit(init_state, out_shardings=state_shardings)
  step_fn = make_train_step(task, optimizer, config)

  def step_with_rules(state, batch):
    with sharding.logical_rules(mesh):  # the models' activation constraints apply while the step is traced
      return step_fn(state, batch)

  train_step = jax.jit(step_with_rules, in_shardings=(state_shardings, batch_sharding),
                       out_shardings=(state_shardings, sharding.replicated(mesh)), donate_argnums=0)
  with_shardings = jax.tree.map(lambda a, s: jax.ShapeDtypeStruct(a.shape, a.dtype, sharding=s), abstract_state,
                                state_shardings)
  return StepParts(with_shardings, state_shardings, abstract_batch, init_fn, train_step)


def write_config(config: ml_collections.ConfigDict, workdir: Path) -> None:
  """Each run keeps its config beside its checkpoints; later stages rebuild upstream models from it. Its
  folders (upstream runs, data) are recorded relative to the run where they share its grandparent
  (`data.paths.record`), so a runs folder moved as a whole still loads (`runs.run.load_config`)."""
  if jax.process_index() == 0:
    workdir.mkdir(parents=True, exist_ok=True)
    tmp = workdir / "config.json.tmp"
    recorded = paths.map_fields(json.loads(config.to_json_best_effort()), paths.PATH_KEYS,
                                lambda p: paths.record(p, workdir))
    tmp.write_text(json.dumps(recorded, indent=2, sort_keys=True))
    tmp.replace(workdir / "config.json")


def train(config: ml_collections.ConfigDict, workdir: str | Path,
          task_factory: Callable[[ml_collections.ConfigDict, str], Task],
          devices: list | None = None) -> dict[str, float]:
  """Trains until `config.total_steps`; returns the last logged metrics. `devices` defaults to all."""
  workdir = Path(workdir).absolute()
  mesh = sharding.make_mesh(config.mesh.data, config.mesh.fsdp, devices)  # a bad mesh fails before any work
  sharding.check_batch(config.batch_size, mesh)
  if jax.process_index() == 0:
    workdir.mkdir(parents=True, exist_ok=True)
  task = task_factory(config, str(workdir))
  log.info("preparing the %s stage's inputs (%s.prepare)", task.name, type(task).__name__)
  task.prepare()
  write_config(config, workdir)  # after prepare: a task may fill in what it measured on the data
  local_batch_size = config.batch_size // jax.process_count()

  # Data: this process's slice of every global batch, with a checkpointable iterator.
  dataset = task.train_data(config.seed, local_batch_size, jax.process_index(), jax.process_count())
  data_iterator = pipelines.to_iterator(dataset, config.data.num_workers)
  example = {k: np.asarray(v) for k, v in dataset[0].items()}
  batch_shapes = {k: jax.ShapeDtypeStruct((config.batch_size,) + v.shape[1:], v.dtype) for k, v in example.items()}
  parts = build_step(config, task, mesh, batch_shapes)
  abstract_state, train_step = parts.abstract_state, parts.train_step  # abstract: shapes with shardings
  use_ema = config.ema_decay > 0
  sharding.log_sharding_table(abstract_state.params, parts.state_shardings.params)

  ckpt = checkpoint.Checkpointer(workdir, config.keep_checkpoints, config.async_checkpoints)
  if ckpt.latest_step() is not None:
    state = ckpt.restore(abstract_state, data_iterator)
    log.info("resumed from %s at step %d", workdir, int(state.step))
  else:
    state = parts.init_fn(jax.random.key(config.seed))
    upstream = task.upstream_params(abstract_state.params)
    if upstream is not None:
      # EMA gets its own copy: the donated step must not see one buffer twice.
      state = state.replace(params=upstream,
                            ema_params=jax.tree.map(jnp.copy, upstream) if use_ema else None)
      log.info("started from upstream params")

  writer = MetricWriter(workdir)
  step = int(state.step)
  progress = Progress(step, config.total_steps, config.batch_size, task.name)
  stop = preemption.StopSignal()
  last_metrics: dict[str, float] = {}
  pending: list = []
  try:
    while step < config.total_steps:
      batch = sharding.global_batch(next(data_iterator), mesh)
      state, metrics = train_step(state, batch)
      step += 1
      pending.append(metrics)
      stopping = stop.should_stop(step)  # SIGTERM here or on another process: all save this step and stop
      if step % config.log_every_steps == 0 or step == config.total_steps or stopping:
        last_metrics = _log_pending(pending, state, step, config, writer, progress)
        pending = []
      if step % config.eval_every_steps == 0 or step == config.total_steps:
        eval_metrics, clips = task.evaluate(state.params, state.ema_params, step)
        if eval_metrics:
          writer.scalars(step, eval_metrics)
        writer.media(step, clips)
        last_metrics.update(eval_metrics)
      if step % config.checkpoint_every_steps == 0 or step == config.total_steps or stopping:
        ckpt.save(step, state, data_iterator)
      if stopping:
        log.warning("SIGTERM: saved step %d and stopping", step)
        break
  finally:
    stop.restore()
    ckpt.close()
    writer.close()
    progress.close()
  return last_metrics


def _log_pending(pending, state, step, config, writer, progress) -> dict[str, float]:
  """Fetches the metrics of the steps since the last log (one host sync) and writes each step's."""
  fetched = jax.device_get(pending)
  first_bad = int(state.first_nonfinite_step)
  if first_bad >= 0 and config.nonfinite == "stop":
    raise NonFiniteLossError(
        f"non-finite loss or gradient at step {first_bad} (its update was dropped); the last checkpoint is "
        f"intact. Lower config.optim.lr or set config.nonfinite='skip' to skip such steps")
  for offset, metrics in enumerate(fetched):
    metrics_step = step - len(fetched) + offset + 1
    writer.scalars(metrics_step, {k: float(v) for k, v in metrics.items()})
  last = {k: float(v) for k, v in fetched[-1].items()}
  last.update(progress.update(step, last["train/loss"]))
  last["train/nonfinite_steps"] = float(state.nonfinite_steps)
  writer.scalars(step, {k: last[k] for k in ("perf/steps_per_s", "perf/samples_per_s",
                                             "train/nonfinite_steps")})
  return last
