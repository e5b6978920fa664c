"""A legend of the actions: one short line per action saying what it does, e.g. "3: louder than the step
before (+4.1 dB), brighter (+310 Hz)".

Built from an analysis's per-action profile (`action_analysis.legend`): for every action, the descriptors whose mean over its steps sits at
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
    "centroid_jump_oct": ("brighter than the step before", "darker than the step before", "{:+.2f} oct"),
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


def legend(effects_AD: np.ndarray, std_D: np.ndarray, counts_A: np.ndarray) -> dict[int, str]:
  """{action: its line} from each action's mean descriptor in standard deviations of all steps (A, D), those
  deviations (D,) and the actions' step counts (A,) (`action_analysis.profile`); unused actions say so."""
  lines = {}
  for action, effect_D in enumerate(effects_AD):
    if counts_A[action] == 0:
      lines[action] = "never used"
      continue
    lines[action] = describe_action(dict(zip(descriptors.NAMES, effect_D * std_D)),
                                    dict(zip(descriptors.NAMES, effect_D)))
  return lines


def legend_markdown(lines: dict[int, str], counts: np.ndarray) -> str:
  total = max(int(np.sum(counts)), 1)
  out = ["What each action does (its steps against all steps):", ""]
  out += [f"- **{a}** ({100 * counts[a] / total:.0f}% of steps): {text}" for a, text in lines.items()]
  return "\n".join(out) + "\n"
