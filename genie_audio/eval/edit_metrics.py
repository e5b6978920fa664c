"""Edit metrics: does an edit follow the requested actions, and does it join the untouched audio?

  action accuracy: the frozen LAM is run on the edited latents; the share of edited action steps whose inferred
      code equals the requested one. Requests drawn uniformly from A actions score 1/A by chance.
  seam distance: the multi-scale mel distance (`audio_metrics.multiscale_mel_distance`, DAC's recipe) between
      the original audio and the edited audio in windows reaching `half_width` samples each side of every span
      edge that has audio on both sides. Outside the span the two are identical, so the number measures the
      crossfade and the first re-generated audio. Compared with the same windows of an "unedited" edit (the
      span re-generated with its own actions) it says what the requested change costs at the seams.
"""

from __future__ import annotations

import numpy as np

from genie_audio.editing import splice
from genie_audio.eval import audio_metrics


def action_accuracy(requested: np.ndarray, recovered: np.ndarray) -> float:
  """Share of positions where `recovered` equals `requested` (same shapes)."""
  requested, recovered = np.asarray(requested), np.asarray(recovered)
  if requested.shape != recovered.shape or requested.size == 0:
    raise ValueError(f"action_accuracy: need equal non-empty shapes, got {requested.shape} and {recovered.shape}")
  return float(np.mean(requested == recovered))


def seam_distances(original_T: np.ndarray, edited_T: np.ndarray, start: int, end: int, half_width: int
                   ) -> np.ndarray:
  """Mel distance at each real seam of the span [start, end) (one value per edge with audio on both sides)."""
  edges = splice.seam_edges(start, end, len(original_T))
  if not edges:
    return np.zeros(0)
  ref = splice.seam_windows(np.asarray(original_T, np.float64), edges, half_width)
  est = splice.seam_windows(np.asarray(edited_T, np.float64), edges, half_width)
  return np.atleast_1d(audio_metrics.multiscale_mel_distance(ref, est))
