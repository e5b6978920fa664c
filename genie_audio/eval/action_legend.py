"""A legend of the actions: one short line per action saying what it does, e.g. "3: louder than the step
before (+4.1 dB), brighter (+310 Hz)".

Built from an `action_analysis.Analysis`: for every action, the descriptors whose mean over its steps sits at
least `MIN_EFFECT` standard deviations (of all steps) from the mean of all steps, strongest first, at most
`MAX_TERMS`, each worded by direction with the difference in the descriptor's unit. An action whose steps are
average on every descriptor reads "no clear tendency". Used by describe_actions.py (actions.md, legend.json).
"""

from __future__ import annotations

import numpy as np

from genie_audio.eval import descriptors

MIN_EFFECT = 0.3   # standard deviations of all steps: below this a tendency is not worth naming
MAX_TERMS = 3

# descriptor -> (word when the action's steps are above average, word when below, number format)
WORDS = {
    "loudness_db": ("louder", "quieter", "{:+.1f} dB"),
    "loudness_change_db": ("swelling", "fading", "{:+.1f} dB"),
    "loudness_jump_db": ("louder than the step before", "softer than the step before", "{:+.1f} dB"),
    "centroid_hz": ("brighter", "darker", "{:+.0f} Hz"),
    "centroid_change_oct": ("brightening", "darkening", "{:+.2f} oct"),
    "onset_density": ("busier", "sparser", "{:+.1f} onsets/s"),
    "chroma_change": ("harmony moving", "harmony holding", "{:+.2f}"),
    "low_high_db": ("more bass", "more treble", "{:+.1f} dB"),
    "low_high_change_db": ("turning to bass", "turning to treble", "{:+.1f} dB"),
}


def describe_action(differences: dict[str, float], effects: dict[str, float]) -> str:
  """The words for one action from its per-descriptor difference to all steps (descriptor units) and effect
  (the same in standard deviations of all steps)."""
  named = [(abs(effects[n]), n) for n in descriptors.NAMES if np.isfinite(effects.get(n, np.nan))
           and abs(effects[n]) >= MIN_EFFECT]
  terms = []
  for _, name in sorted(named, reverse=True)[:MAX_TERMS]:
    up, down, number = WORDS[name]
    terms.append(f"{up if differences[name] > 0 else down} ({number.format(differences[name])})")
  return ", ".join(terms) if terms else "no clear tendency"


def legend(analysis) -> dict[int, str]:
  """{action: its line} for every action of `analysis` (an `action_analysis.Analysis`); unused actions say so."""
  values = analysis.values()
  finite = np.isfinite(values)
  count = finite.sum(axis=0)
  mean = np.where(finite, values, 0.0).sum(axis=0) / np.maximum(count, 1)
  std = np.sqrt(np.where(finite, (values - mean) ** 2, 0.0).sum(axis=0) / np.maximum(count, 1))
  lines = {}
  for action in range(analysis.num_actions):
    rows = values[analysis.codes == action]
    if len(rows) == 0:
      lines[action] = "never used"
      continue
    ok = np.isfinite(rows)
    action_mean = np.where(ok, rows, 0.0).sum(axis=0) / np.maximum(ok.sum(axis=0), 1)
    action_mean = np.where(ok.any(axis=0), action_mean, np.nan)
    difference = action_mean - mean
    effect = np.where(std > 0, difference / np.where(std > 0, std, 1.0), np.nan)
    lines[action] = describe_action(dict(zip(descriptors.NAMES, difference)),
                                    dict(zip(descriptors.NAMES, effect)))
  return lines


def legend_markdown(lines: dict[int, str], counts: np.ndarray) -> str:
  total = max(int(np.sum(counts)), 1)
  out = ["What each action does (its steps against all steps):", ""]
  out += [f"- **{a}** ({100 * counts[a] / total:.0f}% of steps): {text}" for a, text in lines.items()]
  return "\n".join(out) + "\n"
