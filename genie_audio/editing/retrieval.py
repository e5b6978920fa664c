"""Retrieval fill: real latent frames from elsewhere whose surroundings match a span's context.

For a span [f0, f1) of a recording's latents, the context is the K frames before f0 and the K frames after f1
(as many as exist). Every position p of every source in a pool is scored by the mean squared difference between
the source's frames around [p, p + L) and that context (L = f1 - f0); the best position's L frames are the fill.
Contexts can be compared on the latents themselves or on other frame-aligned features: the editor compares the
chroma of the audio (`data.spectra.frame_chroma`), so the match is a passage with the same notes around it, in a
tune that repeats its form the same place in another chorus (on music unlike the demo corpus the fills' harmony
with the original span rose from 0.31 to 0.61 against latent contexts; docs/editing.md). The fill is real music that
ignores the requested actions; the in-painting sampler can start from it (`inpainting.inpaint(start_BTC=...)`) so
the model re-shapes it towards them.

When the edited recording itself is in the pool (`self_source`), positions whose frames or context would overlap
the span are left out: the fill never copies the audio it replaces.
"""

from __future__ import annotations

import dataclasses
from typing import Sequence

import numpy as np


@dataclasses.dataclass(frozen=True)
class Match:
  source: int       # index of the source in the pool
  start: int        # the fill's first frame in that source
  distance: float   # mean squared difference of the context frames


def _window_distances(source_TC: np.ndarray, pattern_KC: np.ndarray) -> np.ndarray:
  """(T - K + 1,) sum of squared differences between `pattern_KC` and source frames [q, q + K) for every q."""
  K = len(pattern_KC)
  windows = np.lib.stride_tricks.sliding_window_view(source_TC, K, axis=0)        # (T - K + 1, C, K)
  energy = np.convolve(np.sum(np.square(source_TC), axis=1), np.ones(K), mode="valid")
  cross = np.einsum("qck,kc->q", windows, pattern_KC)
  return np.maximum(energy - 2.0 * cross + np.sum(np.square(pattern_KC)), 0.0)


def context_distances(source_TC: np.ndarray, before_KC: np.ndarray, after_KC: np.ndarray, length: int
                      ) -> np.ndarray:
  """(T - Kb - L - Ka + 1,) mean squared context difference of a fill starting at p = Kb + index."""
  source_TC = np.asarray(source_TC, np.float64)
  Kb, Ka, T = len(before_KC), len(after_KC), len(source_TC)
  count = T - Kb - length - Ka + 1
  if count <= 0:
    return np.zeros(0)
  total = np.zeros(count)
  if Kb:
    total += _window_distances(source_TC, np.asarray(before_KC, np.float64))[:count]
  if Ka:
    total += _window_distances(source_TC, np.asarray(after_KC, np.float64))[Kb + length:Kb + length + count]
  return total / max(1, (Kb + Ka) * source_TC.shape[1])


def fit_distances(source_TF: np.ndarray, context_mean_F: np.ndarray, length: int, first: int, count: int
                  ) -> np.ndarray:
  """(count,) mean squared difference between the mean of source frames [p, p + length) and `context_mean_F`,
  for p = first .. first + count - 1: how well a fill's own content agrees with what surrounds the span."""
  cumulative = np.concatenate([np.zeros((1, source_TF.shape[1])), np.cumsum(source_TF, axis=0)])
  starts = first + np.arange(count)
  means = (cumulative[starts + length] - cumulative[starts]) / length
  return np.mean(np.square(means - context_mean_F), axis=1)


def best_match(pool: Sequence[np.ndarray], target_TF: np.ndarray, f0: int, f1: int, context_frames: int,
               self_source: int | None = None, fit_weight: float = 0.0, span_weight: float = 0.0) -> Match | None:
  """Where in `pool` (feature frames (T, F) per source) the surroundings of [p, p + f1 - f0) best match the K
  frames around [f0, f1) of `target_TF`; None when no source has room. `pool[self_source]`, if given, is the
  edited recording: places overlapping [f0 - K, f1 + K) are left out. With `fit_weight` > 0 the score adds that
  weight times `fit_distances`: the fill's mean against the context's mean (with chroma features: notes that
  belong to the harmony around the span); with `span_weight` > 0, that weight times the fill's mean against the
  mean of the span's own frames in `target_TF` (with chroma: another passage that plays the span's chords, so an
  edit keeps the harmony of the tune at that place)."""
  target_TF = np.asarray(target_TF)
  L, K = f1 - f0, context_frames
  if L <= 0 or K < 0:
    raise ValueError(f"best_match: need a non-empty span and context >= 0, got [{f0}, {f1}) and {K}")
  before, after = target_TF[max(0, f0 - K):f0], target_TF[f1:f1 + K]
  best: Match | None = None
  for index, source in enumerate(pool):
    distances = context_distances(source, before, after, L)
    starts = len(before) + np.arange(len(distances))
    if fit_weight > 0 and len(distances):
      context_mean = np.concatenate([before, after]).mean(0)
      distances = distances + fit_weight * fit_distances(np.asarray(source, np.float64), context_mean, L,
                                                         len(before), len(distances))
    if span_weight > 0 and len(distances):
      span_mean = np.asarray(target_TF[f0:f1], np.float64).mean(0)
      distances = distances + span_weight * fit_distances(np.asarray(source, np.float64), span_mean, L,
                                                          len(before), len(distances))
    if index == self_source:  # the fill and its context must stay clear of the span and its own context
      clear = (starts + L + len(after) <= f0 - len(before)) | (starts - len(before) >= f1 + len(after))
      distances, starts = distances[clear], starts[clear]
    if len(distances):
      i = int(np.argmin(distances))
      if best is None or distances[i] < best.distance:
        best = Match(index, int(starts[i]), float(distances[i]))
  return best


def best_fill(pool: Sequence[np.ndarray], latents_TC: np.ndarray, f0: int, f1: int, context_frames: int,
              self_source: int | None = None, features: tuple[Sequence[np.ndarray], np.ndarray] | None = None,
              fit_weight: float = 0.0, span_weight: float = 0.0) -> tuple[np.ndarray, Match] | None:
  """(fill (L, C) from the latent sources `pool`, where it came from) for span [f0, f1) of `latents_TC`, or None
  when no source has room. Contexts are matched on the latents themselves, or on `features` = (one feature
  array per source, the edited recording's), frame-aligned with the latents (e.g. the chroma of the audio);
  `fit_weight` and `span_weight` as in `best_match`."""
  match = best_match(*(features or (pool, latents_TC)), f0, f1, context_frames, self_source, fit_weight,
                     span_weight)
  if match is None:
    return None
  return np.asarray(pool[match.source][match.start:match.start + f1 - f0], np.float32), match
