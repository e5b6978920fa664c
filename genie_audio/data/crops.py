"""Pure numpy crop planning: which recording and offset each training example reads.

An epoch holds one example per `crop_frames` of audio, so long recordings are sampled in proportion to their
length; the offset inside the recording is drawn from the example's own random generator (Grain's
`random_map`), so a crop is a pure function of (seed, epoch, index).
"""

from __future__ import annotations

import numpy as np


def examples_per_recording(frames: np.ndarray, crop_frames: int) -> np.ndarray:
  """How many examples each recording contributes per epoch (0 for recordings shorter than a crop)."""
  frames = np.asarray(frames, dtype=np.int64)
  return np.where(frames >= crop_frames, np.maximum(frames // crop_frames, 1), 0)


def locate(index: int, cumulative: np.ndarray) -> int:
  """The recording that example `index` belongs to, given cumulative example counts."""
  return int(np.searchsorted(cumulative, index, side="right"))


def random_offset(frames: int, crop_frames: int, rng: np.random.Generator, align: int = 1) -> int:
  """A uniform start in [0, frames - crop_frames], rounded down to a multiple of `align`."""
  max_start = frames - crop_frames
  if max_start < 0:
    raise ValueError(f"recording of {frames} frames is shorter than the crop of {crop_frames}")
  start = int(rng.integers(0, max_start + 1))
  return start - start % align
