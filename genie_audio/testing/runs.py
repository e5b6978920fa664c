"""Helpers for tests that run the trainer: toy configs and subprocess launches of launch/train.py."""

from __future__ import annotations

import os
import random
import subprocess
import sys
from pathlib import Path

import ml_collections

from genie_audio.testing import toy_config
from genie_audio.training import distributed

REPO_ROOT = Path(__file__).resolve().parents[2]


def override(config: ml_collections.ConfigDict, **overrides) -> ml_collections.ConfigDict:
  """Dotted-key overrides in place, e.g. override(c, **{"optim.lr": 1e-3})."""
  for key, value in overrides.items():
    *parents, leaf = key.split(".")
    node = config
    for parent in parents:
      node = node[parent]
    node[leaf] = value
  return config


def toy(dataset_dir: str | Path, **overrides) -> ml_collections.ConfigDict:
  """The toy stage's config with dotted-key overrides, e.g. toy(d, **{"optim.lr": 1e-3})."""
  config = toy_config.get_config()
  config.data.dataset_dir = str(dataset_dir)
  return override(config, **overrides)


def launch_command(config_file: str, workdir: str | Path, *overrides: str) -> list[str]:
  return [sys.executable, str(REPO_ROOT / "launch" / "train.py"), f"--config={config_file}",
          f"--workdir={workdir}", *overrides]


def launch_env(device_count: int = 1) -> dict[str, str]:
  """This process's environment for a child with `device_count` CPU devices; the other XLA flags (the tests'
  optimisation level) are kept."""
  env = dict(os.environ)
  flags = [flag for flag in env.get("XLA_FLAGS", "").split()
           if not flag.startswith("--xla_force_host_platform_device_count=")]
  env["XLA_FLAGS"] = " ".join([*flags, f"--xla_force_host_platform_device_count={device_count}"])
  env["JAX_PLATFORMS"] = "cpu"
  return env


def run_launch(config_file: str, workdir: str | Path, *overrides: str, device_count: int = 1,
               timeout: float = 300) -> subprocess.CompletedProcess:
  return subprocess.run(launch_command(config_file, workdir, *overrides), env=launch_env(device_count),
                        capture_output=True, text=True, timeout=timeout, cwd=REPO_ROOT)


def coordinator_address() -> str:
  """localhost:PORT with a port free right now, for a test's process group.

  The port is drawn below the kernel's ephemeral range: a port from `bind(("", 0))` may be handed to another
  test's outgoing connection or server (the browser test, gloo) in the seconds before the coordinator binds it.
  """
  low, _ = _ephemeral_port_range()
  rng = random.Random()  # not numpy's or the tests' seeded generators: parallel workers must not draw alike
  for _ in range(100):
    port = rng.randrange(max(1024, low - 12000), low)
    if not distributed.port_in_use(port):
      return f"localhost:{port}"
  raise RuntimeError(f"no free port found below the ephemeral range (from {low})")


def _ephemeral_port_range() -> tuple[int, int]:
  try:
    low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
    return int(low), int(high)
  except (OSError, ValueError):
    return 32768, 60999  # Linux's default


def outputs_of(processes: list[subprocess.Popen], timeout: float) -> list:
  """Each process's `communicate()` result once all have ended; any still running at the end (a hung group, a
  failed assertion) is killed, so none outlives the test."""
  try:
    return [p.communicate(timeout=timeout) for p in processes]
  finally:
    for p in processes:
      if p.poll() is None:
        p.kill()
