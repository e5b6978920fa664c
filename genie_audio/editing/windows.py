"""Which windows of the dynamics model's training length re-write a run of latent frames, and in what order.

The model in-paints windows of W frames (its training length). A run of frames to write that fits one window
gets one window centred on it (`choose_window`); a longer one is written in order, each window taking the
frames written before it as context (`plan_windows` left to right; `plan_windows_backward` right to left, for
frames before the start of a recording, which must end on the original). All pure integer arithmetic.
"""

from __future__ import annotations


def choose_window(total_frames: int, window_frames: int, first: int, end: int, align: int) -> tuple[int, int]:
  """(start, length) of the in-painting window: the model's length (or the whole recording if shorter),
  centred on frames [first, end) where the recording allows, starting on a step boundary where possible."""
  length = min(window_frames, total_frames)
  lo, hi = max(0, end - length), min(first, total_frames - length)
  if lo > hi:
    raise ValueError(f"choose_window: frames [{first}, {end}) do not fit a window of {length}")
  start = min(max((first + end - length) // 2, lo), hi)
  if start - start % align >= lo:
    start -= start % align
  return start, length


def plan_windows(total_frames: int, window_frames: int, first: int, end: int, align: int
                 ) -> list[tuple[int, int, int]]:
  """In-painting windows (start, part start, part end) that re-write frames [first, end) in order.

  A span that fits one window gets one (`choose_window`). A longer one is written left to right in windows of
  the model's length whose first half (step-aligned) is context: already written frames or the original
  before the span. Each window generates every span frame it holds (frames still to be replaced are never
  context), so it generates about half of itself, like the spans the model trained on (all of itself only
  when the span starts at the recording's start); the last window also sees the original frames after the
  span, so the edit joins the recording on both sides.
  """
  length = min(window_frames, total_frames)
  if end - first <= length:
    return [(choose_window(total_frames, window_frames, first, end, align)[0], first, end)]
  context = max(align, length // 2 // align * align)
  windows, pos = [], first
  while pos < end:
    start = max(0, pos - context)
    start = min(start - start % align, total_frames - length)
    part_end = min(end, start + length)
    windows.append((start, pos, part_end))
    pos = part_end
  return windows


def plan_windows_backward(total_frames: int, window_frames: int, first: int, end: int, align: int
                          ) -> list[tuple[int, int, int]]:
  """`plan_windows` mirrored in time: windows that write frames [first, end) right to left, each with its
  context after the frames it writes (for a continuation before a recording's start, whose first window
  must join the original). `total_frames` must be a multiple of `align` so steps stay aligned when mirrored."""
  if total_frames % align:
    raise ValueError(f"plan_windows_backward: {total_frames} frames are not whole steps of {align}")
  length = min(window_frames, total_frames)
  mirrored = plan_windows(total_frames, window_frames, total_frames - end, total_frames - first, align)
  return [(total_frames - start - length, total_frames - part_end, total_frames - part_start)
          for start, part_start, part_end in mirrored]
