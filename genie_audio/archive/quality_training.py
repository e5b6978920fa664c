"""Training the quality filter (quality.py): cut features of good and bad recordings, or of synthetic bad
copies of the good ones (degrade.py), a cross-validation report grouped by recording, and the final fit.

Cuts of one recording, and of its degraded copies, always sit on the same side of a cross-validation split:
otherwise the classifier would be graded on recordings it has already seen.
"""

from __future__ import annotations

import dataclasses
import sys
from typing import Callable, Sequence

import numpy as np
import tqdm

from genie_audio.archive import degrade, parallel, quality, quality_features
from genie_audio.data import audio
from genie_audio.data.manifest import SAMPLE_RATE

SYNTH = "synth"
# Restyled versions of each good recording (with their own damaged copies) in `--bad synth` training, so the
# collection's sound cannot tell good from bad (experiments/quality_cross_style.py, docs/quality.md).
DEFAULT_STYLE_COPIES = 2
GOOD, BAD = "good", "bad"


@dataclasses.dataclass(frozen=True)
class _FeatureJob:
  cut_s: float
  synth_negatives: bool
  seed: int
  features: Callable[..., np.ndarray]
  style_copies: int


def _recording_features(job: _FeatureJob, item: tuple[int, int, quality.AudioInput]) -> dict:
  """Cut features of one recording and, for a good one with synthetic negatives, of each degraded copy; with
  style copies, also of restyled versions of it (good) and of a degraded copy of each (bad)."""
  group, label, source = item
  try:
    samples = source.load()
  except audio.BadAudioError as e:
    return {"name": source.name, "error": e.reason, "units": []}
  if not (job.synth_negatives and label == 1):
    return {"name": source.name, "error": None, "units": [(GOOD if label else BAD, label, _features(job, samples))]}
  units = []
  for version in range(1 + job.style_copies):
    # Version 0 is the recording itself; the others are restyled, each with its own degraded copy, so that
    # the style of a version never tells its good cuts from its bad ones.
    index = group + 1000 * version
    x = samples if version == 0 else audio.normalize_loudness(
        degrade.restyle(samples, np.random.default_rng([job.seed, index, 99])), SAMPLE_RATE)
    units.append((GOOD, 1, _features(job, x)))
    # One bad cut per good cut: a copy whose consecutive blocks of cuts each carry another degradation.
    # (Six whole copies would cost six times the time and outnumber the good cuts six to one.)
    cuts = quality_features.cut_bounds(x.shape[0], SAMPLE_RATE, job.cut_s)
    blocks = [(cuts[b[0]][0], cuts[b[-1]][1])
              for b in np.array_split(np.arange(len(cuts)), min(len(cuts), len(degrade.DEGRADATIONS)))]
    copy, kinds = degrade.mixed_copy(x, blocks, job.seed, index)
    for block, kind in zip(np.array_split(_features(job, copy), len(blocks)), kinds):
      units.append((kind, 0, block))
  return {"name": source.name, "error": None, "units": units}


def _features(job: _FeatureJob, samples: np.ndarray) -> np.ndarray:
  return job.features(samples, SAMPLE_RATE, job.cut_s)


@dataclasses.dataclass
class CutTable:
  """Cut features with their labels (1: usable); `groups` ties a degraded copy's cuts to its original's
  recording, `units` numbers each recording (originals and copies apart) for per-recording scores."""
  features: np.ndarray   # (cuts, features)
  labels: np.ndarray     # (cuts,)
  groups: np.ndarray     # (cuts,)
  units: np.ndarray      # (cuts,), cuts of a unit in time order
  unit_kinds: list[str]  # per unit: "good", "bad" or a degradation's name


def build_table(good: Sequence[quality.AudioInput], bad: Sequence[quality.AudioInput] | None, cut_s: float,
                seed: int = 0, workers: int = 1, progress: bool = True,
                features: Callable[..., np.ndarray] = quality_features.cut_features,
                style_copies: int = 0) -> CutTable:
  """Features of every cut. `bad=None` makes the bad class from one copy of each good recording whose blocks
  of cuts carry the degradations of degrade.DEGRADATIONS in turn; each block counts as a bad recording.
  With `bad=None`, `style_copies` restyled versions of each good recording (degrade.restyle) join the good
  class, each with its own degraded copy. `features` (samples, rate, cut_s) -> (cuts, columns) is a
  module-level function (workers pickle it)."""
  items = [(g, 1, s) for g, s in enumerate(good)] + [(len(good) + b, 0, s) for b, s in enumerate(bad or [])]
  job = _FeatureJob(cut_s, bad is None, seed, features, style_copies)
  rows, labels, groups, units, kinds = [], [], [], [], []
  results = parallel.ordered_map(_recording_features, items, workers, context=job)
  for (group, _, _), result in zip(items, tqdm.tqdm(results, total=len(items), desc="features", unit="file",
                                                     disable=not progress)):
    if result["error"]:
      print(f"skipped {result['name']}: {result['error']}", file=sys.stderr)
    for kind, label, features in result["units"]:
      rows.append(features)
      labels.append(np.full(len(features), label))
      groups.append(np.full(len(features), group))
      units.append(np.full(len(features), len(kinds)))
      kinds.append(kind)
  if not rows:
    raise ValueError("no recording could be read for training (every file was skipped)")
  table = CutTable(np.concatenate(rows), np.concatenate(labels), np.concatenate(groups), np.concatenate(units),
                   kinds)
  if len(np.unique(table.labels)) < 2:
    raise ValueError("training needs cuts of both classes, good and bad; every readable file had one label")
  return table


CLASSIFIERS = ("extra_trees", "boosting")


def make_classifier(trees: int, seed: int, workers: int = 1, kind: str = "extra_trees"):
  """An unfitted classifier of cuts: `kind` "extra_trees" (`trees` trees) or "boosting" (gradient-boosted
  trees, `trees` rounds)."""
  # Imported here: scoring needs only the unpickled model.
  from sklearn.ensemble import ExtraTreesClassifier, HistGradientBoostingClassifier

  if kind not in CLASSIFIERS:
    raise ValueError(f"unknown classifier {kind!r}; choose from {CLASSIFIERS}")
  if kind == "boosting":
    return HistGradientBoostingClassifier(max_iter=trees, learning_rate=0.05, class_weight="balanced",
                                          random_state=seed)

  # Balanced class weights: labelled bad folders rarely match the good ones in size, and the threshold is meant
  # for balanced probabilities. 30% of the features per split, not sqrt(208) ~ 7%: the few features that see
  # one fault (partial drift for wow) are otherwise drowned by the many band statistics (demo corpus, 5-fold
  # grouped CV, features before their gain-independent floor: cut ROC AUC 0.918 -> 0.950, wow-and-flutter
  # blocks kept 55% -> 36%).
  return ExtraTreesClassifier(n_estimators=trees, max_features=0.3, class_weight="balanced", random_state=seed,
                              n_jobs=workers)


def _roc_auc(labels: np.ndarray, scores: np.ndarray) -> float | None:
  from sklearn.metrics import roc_auc_score
  return float(roc_auc_score(labels, scores)) if len(np.unique(labels)) == 2 else None


def recording_scores(table: CutTable, cut_probabilities: np.ndarray, sigma_cuts: float) -> np.ndarray:
  """Per unit: the mean of its cuts' probabilities, smoothed over time as quality.QualityModel.score does."""
  return np.array([np.mean(quality.smooth(cut_probabilities[table.units == u], sigma_cuts))
                   for u in range(len(table.unit_kinds))])


def cross_validate(table: CutTable, settings: quality.Settings, trees: int, seed: int = 0, folds: int = 5,
                   workers: int = 1, classifier: str = "extra_trees") -> dict | None:
  """Out-of-fold accuracy and ROC AUC per cut and per recording, and the share kept of each kind; folds
  grouped by source recording. None when there are fewer than two source recordings."""
  from sklearn.model_selection import StratifiedGroupKFold

  folds = min(folds, len(np.unique(table.groups)))
  if folds < 2:
    return None
  oof = np.zeros(len(table.labels))
  splitter = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed)
  for train, test in splitter.split(table.features, table.labels, table.groups):
    fitted = make_classifier(trees, seed, workers, classifier).fit(table.features[train], table.labels[train])
    oof[test] = fitted.predict_proba(table.features[test])[:, list(fitted.classes_).index(1)]
  scores = recording_scores(table, oof, settings.sigma_cuts)
  unit_labels = np.array([int(kind == GOOD) for kind in table.unit_kinds])
  kinds = sorted(set(table.unit_kinds), key=lambda k: (k != GOOD, k))
  return {
      "folds": folds,
      "cut_accuracy": float(np.mean((oof > settings.threshold) == table.labels)),
      "cut_roc_auc": _roc_auc(table.labels, oof),
      "recording_accuracy": float(np.mean((scores > settings.threshold) == unit_labels)),
      "recording_roc_auc": _roc_auc(unit_labels, scores),
      "kept_by_kind": {k: float(np.mean(scores[np.array(table.unit_kinds) == k] > settings.threshold))
                       for k in kinds},
  }


def train(good: Sequence[quality.AudioInput], bad: Sequence[quality.AudioInput] | None,
          settings: quality.Settings = quality.Settings(), trees: int = 200, seed: int = 0, folds: int = 5,
          workers: int = 1, progress: bool = True,
          features: Callable[..., np.ndarray] = quality_features.cut_features,
          style_copies: int = DEFAULT_STYLE_COPIES, classifier: str = "extra_trees") -> quality.QualityModel:
  """Cross-validates, then fits on every cut. `bad=None` makes synthetic negatives from `good`, and
  `style_copies` restyled good versions of each; `features` replaces the library's cut features (experiments
  only: such a model cannot be saved)."""
  table = build_table(good, bad, settings.cut_s, seed, workers, progress, features, style_copies)
  report = {
      "cuts": {GOOD: int(np.sum(table.labels == 1)), BAD: int(np.sum(table.labels == 0))},
      "recordings": {GOOD: table.unit_kinds.count(GOOD), BAD: len(table.unit_kinds) - table.unit_kinds.count(GOOD)},
      "negatives": SYNTH if bad is None else "labelled",
      "style_copies": style_copies if bad is None else 0,
      "trees": trees,
      "classifier": classifier,
      "cross_validation": cross_validate(table, settings, trees, seed, folds, workers, classifier),
  }
  fitted = make_classifier(trees, seed, workers, classifier).fit(table.features, table.labels)
  return quality.QualityModel(fitted, settings, report, features)
