"""Shared benchmark helpers: wall-clock timing of (jax) callables, aligned markdown tables, and running the
project's commands (an ablation's training and evaluation) from the repository root."""

import json
import os
import statistics
import subprocess
import sys
import time
from typing import Any, Callable

import jax


def time_fn(fn: Callable[..., Any], *args: Any, warmup: int = 2, repeats: int = 5, **kwargs: Any) -> float:
  """Median wall-clock seconds of `fn(*args, **kwargs)`, after `warmup` untimed calls (compilation, caches).

  Outputs are blocked on (jax dispatch is asynchronous), so the time covers the computation, not just the launch.
  """
  if repeats < 1 or warmup < 0:
    raise ValueError(f"need repeats >= 1 and warmup >= 0, got repeats={repeats}, warmup={warmup}")
  for _ in range(warmup):
    jax.block_until_ready(fn(*args, **kwargs))
  times = []
  for _ in range(repeats):
    start = time.perf_counter()
    jax.block_until_ready(fn(*args, **kwargs))
    times.append(time.perf_counter() - start)
  return statistics.median(times)


def _format(value: Any) -> str:
  if value is None:
    return "-"
  if isinstance(value, float):
    return f"{value:.4g}"
  return str(value)


def format_table(rows: list[dict[str, Any]], title: str | None = None) -> str:
  """Rows as an aligned markdown table; columns are the union of keys in first-seen order, blanks as '-'."""
  columns: list[str] = []
  for row in rows:
    columns.extend(k for k in row if k not in columns)
  cells = [[_format(row.get(c)) for c in columns] for row in rows]
  widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
  lines = [] if title is None else [f"### {title}", ""]
  lines.append("| " + " | ".join(c.ljust(w) for c, w in zip(columns, widths)) + " |")
  lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
  # Numbers right-aligned so digits line up; text left-aligned.
  for row, r in zip(rows, cells):
    parts = [s.rjust(w) if isinstance(row.get(c), (int, float)) else s.ljust(w)
             for c, s, w in zip(columns, r, widths)]
    lines.append("| " + " | ".join(parts) + " |")
  return "\n".join(lines)


def print_table(rows: list[dict[str, Any]], title: str | None = None) -> None:
  """Print `format_table(rows, title)`."""
  print(format_table(rows, title), flush=True)


ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_python(*args: str) -> str:
  """stdout of `python ARGS` run from the repository root (e.g. "launch/train.py", "--config=..."); raises with
  the end of its stderr if it fails."""
  result = subprocess.run([sys.executable, *args], capture_output=True, text=True, cwd=ROOT)
  if result.returncode:
    raise RuntimeError(f"{' '.join(args)} failed:\n{result.stderr[-3000:]}")
  return result.stdout


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


def time_train_step(task: Any, batch: dict, repeats: int = 5) -> tuple[float, float | None, Any]:
  """Median seconds and XLA FLOPs of the loop's real train step (loss, grads, AdamW, EMA, task fix-ups) for
  `task` on `batch`, on one device; also returns the state after the timed steps."""
  from genie_audio.eval import flops  # imported here: the table helpers above need no project imports
  from genie_audio.training import loop, optim
  from genie_audio.training import state as state_lib

  config = task.config
  optimizer = optim.make_optimizer(config.optim, config.total_steps)
  init = jax.jit(lambda key: state_lib.create(task.init_params(key, batch), optimizer, config.ema_decay > 0,
                                              task.init_stats()))
  step = jax.jit(loop.make_train_step(task, optimizer, config), donate_argnums=0)
  step_flops = flops.step_flops(step, jax.eval_shape(init, jax.random.key(0)), batch)
  holder = [init(jax.random.key(0))]

  def advance():  # the state is donated, so each call threads the new one through
    holder[0], metrics = step(holder[0], batch)
    return metrics["train/loss"]

  return time_fn(advance, repeats=repeats), step_flops, holder[0]
