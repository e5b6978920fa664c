"""Shared experiment helpers: running the project's commands (an ablation's training and evaluation) from the
repository root, with a runner's --set overrides, and keeping their reports beside the runs so a re-run only does
what is missing. Tables and timing come from benchmarks/common.py. No flags here: a runner imports this file (or
music_sets.py), never another runner (two runners' flags of one name cannot live in one process)."""

import ast
import json
import os
import subprocess
import sys
from typing import Callable

from absl import app

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_python(*args: str) -> str:
  """stdout of `python ARGS` run from the repository root (e.g. "launch/train.py", "--config=..."); raises with
  the end of its stderr if it fails."""
  result = subprocess.run([sys.executable, *args], capture_output=True, text=True, cwd=ROOT)
  if result.returncode:
    raise RuntimeError(f"{' '.join(args)} failed:\n{result.stderr[-3000:]}")
  return result.stdout


def config_flags(overrides: list[str]) -> list[str]:
  """FIELD=VALUE overrides (a runner's --set) as launch/train.py's --config.FIELD=VALUE flags."""
  for item in overrides:
    if "=" not in item:
      raise ValueError(f"--set {item!r}: give FIELD=VALUE, e.g. model.dim=16")
  return [f"--config.{item}" for item in overrides]


def with_overrides(config, overrides: list[str]):
  """`config` with FIELD=VALUE overrides (a runner's --set) applied in place, as launch/train.py applies
  `config_flags(overrides)`: values are read as Python literals (numbers, tuples, booleans), else as text."""
  for item in overrides:
    key, _, text = item.partition("=")
    try:
      value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
      value = text
    *parents, leaf = key.split(".")
    node = config
    for parent in parents:
      node = node[parent]
    node[leaf] = value
  return config


def cached_json(path: str, produce: Callable[[], dict]) -> dict:
  """The JSON object kept at `path`, or `produce()`'s, written there atomically (a kept file is whole or absent)."""
  if os.path.exists(path):
    with open(path) as f:
      return json.load(f)
  result = produce()
  with open(path + ".tmp", "w") as f:
    json.dump(result, f)
  os.replace(path + ".tmp", path)
  return result


def evaluate_report(workdir: str, *options: str) -> dict:
  """The last line of `launch/evaluate.py --workdir WORKDIR OPTIONS...`, parsed."""
  return json.loads(run_python("launch/evaluate.py", f"--workdir={workdir}", *options).strip().splitlines()[-1])


def cached_report(workdir: str, steps: int, train: Callable[[], None],
                  is_current: Callable[[dict], bool] = lambda report: True) -> dict:
  """launch/evaluate.py's report on the run in `workdir`, kept beside it as report_{steps}.json. With no such file
  `train()` runs first; a kept report that is not `is_current` (older than the metrics asked for) is evaluated
  again, without training."""
  path = os.path.join(workdir, f"report_{steps}.json")
  if os.path.exists(path):
    with open(path) as f:
      report = json.load(f)
    if is_current(report):
      return report
    os.remove(path)
  else:
    train()
  return cached_json(path, lambda: evaluate_report(workdir))


def check_arms(requested: list[str], known: dict) -> None:
  """A usage error naming any of `requested` that is not an arm of `known` (and the arms there are)."""
  unknown = [arm for arm in requested if arm not in known]
  if unknown:
    raise app.UsageError(f"--arms: unknown arm(s) {unknown}; known: {list(known)}")
