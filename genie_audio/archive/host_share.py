"""Which host prepares which recording, when several hosts prepare one collection into one shared folder.

Each source belongs to exactly one host: its shard id (a hash of its path) modulo the number of hosts. A hash,
not a position in the sorted list, so adding files to the collection later moves no file to another host.
Hosts write their own manifest and skipped lines under `parts/`; host 0 assembles `manifest.jsonl` and
`skipped.jsonl` from all parts once every source is accounted for, so no two hosts ever write the same file.
"""

from __future__ import annotations

import dataclasses
import os
import sys
from pathlib import Path
from typing import Mapping

PARTS = "parts"

# (host count, host index) variables of the launchers that `jax.distributed` itself detects, checked in order.
_ENV_PAIRS = (("SLURM_NTASKS", "SLURM_PROCID"), ("OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_RANK"))


@dataclasses.dataclass(frozen=True)
class HostShare:
  num_hosts: int = 1
  host_index: int = 0

  def __post_init__(self):
    if self.num_hosts < 1:
      raise ValueError(f"num_hosts must be >= 1, got {self.num_hosts}")
    if not 0 <= self.host_index < self.num_hosts:
      raise ValueError(f"host_index must be in [0, {self.num_hosts}), got {self.host_index}")

  @property
  def single(self) -> bool:
    return self.num_hosts == 1

  def owns(self, shard_id: str) -> bool:
    """Whether this host prepares the source with this shard id (hex)."""
    return owner(shard_id, self.num_hosts) == self.host_index

  def part(self, output_dir: str | os.PathLike, name: str) -> Path:
    """This host's own copy of `name` (manifest.jsonl, skipped.jsonl) under parts/."""
    stem, suffix = os.path.splitext(name)
    return Path(output_dir) / PARTS / f"{stem}.host-{self.host_index:05d}-of-{self.num_hosts:05d}{suffix}"


def owner(shard_id: str, num_hosts: int) -> int:
  return int(shard_id, 16) % num_hosts


def part_files(output_dir: str | os.PathLike, name: str) -> list[Path]:
  """Every host's part of `name`, from any host count used so far, sorted."""
  stem, suffix = os.path.splitext(name)
  folder = Path(output_dir) / PARTS
  return sorted(folder.glob(f"{stem}.host-*{suffix}")) if folder.is_dir() else []


def default_share(environ: Mapping[str, str] = os.environ) -> HostShare:
  """The host share of this process: `jax.distributed` if the program already joined a process group, else a
  cluster launcher's variables (SLURM, Open MPI), else a single host."""
  jax = sys.modules.get("jax")  # never imported here: a data-preparation run need not start JAX
  if jax is not None and jax.distributed.is_initialized():
    return HostShare(jax.process_count(), jax.process_index())
  for count, index in _ENV_PAIRS:
    if count in environ and index in environ:
      try:
        return HostShare(int(environ[count]), int(environ[index]))
      except ValueError as e:
        raise ValueError(f"environment variables {count}={environ[count]!r}, {index}={environ[index]!r}: "
                         f"{e}") from None
  return HostShare()
