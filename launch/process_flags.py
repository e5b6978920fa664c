"""Flags of the commands that run as several processes besides training (launch/encode.py, launch/evaluate.py).

    python launch/encode.py --workdir runs/tokenizer --num_processes 2 --process_id 0 \
        --coordinator_address host0:12355          # and the same with --process_id 1 on the other host
    python launch/evaluate.py --workdir runs/lam --distributed_auto                  # TPU VM slices, SLURM

`initialize()` joins the group (`genie_audio.training.distributed.initialize`); call it first in `main`, before
anything touches a device.
"""

import ml_collections
from absl import flags

from genie_audio.training import distributed

_COORDINATOR = flags.DEFINE_string("coordinator_address", "", "host:port of process 0 (several processes).")
_NUM_PROCESSES = flags.DEFINE_integer("num_processes", 1, "Processes that share the work.")
_PROCESS_ID = flags.DEFINE_integer("process_id", 0, "This process's index in [0, num_processes).")
_AUTO = flags.DEFINE_bool("distributed_auto", False, "Let JAX discover the processes (TPU VMs, SLURM).")
_TIMEOUT = flags.DEFINE_integer("distributed_timeout_s", 300, "Seconds to wait for the other processes.")


def initialize() -> None:
  """Joins the other processes when asked to; errors name the flag."""
  dist = ml_collections.ConfigDict(dict(auto=_AUTO.value, coordinator_address=_COORDINATOR.value,
                                        num_processes=_NUM_PROCESSES.value, process_id=_PROCESS_ID.value,
                                        timeout_s=_TIMEOUT.value))
  if not 0 <= dist.process_id < max(dist.num_processes, 1):
    raise ValueError(f"--process_id={dist.process_id}: must be in [0, --num_processes={dist.num_processes})")
  if dist.num_processes > 1 and not dist.auto and not dist.coordinator_address:
    raise ValueError("--coordinator_address is required with --num_processes > 1 (e.g. localhost:12355)")
  distributed.initialize(dist, field_prefix="--")
