"""Do the actions describe moves or states? Two measures of an action timeline, in numpy.

eta_squared(values, labels)
    The share of a descriptor's variance across steps that the action explains: the between-action sum of
    squares over the total sum of squares (one-way ANOVA's eta squared; 0: the action says nothing about the
    descriptor, 1: every action fixes it). `eta_squared_table` gives it for every step descriptor of an
    analysis, split into state descriptors (how a step sounds: level, centroid, band balance) and move
    descriptors (what happens in it: loudness change and jump, onset density, chroma change, centroid change
    and jump, band balance change); `descriptors.STATES` / `descriptors.MOVES`.
gain_invariance(infer, waves)
    The fraction of action steps whose inferred action stays the same when a recording is played at another
    gain (GAINS_DB: -10 and +6 dB): an action is a move, and a move does not change with the volume knob.
    `infer` maps a waveform to its action codes, e.g. `ActionReader.infer_actions(w).codes`: the editor's
    inference, which codes every recording at the tokenizer's training loudness (so a global gain cancels
    there up to rounding and the peak limit, and this checks that it does); with `match_loudness=False` the
    tokenizer sees the played level, and the measure is what the models alone make of a gain change.
"""

from __future__ import annotations

from typing import Callable, Iterable

import numpy as np

from genie_audio.eval import descriptors

GAINS_DB = (-10.0, 6.0)


def gain_key(gain_db: float) -> str:
  """'-10dB', '+6dB': the JSON key of a gain."""
  return f"{gain_db:+g}dB"


def eta_squared(values: np.ndarray, labels: np.ndarray) -> float:
  """Between-label sum of squares / total sum of squares of `values` (N,) grouped by `labels` (N,).

  Non-finite values (unmeasurable steps) are left out; NaN when fewer than two remain or they do not vary.
  """
  values, labels = np.asarray(values, np.float64), np.asarray(labels)
  if values.shape != labels.shape or values.ndim != 1:
    raise ValueError(f"eta_squared: values {values.shape} and labels {labels.shape} must be the same (N,)")
  keep = np.isfinite(values)
  values, labels = values[keep], labels[keep]
  if values.size < 2:
    return float("nan")
  total = float(np.sum((values - values.mean()) ** 2))
  if total <= 1e-12 * max(float(np.sum(values ** 2)), 1e-300):  # constant up to rounding: nothing to explain
    return float("nan")
  _, group, counts = np.unique(labels, return_inverse=True, return_counts=True)
  means = np.bincount(group, weights=values) / counts
  between = float(np.sum(counts * (means - values.mean()) ** 2))
  return min(between / total, 1.0)


def eta_squared_table(steps: dict[str, np.ndarray], labels: np.ndarray) -> dict[str, dict[str, float]]:
  """{"state": {descriptor: eta squared}, "move": {...}} of every step descriptor in `steps` by `labels`."""
  kinds = {"state": descriptors.STATES, "move": descriptors.MOVES}
  return {kind: {name: eta_squared(steps[name], labels) for name in names} for kind, names in kinds.items()}


def gain_invariance(infer: Callable[[np.ndarray], np.ndarray], waves: Iterable[np.ndarray],
                    gains_db: Iterable[float] = GAINS_DB) -> dict[str, float]:
  """{gain_key(g): fraction of the steps of all `waves` whose action at gain g equals the one at 0 dB}.

  `infer`: waveform (T,) -> (S,) action codes. The waves are scaled in float (no clipping): a gain change,
  not a distortion.
  """
  gains_db = tuple(gains_db)
  same, total = np.zeros(len(gains_db)), 0
  for wave in waves:
    wave = np.asarray(wave, np.float32)
    reference = np.asarray(infer(wave))
    total += len(reference)
    for i, gain_db in enumerate(gains_db):
      codes = np.asarray(infer(wave * np.float32(10.0 ** (gain_db / 20.0))))
      if codes.shape != reference.shape:
        raise ValueError(f"gain_invariance: {len(codes)} actions at {gain_key(gain_db)}, {len(reference)} at "
                         f"0 dB: infer must give one per step whatever the level")
      same[i] += np.sum(codes == reference)
  if total == 0:
    raise ValueError("gain_invariance: no action steps (no recordings, or all shorter than a step)")
  return {gain_key(g): float(n / total) for g, n in zip(gains_db, same)}
