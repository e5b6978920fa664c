"""Where training numbers go: TensorBoard (scalars, audio, figures) and a metrics.jsonl file per run.

Only process 0 writes. metrics.jsonl is the machine-readable record (tests and notebooks read it); a resumed
run appends to it, so a step may appear twice and the later line wins.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping

import jax
import numpy as np

from genie_audio.data.manifest import SAMPLE_RATE


class MetricWriter:

  def __init__(self, workdir: str | Path, enabled: bool | None = None):
    self.enabled = jax.process_index() == 0 if enabled is None else enabled
    self.path = Path(workdir) / "metrics.jsonl"
    self._tb = None
    if self.enabled:
      from tensorboardX import SummaryWriter  # imported lazily: only the writing process needs it
      self._tb = SummaryWriter(str(Path(workdir) / "tensorboard"))

  def scalars(self, step: int, metrics: Mapping[str, float]) -> None:
    if not self.enabled:
      return
    values = {k: float(v) for k, v in metrics.items()}
    with open(self.path, "a", encoding="utf-8") as f:
      f.write(json.dumps({"step": int(step), **values}) + "\n")
    for name, value in values.items():
      self._tb.add_scalar(name, value, step)

  def media(self, step: int, items: Mapping[str, Any]) -> None:
    """Waveforms (arrays, 16 kHz) as TensorBoard audio; anything else (matplotlib figures) as images."""
    if not self.enabled:
      return
    for name, item in items.items():
      if isinstance(item, np.ndarray):
        self._tb.add_audio(name, np.clip(item.astype(np.float32), -1, 1), step, sample_rate=SAMPLE_RATE)
      else:
        self.figure(step, name, item)

  def figure(self, step: int, name: str, figure: Any) -> None:
    if self.enabled:
      self._tb.add_figure(name, figure, step)

  def flush(self) -> None:
    if self._tb is not None:
      self._tb.flush()

  def close(self) -> None:
    if self._tb is not None:
      self._tb.close()


def read_metrics(workdir: str | Path) -> dict[int, dict[str, float]]:
  """metrics.jsonl as {step: metrics}, later lines overriding earlier ones (resumed runs)."""
  path = Path(workdir) / "metrics.jsonl"
  by_step: dict[int, dict[str, float]] = {}
  if path.exists():
    for line in path.read_text().splitlines():
      try:
        record = json.loads(line)
      except json.JSONDecodeError:
        continue  # a line torn by a killed run; the resumed run logged that step again
      by_step.setdefault(record.pop("step"), {}).update(record)
  return by_step
