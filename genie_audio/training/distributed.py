"""Multi-process start-up (`jax.distributed` for TPU VMs, multi-node GPUs, or several CPU processes), and files
that one process makes for all of them."""

from __future__ import annotations

import time
from typing import Callable, TypeVar

import jax
import ml_collections

T = TypeVar("T")


def initialize(dist: ml_collections.ConfigDict) -> None:
  """Joins the process group when `dist.num_processes > 1`; a no-op for single-process runs.

  On TPU VMs and SLURM clusters `coordinator_address` may stay empty: JAX discovers the peers itself.
  """
  if dist.num_processes <= 1 and not dist.auto:
    return
  # CPU collectives are off by default; gloo makes cross-process all-reduce work on plain hosts.
  jax.config.update("jax_cpu_collectives_implementation", "gloo")
  if dist.auto:
    jax.distributed.initialize()
  else:
    jax.distributed.initialize(coordinator_address=dist.coordinator_address,
                               num_processes=dist.num_processes, process_id=dist.process_id)


def made_by_first_process(make: Callable[[], T], find: Callable[[], T | None], what: str, hint: str,
                          timeout_s: float = 3600.0, poll_s: float = 1.0) -> T:
  """`make()` on process 0; every other process waits until `find()` returns what process 0 made.

  `make` writes files ending with a completion marker (e.g. `latents.json`, written last) and returns what
  it made; `find` returns None until that marker is there. Only process 0 writes, so processes never write
  the same files at once. A process that waits more than `timeout_s` fails naming `what` and `hint` (how to
  make it before starting the processes).
  """
  if jax.process_index() == 0:
    return make()
  deadline = time.monotonic() + timeout_s
  while (found := find()) is None:
    if time.monotonic() > deadline:
      raise TimeoutError(f"process {jax.process_index()} waited {timeout_s:.0f} s for process 0 to make {what} "
                         f"(see process 0's log); make it before starting the processes: {hint}")
    time.sleep(poll_s)
  return found
