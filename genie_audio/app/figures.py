"""The editor's picture of a recording: waveform, action timeline as coloured step bands, and spectrogram, with
the selected span marked; and the map from a click on it back to seconds.

    image, axis = timeline_image(wave, codes, step_seconds, num_actions, span=(12.0, 13.0))
    axis.seconds_at(x_pixel)        # where a click at column x falls, in seconds (clipped to the view)
    close_up, _ = timeline_image(wave, codes, step_seconds, num_actions, span=(12.0, 13.0), view=(10.0, 15.0))

The image is an RGB array (H, W, 3) the page shows as it is; every panel shares one time axis, whose pixel
columns `TimeAxis` records after layout. `view` draws only a stretch of the recording (times stay the
recording's), so the steps of a span can be read in a long recording.
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
  """Pixel columns [x0, x1) of the shared time axis in the image and the seconds [start_s, end_s) they show."""
  x0: float
  x1: float
  start_s: float
  end_s: float

  def seconds_at(self, x: float) -> float:
    fraction = (float(x) - self.x0) / max(self.x1 - self.x0, 1e-9)
    return float(self.start_s + np.clip(fraction, 0.0, 1.0) * (self.end_s - self.start_s))


def action_hex_colors(num_actions: int) -> list[str]:
  """The timeline's colour of every action, as #rrggbb (for the page's legend)."""
  return [to_hex(c) for c in plots.action_colors(num_actions)]


def envelope(wave: np.ndarray, columns: int, start_s: float = 0.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
  """(times s, min, max) of the waveform over `columns` equal bins: a long recording drawn as fast as a short
  one, with no peak lost between samples; times start at `start_s`."""
  n = len(wave)
  columns = max(1, min(columns, n))
  edges = np.linspace(0, n, columns + 1).astype(int)
  low = np.minimum.reduceat(wave, edges[:-1])
  high = np.maximum.reduceat(wave, edges[:-1])
  return start_s + edges[:-1] / SAMPLE_RATE, low, high


def draw_bands(ax, codes: Sequence[int], step_seconds: float, view: tuple[float, float], duration_s: float,
               colors: list) -> None:
  """The action of every step as a coloured band (one image row: fast for thousands of steps), a white line
  where the action changes, and each run's id where it is wide enough in the view."""
  codes = np.asarray(codes, np.int64)
  rgb = np.asarray([colors[c % len(colors)][:3] for c in codes], np.float32)[None]
  ax.imshow(rgb, aspect="auto", extent=(0, len(codes) * step_seconds, 0, 1), interpolation="nearest")
  changes = np.flatnonzero(np.diff(codes)) + 1
  ax.vlines(changes * step_seconds, 0, 1, color="white", lw=0.5)
  for first, last in zip(np.concatenate([[0], changes]), np.concatenate([changes, [len(codes)]])):
    t0, t1 = max(first * step_seconds, view[0]), min(last * step_seconds, duration_s, view[1])
    if t1 - t0 >= 0.012 * (view[1] - view[0]):
      ax.text((t0 + t1) / 2, 0.5, str(int(codes[first])), ha="center", va="center", fontsize=8)
  ax.set_ylim(0, 1)
  ax.set_yticks([])
  ax.set_ylabel("action", rotation=0, ha="right", va="center")


def timeline_image(wave: np.ndarray, codes: Sequence[int], step_seconds: float, num_actions: int, *,
                   span: tuple[float, float] | None = None, view: tuple[float, float] | None = None,
                   title: str = "", height_px: int = HEIGHT_PX) -> tuple[np.ndarray, TimeAxis]:
  """(RGB image, its time axis): waveform, action bands and log-mel spectrogram of `wave` over `view` (default:
  all of it), `span` marked."""
  duration = len(wave) / SAMPLE_RATE
  view = (0.0, duration) if view is None else (max(0.0, view[0]), min(duration, view[1]))
  first, last = int(round(view[0] * SAMPLE_RATE)), int(round(view[1] * SAMPLE_RATE))
  shown = np.asarray(wave[first:last], np.float32)
  fig = Figure(figsize=(WIDTH_PX / DPI, height_px / DPI), dpi=DPI)
  canvas = FigureCanvasAgg(fig)
  top, strip, spec = fig.subplots(3, 1, sharex=True, height_ratios=(2, 0.6, 3))
  # Fixed margins (a constrained layout costs as much as the drawing): room for the labels and the title.
  fig.subplots_adjust(left=0.06, right=0.99, top=1 - 28 / height_px, bottom=42 / height_px, hspace=0.1)
  times, low, high = envelope(shown, WIDTH_PX, view[0])
  top.fill_between(times, low, high, color="#3b6ea8", lw=0, step="post")
  top.set_yticks([])
  top.set_ylabel("wave", rotation=0, ha="right", va="center")
  draw_bands(strip, codes, step_seconds, view, duration, plots.action_colors(num_actions))
  if len(shown) >= plots.MEL_WINDOW:
    spec.imshow(plots.log_mel(shown), origin="lower", aspect="auto", cmap="magma",
                extent=(view[0], view[1], 0, plots.MEL_BANDS), interpolation="nearest")
  spec.set_yticks([])
  spec.set_ylabel("mel", rotation=0, ha="right", va="center")
  spec.set_xlim(*view)
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
  return image, TimeAxis(float(box.x0), float(box.x1), *view)
