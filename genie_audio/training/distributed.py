"""Multi-process start-up (`jax.distributed` for TPU VMs, multi-node GPUs, or several CPU processes), and work
shared out between the processes (`my_share`) with the results gathered (`gather_objects`)."""

from __future__ import annotations

import errno
import pickle
import socket
import time
from typing import Any, Sequence, TypeVar

import jax
import ml_collections
import numpy as np
from jax.experimental import multihost_utils

T = TypeVar("T")


def initialize(dist: ml_collections.ConfigDict, field_prefix: str = "config.distributed.") -> None:
  """Joins the process group when `dist.num_processes > 1` or `dist.auto`; a no-op for single-process runs.

  Must run before anything touches a device (jax.devices, a PRNG key, an Orbax CheckpointManager): JAX then
  refuses to join. On TPU VMs and SLURM clusters `coordinator_address` may stay empty with `auto`: JAX discovers
  the peers itself. Failures (no coordinator within `dist.timeout_s`, a process count that does not match) name
  the fields, prefixed with `field_prefix` (commands with flags pass "--").
  """
  if dist.num_processes <= 1 and not dist.auto:
    return
  if not dist.auto and dist.process_id == 0:
    _check_port_free(dist.coordinator_address, f"{field_prefix}coordinator_address")
  # CPU collectives are off by default; gloo makes cross-process all-reduce work on plain hosts.
  jax.config.update("jax_cpu_collectives_implementation", "gloo")
  timeout_s = int(dist.get("timeout_s", 300))
  where = "auto-detected peers" if dist.auto else (
      f"{field_prefix}coordinator_address={dist.coordinator_address!r}, {field_prefix}num_processes="
      f"{dist.num_processes}, {field_prefix}process_id={dist.process_id}")
  kwargs = {} if dist.auto else dict(coordinator_address=dist.coordinator_address,
                                     num_processes=dist.num_processes, process_id=dist.process_id)
  try:
    if not dist.auto and dist.process_id != 0:
      _wait_for_coordinator(dist.coordinator_address, timeout_s)
    jax.distributed.initialize(initialization_timeout=timeout_s, **kwargs)
  except Exception as e:  # XLA raises several types; all mean the group could not be joined
    raise RuntimeError(
        f"could not join the process group ({where}, {field_prefix}timeout_s={timeout_s}): {e}\n"
        f"Is process 0 running and reachable at that address, and were all processes started with the same "
        f"num_processes?") from e
  if not dist.auto and jax.process_count() != dist.num_processes:
    raise RuntimeError(f"{field_prefix}num_processes={dist.num_processes} but the coordinator at "
                       f"{dist.coordinator_address} counts {jax.process_count()} processes")


def port_in_use(port: int) -> bool:
  """Whether something holds `port` on any interface (the coordinator listens on all of them, IPv6 first)."""
  for family, host in ((socket.AF_INET6, "::"), (socket.AF_INET, "")):
    try:
      with socket.socket(family, socket.SOCK_STREAM) as s:
        s.bind((host, port))
    except OSError as e:
      if e.errno == errno.EADDRINUSE:
        return True
      # Any other error (no IPv6 on this host): that family cannot be checked, the other one still is.
  return False


def _check_port_free(address: str, field: str) -> None:
  """Raises naming `field` when process 0's coordinator port is taken: JAX's service then crashes the process
  (a segmentation fault, no Python error)."""
  _, _, port = address.rpartition(":")
  if not port.isdigit():
    raise ValueError(f"{field}={address!r}: expected HOST:PORT")
  if port_in_use(int(port)):
    raise RuntimeError(f"{field}={address!r}: port {port} is already in use on this host (another run's "
                       f"coordinator?); choose a free port")


def _wait_for_coordinator(address: str, timeout_s: float) -> None:
  """Returns once something listens at `address` (host:port); raises TimeoutError after `timeout_s`. JAX's own
  client aborts the whole process, with no Python error, when the coordinator never answers."""
  host, _, port = address.rpartition(":")
  deadline = time.monotonic() + timeout_s
  while True:
    try:
      with socket.create_connection((host, int(port)), timeout=1.0):
        return
    except OSError as e:
      if time.monotonic() > deadline:
        raise TimeoutError(f"nothing answers at {address} after {timeout_s} s ({e})") from e
      time.sleep(0.2)


def process_position() -> tuple[int, int]:
  """(this process's index, the number of processes): who does which share of a job."""
  return jax.process_index(), jax.process_count()


def my_share(items: Sequence[T]) -> list[T]:
  """This process's share of a job's items: every `process_count`-th one, from `process_index`."""
  index, count = process_position()
  return list(items[index::count])


def gather_objects(obj: Any) -> list[Any]:
  """Every process's `obj` (picklable), in process order, on every process; also a barrier.

  For small results (labels, manifest entries): they travel as bytes through one collective.
  """
  if jax.process_count() == 1:
    return [obj]
  data = np.frombuffer(pickle.dumps(obj), np.uint8)
  sizes = np.asarray(multihost_utils.process_allgather(np.array([data.size], np.int32))).reshape(-1)
  padded = np.zeros(int(sizes.max()), np.uint8)
  padded[:data.size] = data
  gathered = np.asarray(multihost_utils.process_allgather(padded))
  return [pickle.loads(gathered[i, :int(size)].tobytes()) for i, size in enumerate(sizes)]
