"""The editor's picture of a recording: waveform, action timeline as coloured step bands, and spectrogram, with
the selected span marked; and the map from a click on it back to seconds.

    image, axis = timeline_image(wave, codes, step_seconds, num_actions, span=(12.0, 13.0))
    axis.seconds_at(x_pixel)        # where a click at column x falls, in seconds (clipped to the recording)

The image is an RGB array (H, W, 3) the page shows as it is; every panel shares one time axis, whose pixel
columns `TimeAxis` records after layout.
"""

from __future__ import annotations

import dataclasses
from typing import Sequence

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_hex
from matplotlib.figure import Figure

from genie_audio.data.manifest import SAMPLE_RATE
from genie_audio.eval import plots

WIDTH_PX, HEIGHT_PX, DPI = 1100, 400, 100
SPAN_COLOR = "#00e5ff"


@dataclasses.dataclass(frozen=True)
class TimeAxis:
  """Pixel columns [x0, x1) of the shared time axis in the image and the seconds they span."""
  x0: float
  x1: float
  duration_s: float

  def seconds_at(self, x: float) -> float:
    fraction = (float(x) - self.x0) / max(self.x1 - self.x0, 1e-9)
    return float(np.clip(fraction, 0.0, 1.0) * self.duration_s)


def action_hex_colors(num_actions: int) -> list[str]:
  """The timeline's colour of every action, as #rrggbb (for the page's legend)."""
  return [to_hex(c) for c in plots.action_colors(num_actions)]


def envelope(wave: np.ndarray, columns: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
  """(times s, min, max) of the waveform over `columns` equal bins: a long recording drawn as fast as a short
  one, with no peak lost between samples."""
  n = len(wave)
  columns = max(1, min(columns, n))
  edges = np.linspace(0, n, columns + 1).astype(int)
  low = np.minimum.reduceat(wave, edges[:-1])
  high = np.maximum.reduceat(wave, edges[:-1])
  return edges[:-1] / SAMPLE_RATE, low, high


def draw_bands(ax, codes: Sequence[int], step_seconds: float, duration_s: float, colors: list) -> None:
  """One coloured band per run of equal codes, labelled with the id where it is wide enough."""
  codes = np.asarray(codes, np.int64)
  changes = np.flatnonzero(np.diff(codes)) + 1
  for first, last in zip(np.concatenate([[0], changes]), np.concatenate([changes, [len(codes)]])):
    t0, t1 = first * step_seconds, min(last * step_seconds, duration_s)
    code = int(codes[first])
    ax.axvspan(t0, t1, color=colors[code % len(colors)], lw=0)
    if t1 - t0 >= 0.012 * duration_s:
      ax.text((t0 + t1) / 2, 0.5, str(code), ha="center", va="center", fontsize=8)
  for t in changes * step_seconds:
    ax.axvline(t, color="white", lw=0.5)
  ax.set_yticks([])
  ax.set_ylabel("action", rotation=0, ha="right", va="center")


def timeline_image(wave: np.ndarray, codes: Sequence[int], step_seconds: float, num_actions: int, *,
                   span: tuple[float, float] | None = None, title: str = "") -> tuple[np.ndarray, TimeAxis]:
  """(RGB image, its time axis): waveform, action bands and log-mel spectrogram of `wave`, `span` marked."""
  duration = len(wave) / SAMPLE_RATE
  fig = Figure(figsize=(WIDTH_PX / DPI, HEIGHT_PX / DPI), dpi=DPI, layout="constrained")
  canvas = FigureCanvasAgg(fig)
  top, strip, spec = fig.subplots(3, 1, sharex=True, height_ratios=(2, 0.6, 3))
  times, low, high = envelope(np.asarray(wave, np.float32), WIDTH_PX)
  top.fill_between(times, low, high, color="#3b6ea8", lw=0, step="post")
  top.set_yticks([])
  top.set_ylabel("wave", rotation=0, ha="right", va="center")
  draw_bands(strip, codes, step_seconds, duration, plots.action_colors(num_actions))
  spec.imshow(plots.log_mel(wave), origin="lower", aspect="auto", cmap="magma",
              extent=(0, duration, 0, plots.MEL_BANDS), interpolation="nearest")
  spec.set_yticks([])
  spec.set_ylabel("mel", rotation=0, ha="right", va="center")
  spec.set_xlim(0, duration)
  spec.set_xlabel("s")
  if span is not None:
    for ax in (top, spec):
      ax.axvspan(*span, facecolor=SPAN_COLOR, alpha=0.18, edgecolor=SPAN_COLOR, lw=1.5)
    strip.axvspan(*span, facecolor="none", edgecolor="black", lw=2)
  if title:
    top.set_title(title, fontsize=10, loc="left")
  canvas.draw()
  image = np.asarray(canvas.buffer_rgba())[..., :3].copy()
  box = spec.get_window_extent()   # display pixels, origin bottom-left; columns are the same in the image
  return image, TimeAxis(float(box.x0), float(box.x1), duration)
