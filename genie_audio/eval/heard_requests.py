"""Are an edit's requested actions heard in its audio, without asking the LAM? Measures in numpy.

Reading requests back with the LAM (`edit_music`'s accuracy) asks the model that defined the actions; noise that
the LAM happens to read as the requested code passes it. This measure asks the audio instead: over many edits
that request random actions, how much of each move descriptor's variance across the edited steps (loudness jump,
centroid jump, ...; `descriptors.MOVES`) the requested action explains (`action_measures.eta_squared`), against
  chance     the same with the requests shuffled among the steps (what grouping alone explains), and
  original   the same on the unedited audio of the same steps grouped by the LAM's own reading of it: how
             much the actions say about the music they were learnt from (an edit need not reach it).
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from genie_audio.eval import action_measures, descriptors

PERMUTATIONS = 100


def span_moves(wave: np.ndarray, step_samples: int, first_step: int, end_step: int, sample_rate: int
               ) -> dict[str, np.ndarray]:
  """Move descriptors {name: (end_step - first_step,)} of the steps [first_step, end_step) of `wave`, each
  step s covering samples [s * step_samples, (s + 1) * step_samples). The step before the first is included
  in the analysis, so the first step's jumps are measured from it."""
  lead = 1 if first_step > 0 else 0
  start = (first_step - lead) * step_samples
  clip = np.asarray(wave, np.float32)[start:end_step * step_samples]
  features = descriptors.frame_features(clip, sample_rate)
  steps = descriptors.step_descriptors(features, step_samples, num_steps=end_step - first_step + lead)
  return {name: steps[name][lead:] for name in descriptors.MOVES}


def heard(labels: Sequence[np.ndarray], moves: Sequence[Mapping[str, np.ndarray]], *,
          permutations: int = PERMUTATIONS, seed: int = 0) -> dict[str, dict[str, float]]:
  """{move: {"eta2", "chance"}} over the steps of every span: eta squared of the move by `labels` (one (S,)
  array a span, beside that span's `moves`), and its mean over `permutations` shuffles of the labels."""
  if len(labels) != len(moves):
    raise ValueError(f"heard: {len(labels)} label arrays for {len(moves)} spans of moves")
  if not labels:
    return {}
  flat = np.concatenate([np.asarray(a) for a in labels])
  rng = np.random.default_rng(seed)
  shuffles = [rng.permutation(flat) for _ in range(permutations)]
  out = {}
  for name in descriptors.MOVES:
    values = np.concatenate([np.asarray(m[name], np.float64) for m in moves])
    if values.shape != flat.shape:
      raise ValueError(f"heard: {values.shape[0]} steps of {name} for {flat.shape[0]} labels")
    chance = [action_measures.eta_squared(values, s) for s in shuffles]
    out[name] = dict(eta2=action_measures.eta_squared(values, flat),
                     chance=float(np.nanmean(chance)) if np.isfinite(chance).any() else float("nan"))
  return out
