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
GOOD, BAD = "good", "bad"


@dataclasses.dataclass(frozen=True)
class _FeatureJob:
  cut_s: float
  synth_negatives: bool
  seed: int
  features: Callable[..., np.ndarray]


def _recording_features(job: _FeatureJob, item: tuple[int, int, quality.AudioInput]) -> dict:
  """Cut features of one recording and, for a good one with synthetic negatives, of each degraded copy."""
  group, label, source = item
  try:
    samples = source.load()
  except audio.BadAudioError as e:
    return {"name": source.name, "error": e.reason, "units": []}
  features = job.features(samples, SAMPLE_RATE, job.cut_s)
  units = [(GOOD if label else BAD, label, features)]
  if job.synth_negatives and label == 1:
    # One bad cut per good cut: a copy whose consecutive blocks of cuts each carry another degradation.
    # (Six whole copies would cost six times the time and outnumber the good cuts six to one.)
    cuts = quality_features.cut_bounds(samples.shape[0], SAMPLE_RATE, job.cut_s)
    blocks = [(cuts[b[0]][0], cuts[b[-1]][1])
              for b in np.array_split(np.arange(len(cuts)), min(len(cuts), len(degrade.DEGRADATIONS)))]
    copy, kinds = degrade.mixed_copy(samples, blocks, job.seed, group)
    copy_features = job.features(copy, SAMPLE_RATE, job.cut_s)
    for block, kind in zip(np.array_split(copy_features, len(blocks)), kinds):
      units.append((kind, 0, block))
  return {"name": source.name, "error": None, "units": units}


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
                features: Callable[..., np.ndarray] = quality_features.cut_features) -> CutTable:
  """Features of every cut. `bad=None` makes the bad class from one copy of each good recording whose blocks
  of cuts carry the degradations of degrade.DEGRADATIONS in turn; each block counts as a bad recording.
  `features` (samples, rate, cut_s) -> (cuts, columns) is a module-level function (workers pickle it)."""
  items = [(g, 1, s) for g, s in enumerate(good)] + [(len(good) + b, 0, s) for b, s in enumerate(bad or [])]
  job = _FeatureJob(cut_s, bad is None, seed, features)
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


def make_classifier(trees: int, seed: int, workers: int = 1):
  from sklearn.ensemble import ExtraTreesClassifier  # imported here: scoring needs only the unpickled model

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
                   workers: int = 1) -> dict | None:
  """Out-of-fold accuracy and ROC AUC per cut and per recording, and the share kept of each kind; folds
  grouped by source recording. None when there are fewer than two source recordings."""
  from sklearn.model_selection import StratifiedGroupKFold

  folds = min(folds, len(np.unique(table.groups)))
  if folds < 2:
    return None
  oof = np.zeros(len(table.labels))
  splitter = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed)
  for train, test in splitter.split(table.features, table.labels, table.groups):
    classifier = make_classifier(trees, seed, workers).fit(table.features[train], table.labels[train])
    oof[test] = classifier.predict_proba(table.features[test])[:, list(classifier.classes_).index(1)]
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
          features: Callable[..., np.ndarray] = quality_features.cut_features) -> quality.QualityModel:
  """Cross-validates, then fits on every cut. `bad=None` makes synthetic negatives from `good`; `features`
  replaces the library's cut features (experiments only: such a model cannot be saved)."""
  table = build_table(good, bad, settings.cut_s, seed, workers, progress, features)
  report = {
      "cuts": {GOOD: int(np.sum(table.labels == 1)), BAD: int(np.sum(table.labels == 0))},
      "recordings": {GOOD: table.unit_kinds.count(GOOD), BAD: len(table.unit_kinds) - table.unit_kinds.count(GOOD)},
      "negatives": SYNTH if bad is None else "labelled",
      "trees": trees,
      "cross_validation": cross_validate(table, settings, trees, seed, folds, workers),
  }
  classifier = make_classifier(trees, seed, workers).fit(table.features, table.labels)
  return quality.QualityModel(classifier, settings, report, features)
