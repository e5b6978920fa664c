"""Multi-process start-up: `jax.distributed` for TPU VMs, multi-node GPUs, or several CPU processes."""

from __future__ import annotations

import jax
import ml_collections


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
