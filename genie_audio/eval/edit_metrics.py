"""Edit metrics: does an edit follow the requested actions, and does it join the untouched audio?

  action accuracy: the frozen LAM is run on the edited latents; the share of edited action steps whose inferred
      code equals the requested one. Requests drawn uniformly from A actions score 1/A by chance.
  level-move correlation: the same question asked without the LAM, so a sampler that steers by the LAM
      (action guidance) cannot score by fooling it. A step's level is the mean projection of its frames on the
      latents' first principal component (the loudness, r = 0.92 on the demo); an action's expected move is the
      mean level change from the step before over the unedited steps it labels; the score is the correlation,
      over the edited steps, of the requested action's expected move with the move the edit made.
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


def first_component(latents_NTC: np.ndarray) -> np.ndarray:
  """(C,) unit first principal component of the frames, signed so the level grows with the frames' norm."""
  frames_MC = np.asarray(latents_NTC, np.float64).reshape(-1, latents_NTC.shape[-1])
  direction_C = np.linalg.svd(frames_MC - frames_MC.mean(0), full_matrices=False)[2][0]
  projection_M = frames_MC @ direction_C
  if np.corrcoef(projection_M, np.linalg.norm(frames_MC, axis=1))[0, 1] < 0:
    direction_C = -direction_C
  return direction_C


def expected_moves(levels_NS: np.ndarray, labels_NS: np.ndarray, num_actions: int) -> np.ndarray:
  """(A,) mean level change from the step before over the steps each action labels (steps 1..S-1; an action
  that labels none gets the overall mean)."""
  moves = np.diff(levels_NS, axis=1).reshape(-1)
  labels = np.asarray(labels_NS)[:, 1:].reshape(-1)
  overall = float(moves.mean())
  return np.asarray([moves[labels == a].mean() if np.any(labels == a) else overall for a in range(num_actions)])


def level_move_correlation(levels_NS: np.ndarray, steps_Nn: np.ndarray, requested_Nn: np.ndarray,
                           expected_A: np.ndarray) -> float:
  """Correlation over the edited steps (each with a step before it) of the requested actions' expected level
  moves with the moves the edited windows make there (module docstring); 0 when either side is constant."""
  steps_Nn = np.asarray(steps_Nn)
  rows_Nn = np.broadcast_to(np.arange(len(levels_NS))[:, None], steps_Nn.shape)
  has_before = steps_Nn >= 1
  made = (levels_NS[rows_Nn, steps_Nn] - levels_NS[rows_Nn, np.maximum(steps_Nn - 1, 0)])[has_before]
  wanted = np.asarray(expected_A)[np.asarray(requested_Nn)][has_before]
  if made.size < 2 or np.std(made) == 0 or np.std(wanted) == 0:
    return 0.0
  return float(np.corrcoef(wanted, made)[0, 1])


def seam_distances(original_T: np.ndarray, edited_T: np.ndarray, start: int, end: int, half_width: int
                   ) -> np.ndarray:
  """Mel distance at each real seam of the span [start, end) (one value per edge with audio on both sides)."""
  edges = splice.seam_edges(start, end, len(original_T))
  if not edges:
    return np.zeros(0)
  ref = splice.seam_windows(np.asarray(original_T, np.float64), edges, half_width)
  est = splice.seam_windows(np.asarray(edited_T, np.float64), edges, half_width)
  return np.atleast_1d(audio_metrics.multiscale_mel_distance(ref, est))
