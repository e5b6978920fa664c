"""Device mesh and shardings: batch over (`data`, `fsdp`), parameters FSDP-style over `fsdp`.

Parameters are sharded by a shape rule rather than per-layer annotations: each array at least
`min_size` elements large is split along its largest dimension divisible by the `fsdp` axis size (the
big_vision "fsdp" rule). Small arrays (norm scales, biases) stay replicated, where sharding only costs
collectives. The batch is split over both axes, so every device sees a distinct slice of it.
"""

from __future__ import annotations

import logging
from typing import Any

import jax
import numpy as np
from jax.sharding import AxisType, Mesh, NamedSharding, PartitionSpec as P

log = logging.getLogger(__name__)

BATCH_AXES = ("data", "fsdp")


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


def tree_shardings(abstract_tree: Any, mesh: Mesh, min_size: int = 2**14) -> Any:
  """NamedShardings for every leaf of an abstract pytree (params, optimizer state, EMA)."""
  fsdp_size = mesh.shape["fsdp"]
  return jax.tree.map(lambda x: NamedSharding(mesh, fsdp_spec(tuple(x.shape), fsdp_size, min_size)),
                      abstract_tree)


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
