"""Console progress: a tqdm bar with loss, steps/s and samples/s (process 0 only)."""

from __future__ import annotations

import sys
import time

import jax
from tqdm import tqdm


class Progress:

  def __init__(self, start_step: int, total_steps: int, batch_size: int, description: str):
    self.batch_size = batch_size
    self.enabled = jax.process_index() == 0
    self._bar = tqdm(total=total_steps, initial=start_step, desc=description, file=sys.stderr,
                     dynamic_ncols=True, disable=not self.enabled, mininterval=1.0)
    self._last_step = start_step
    self._last_time = time.perf_counter()

  def update(self, step: int, loss: float) -> dict[str, float]:
    """Advances to `step`; returns the throughput since the last call (also shown on the bar)."""
    now = time.perf_counter()
    steps_per_s = (step - self._last_step) / max(now - self._last_time, 1e-9)
    self._last_step, self._last_time = step, now
    rates = {"perf/steps_per_s": steps_per_s, "perf/samples_per_s": steps_per_s * self.batch_size}
    self._bar.set_postfix(loss=f"{loss:.4f}", steps_s=f"{steps_per_s:.2f}",
                          samples_s=f"{rates['perf/samples_per_s']:.1f}", refresh=False)
    self._bar.update(step - self._bar.n)
    return rates

  def close(self) -> None:
    self._bar.close()
