"""Putting a re-generated span back into a recording, and cutting the windows around its seams.

`splice` keeps every sample outside [start, end) exactly as it was; inside, the generated audio takes over
through equal-power crossfades of `fade` samples at each seam that has original audio beyond it. The fades sit
inside the span: the generated waveform and the original are different renderings (the decoder is generative),
so near a seam they are uncorrelated, and equal-power gains (sin / cos) keep the level where linear ones would
dip by 3 dB.

Pure numpy; waveforms are mono float arrays (T,).
"""

from __future__ import annotations

import numpy as np


def fade_in(length: int) -> np.ndarray:
  """Equal-power rising gain over `length` samples, strictly inside (0, 1): sin(pi/2 * (i + 0.5) / length)."""
  return np.sin(0.5 * np.pi * (np.arange(length) + 0.5) / max(length, 1))


def splice(original_T: np.ndarray, generated: np.ndarray, start: int, end: int, fade: int,
           generated_offset: int = 0) -> np.ndarray:
  """`original_T` with samples [start, end) replaced by `generated`, crossfaded over `fade` samples.

  `generated[i]` is the audio at sample `generated_offset + i` of the recording and must cover [start, end).
  The fade shrinks to half the span if the span is short; a seam at the recording's start or end gets none.
  """
  original_T = np.asarray(original_T, np.float32)
  n = original_T.shape[0]
  if not 0 <= start < end <= n:
    raise ValueError(f"splice: need 0 <= start < end <= {n}, got start={start}, end={end}")
  lo, hi = start - generated_offset, end - generated_offset
  if lo < 0 or hi > len(generated):
    raise ValueError(f"splice: generated audio covers samples [{generated_offset}, "
                     f"{generated_offset + len(generated)}), not the span [{start}, {end})")
  new = np.asarray(generated[lo:hi], np.float64)
  old = original_T[start:end].astype(np.float64)
  fade = max(0, min(int(fade), (end - start) // 2))
  gain = np.ones(end - start)
  if fade and start > 0:
    gain[:fade] = fade_in(fade)
  if fade and end < n:
    gain[end - start - fade:] = fade_in(fade)[::-1]
  out = original_T.copy()
  # Equal power: the generated part gets sin, the original cos of the same angle.
  out[start:end] = (gain * new + np.sqrt(np.clip(1.0 - gain ** 2, 0.0, 1.0)) * old).astype(np.float32)
  return out


def seam_edges(start: int, end: int, num_samples: int) -> list[int]:
  """The span edges that are real seams (original audio on both sides)."""
  return [edge for edge in (start, end) if 0 < edge < num_samples]


def seam_windows(wave_T: np.ndarray, edges: list[int], half_width: int) -> np.ndarray:
  """(len(edges), 2 * half_width) windows centred on each edge; windows at the ends are shifted inside."""
  wave_T = np.asarray(wave_T)
  if 2 * half_width > wave_T.shape[0]:
    raise ValueError(f"seam_windows: windows of {2 * half_width} samples do not fit {wave_T.shape[0]} samples")
  starts = [min(max(edge - half_width, 0), wave_T.shape[0] - 2 * half_width) for edge in edges]
  return np.stack([wave_T[s:s + 2 * half_width] for s in starts]) if starts else np.zeros((0, 2 * half_width))
