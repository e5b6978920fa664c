"""Device mesh and shardings: batch over (`data`, `fsdp`), parameters FSDP-style over `fsdp`.

The models name the axes of their parameters and activations (`genie_audio/models/axes.py`); `LOGICAL_RULES`
below is the one table that maps those names to mesh axes:
  - activations keep the batch split over (data, fsdp) through the whole step (`logical_rules` puts the table in
    context while the step is traced), so every device computes on its own examples;
  - a parameter is split over `fsdp` along the first of its named axes, in table order, whose size the fsdp axis
    divides: the compiler gathers it where a layer needs it and sums its gradient back into the shards
    (a reduce-scatter on accelerators; FSDP / ZeRO-3).
    Its optimizer moments and EMA copy are split the same way.
Parameters smaller than `min_size` elements (norm scales, biases) stay replicated, where sharding only costs
collectives; those the models leave unnamed fall back to a shape rule, split along their largest dimension that
the fsdp axis divides (big_vision's "fsdp" rule).
"""

from __future__ import annotations

import contextlib
import logging
import math
from typing import Any, Iterator

import flax.linen as nn
import jax
import numpy as np
from jax.sharding import AxisType, Mesh, NamedSharding, PartitionSpec as P

from genie_audio.models import axes

log = logging.getLogger(__name__)

BATCH_AXES = ("data", "fsdp")

# Logical axis name -> mesh axes (None: whole on every device). Names: genie_audio/models/axes.py.
LOGICAL_RULES: tuple[tuple[str, str | tuple[str, ...] | None], ...] = (
    ("batch", BATCH_AXES),   # activations: each device its own examples
    ("embed", "fsdp"),       # parameters: a layer's input features, else
    ("mlp", "fsdp"),         #   its output features, else
    ("heads", "fsdp"),       #   its attention heads
    ("vocab", None), ("kv", None), ("qkv", None), ("conv", None), ("conv_freq", None),
    ("length", None), ("freq", None), ("features", None),
)


def make_mesh(data: int, fsdp: int, devices: list | None = None) -> Mesh:
  """A (data, fsdp) mesh over all devices; `data=-1` takes whatever `fsdp` leaves.

  Built by `jax.make_mesh`, which orders the devices by the physical topology (TPU rings and tori) instead of
  reshaping the device list; both axes are Auto (the compiler propagates shardings from the annotations).
  """
  devices = list(devices if devices is not None else jax.devices())
  if fsdp < 1 or len(devices) % fsdp:
    raise ValueError(f"config.mesh.fsdp={fsdp} must be >= 1 and divide the {len(devices)} devices")
  if data == -1:
    data = len(devices) // fsdp
  if data * fsdp != len(devices):
    raise ValueError(f"config.mesh.data * config.mesh.fsdp = {data} * {fsdp} != {len(devices)} devices "
                     f"(config.mesh.data=-1 takes what fsdp leaves)")
  return jax.make_mesh((data, fsdp), ("data", "fsdp"), axis_types=(AxisType.Auto,) * 2, devices=devices)


def check_batch(batch_size: int, mesh: Mesh) -> None:
  """The global batch must split evenly over the devices of the batch axes (data x fsdp)."""
  if batch_size % mesh.size:
    raise ValueError(f"config.batch_size={batch_size} must be divisible by the {mesh.size} devices "
                     f"(mesh data={mesh.shape['data']} x fsdp={mesh.shape['fsdp']})")


def batch_sharding(mesh: Mesh) -> NamedSharding:
  return NamedSharding(mesh, P(BATCH_AXES))


def replicated(mesh: Mesh) -> NamedSharding:
  return NamedSharding(mesh, P())


def fsdp_spec(shape: tuple[int, ...], fsdp_size: int, min_size: int) -> P:
  """Shards the largest dimension divisible by the fsdp size; replicates small or indivisible arrays."""
  if fsdp_size == 1 or int(np.prod(shape, dtype=np.int64)) < min_size:
    return P()
  for dim in sorted(range(len(shape)), key=lambda d: -shape[d]):
    if shape[dim] % fsdp_size == 0:
      spec = [None] * len(shape)
      spec[dim] = "fsdp"
      return P(*spec)
  return P()


def named_spec(names: tuple[str | None, ...], shape: tuple[int, ...], mesh: Mesh, min_size: int) -> P:
  """A parameter's spec from its logical axis names: each rule of `LOGICAL_RULES` in order claims its named
  dimension when its mesh axes are still free and their size divides that dimension."""
  spec: list[Any] = [None] * len(shape)
  if int(np.prod(shape, dtype=np.int64)) < min_size:
    return P(*spec)
  used: set[str] = set()
  for logical, mesh_axes in LOGICAL_RULES:
    if mesh_axes is None or logical not in names:
      continue
    claimed = {mesh_axes} if isinstance(mesh_axes, str) else set(mesh_axes)
    dim, size = names.index(logical), math.prod(mesh.shape[a] for a in claimed)
    if size > 1 and spec[dim] is None and not used & claimed and shape[dim] % size == 0:
      spec[dim], used = mesh_axes, used | claimed
  return P(*spec)


def logical_names(boxed_params: Any) -> dict[str, tuple[str | None, ...]]:
  """{param path: its logical axis names} for the params a model's `init` returned boxed."""
  flat, _ = jax.tree_util.tree_flatten_with_path(boxed_params, is_leaf=lambda x: isinstance(x, nn.Partitioned))
  return {jax.tree_util.keystr(path): tuple(leaf.names) for path, leaf in flat if isinstance(leaf, nn.Partitioned)}


def _names_of(path: tuple, names_by_path: dict[str, tuple]) -> tuple | None:
  """The names of the param whose path ends this state path (optimizer moments and EMA copies mirror params);
  the longest such param path wins."""
  for start in range(len(path)):
    names = names_by_path.get(jax.tree_util.keystr(path[start:]))
    if names is not None:
      return names
  return None


def tree_shardings(abstract_tree: Any, mesh: Mesh, min_size: int = 2**14,
                   names_by_path: dict[str, tuple] | None = None) -> Any:
  """NamedShardings for every leaf of an abstract pytree (the train state: params, optimizer state, EMA).

  Leaves that mirror a named param (`names_by_path`, from `logical_names`) follow `LOGICAL_RULES`; the others
  the shape rule (`fsdp_spec`).
  """
  fsdp_size = mesh.shape["fsdp"]

  def spec(path, x):
    names = _names_of(path, names_by_path or {})
    if names is not None and len(names) == len(x.shape):
      return NamedSharding(mesh, named_spec(names, tuple(x.shape), mesh, min_size))
    return NamedSharding(mesh, fsdp_spec(tuple(x.shape), fsdp_size, min_size))

  return jax.tree_util.tree_map_with_path(spec, abstract_tree)


@contextlib.contextmanager
def logical_rules(mesh: Mesh) -> Iterator[None]:
  """While a step is traced: the models' activation constraints (`axes.constrain`) map through
  `LOGICAL_RULES` onto `mesh`."""
  with axes.activation_rules(LOGICAL_RULES), jax.sharding.use_abstract_mesh(mesh.abstract_mesh):
    yield


def mesh_of(params: Any) -> Mesh | None:
  """The mesh the params live on (training places them on the run's mesh), or None (plain device arrays)."""
  leaf_sharding = getattr(jax.tree.leaves(params)[0], "sharding", None)
  return leaf_sharding.mesh if isinstance(leaf_sharding, NamedSharding) else None


def put_replicated(tree: Any, sharding: NamedSharding) -> Any:
  """`tree` (the same values on every process, e.g. evaluation inputs) whole on every device of the mesh.

  `jax.device_put` cannot place onto other processes' devices, so with several processes the global array is
  assembled from each process's copy; PRNG keys travel as their key data.
  """
  if jax.process_count() == 1:
    return jax.device_put(tree, sharding)

  def put(x):
    if jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key):
      return jax.random.wrap_key_data(put(jax.random.key_data(x)), impl=jax.random.key_impl(x))
    return jax.make_array_from_process_local_data(sharding, np.asarray(x))

  return jax.tree.map(put, tree)


def put_split(x: np.ndarray, mesh: Mesh) -> jax.Array:
  """`x` (the same whole array on every process, e.g. evaluation windows) split over the mesh's batch axes:
  each device gets, and computes on, its own examples. Its first dimension must divide by their size."""
  sharding = batch_sharding(mesh)
  x = np.asarray(x)
  return jax.make_array_from_callback(x.shape, sharding, lambda index: x[index])


def batch_axes_size(mesh: Mesh) -> int:
  """How many ways a batch is split: the product of the mesh's batch axes."""
  return int(np.prod([mesh.shape[axis] for axis in BATCH_AXES]))


def whole_per_device(batch_size: int, mesh: Mesh) -> int:
  """The smallest batch >= `batch_size` that gives every device of the batch axes the same number of examples."""
  split = batch_axes_size(mesh)
  return -(-batch_size // split) * split


def global_batch(local_batch: dict[str, np.ndarray], mesh: Mesh) -> dict[str, jax.Array]:
  """Assembles this process's batch slice into a global array sharded over the batch axes."""
  sharding = batch_sharding(mesh)
  return {k: jax.make_array_from_process_local_data(sharding, np.asarray(v)) for k, v in local_batch.items()}


def log_sharding_table(params: Any, shardings: Any) -> str:
  """A table of parameter paths, shapes and specs, logged at start-up so sharding choices are visible."""
  rows = []
  flat, _ = jax.tree_util.tree_flatten_with_path(params)
  flat_shardings = jax.tree.leaves(shardings, is_leaf=lambda x: isinstance(x, NamedSharding))
  for (path, leaf), sharding in zip(flat, flat_shardings):
    rows.append(f"  {jax.tree_util.keystr(path):<70} {str(tuple(leaf.shape)):<20} {sharding.spec}")
  total = sum(int(np.prod(leaf.shape)) for _, leaf in flat)
  table = "\n".join([f"parameters: {total:,} in {len(rows)} arrays"] + rows)
  log.info("%s", table)
  return table
