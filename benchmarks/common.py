"""Shared benchmark helpers: wall-clock timing of (jax) callables and of the loop's train step, and aligned
markdown tables (experiments/ uses them too; its own helpers, which run the project's commands, are in
experiments/common.py)."""

import statistics
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
