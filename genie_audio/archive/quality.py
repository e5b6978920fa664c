"""The quality filter: scores a prepared recording and keeps or drops it whole.

A recording is cut into `cut_s` pieces (quality_features.py), a classifier gives each cut the probability
that it is usable audio, the probabilities are smoothed over time with a Gaussian of `sigma_cuts` cuts (a
single odd cut is not a verdict), and the recording's score is their mean: kept when above `threshold`.

A model file is a header line, a JSON line (feature version, settings, training report), then the pickled
scikit-learn classifier. The header and feature version are checked before anything is unpickled, so a file
that is not a model, or one trained on other features, is refused with a message that says which.
"""

from __future__ import annotations

import dataclasses
import json
import os
import pickle
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import numpy as np
from scipy import ndimage

from genie_audio.archive import parallel, prepare, quality_features
from genie_audio.data import audio
from genie_audio.data.manifest import MANIFEST, SAMPLE_RATE, read_manifest, shard_path, write_atomically

MAGIC = b"genie-audio quality model\n"
DEFAULT_CUT_S = 5.0
DEFAULT_SIGMA_CUTS = 1.0
DEFAULT_THRESHOLD = 0.55
_TRAIN_HINT = "train one with: python launch/quality.py train --good DIR --bad synth --output MODEL"


@dataclasses.dataclass(frozen=True)
class Settings:
  cut_s: float = DEFAULT_CUT_S
  sigma_cuts: float = DEFAULT_SIGMA_CUTS
  threshold: float = DEFAULT_THRESHOLD

  def __post_init__(self):
    if self.cut_s <= 0 or self.sigma_cuts < 0 or not 0 <= self.threshold <= 1:
      raise ValueError(f"quality settings need cut_s > 0, sigma_cuts >= 0 and threshold in [0, 1]; got {self}")


@dataclasses.dataclass
class QualityModel:
  """A trained classifier of cuts (class 1: usable) with the settings it was trained with."""
  classifier: Any
  settings: Settings
  report: dict = dataclasses.field(default_factory=dict)  # what training measured, kept for the record
  # (samples, rate, cut_s) -> (cuts, features). Only the library's own features can be saved (the file records
  # their version); another function is for experiments that compare feature sets.
  features: Callable[..., np.ndarray] = quality_features.cut_features

  def cut_probabilities(self, samples: np.ndarray) -> np.ndarray:
    """Smoothed probability per cut that a prepared (16 kHz mono) recording's cut is usable."""
    features = self.features(samples, SAMPLE_RATE, self.settings.cut_s)
    return smooth(self.classifier.predict_proba(features)[:, 1], self.settings.sigma_cuts)

  def score(self, samples: np.ndarray) -> float:
    return float(np.mean(self.cut_probabilities(samples)))

  def passes(self, score: float) -> bool:
    return score > self.settings.threshold


def smooth(probabilities: np.ndarray, sigma_cuts: float) -> np.ndarray:
  """Gaussian smoothing over time; edges reflect, so the first and last cuts are not pulled towards 0."""
  if sigma_cuts <= 0 or probabilities.shape[0] < 2:
    return probabilities
  return ndimage.gaussian_filter1d(probabilities.astype(np.float64), sigma_cuts, mode="reflect")


def save(model: QualityModel, path: str | os.PathLike) -> None:
  if model.features is not quality_features.cut_features:
    raise ValueError(f"only a model of the library's quality features can be saved (version "
                     f"{quality_features.FEATURE_VERSION}); this one computes {model.features.__name__}")
  header = {"feature_version": quality_features.FEATURE_VERSION, "settings": dataclasses.asdict(model.settings),
            "feature_names": quality_features.feature_names(), "report": model.report}
  Path(path).parent.mkdir(parents=True, exist_ok=True)
  write_atomically(path, MAGIC + json.dumps(header, sort_keys=True).encode("utf-8") + b"\n"
                   + pickle.dumps(model.classifier, protocol=pickle.HIGHEST_PROTOCOL))


def load(path: str | os.PathLike) -> QualityModel:
  """Reads a model file; raises ValueError naming the file and what is wrong with it."""
  path = Path(path)
  if not path.is_file():
    raise FileNotFoundError(f"quality model {path} does not exist (or is not a file); {_TRAIN_HINT}")
  with open(path, "rb") as f:
    if f.read(len(MAGIC)) != MAGIC:
      raise ValueError(f"{path} is not a genie-audio quality model (it does not start with {MAGIC!r}); "
                       f"{_TRAIN_HINT}")
    try:
      header = json.loads(f.readline())
      version = header["feature_version"]
      settings = Settings(**header["settings"])
    except (ValueError, KeyError, TypeError) as e:
      raise ValueError(f"{path}: the quality model's header is damaged ({type(e).__name__}: {e})") from None
    if version != quality_features.FEATURE_VERSION:
      raise ValueError(f"{path} was trained on quality features version {version}, this code computes version "
                       f"{quality_features.FEATURE_VERSION}; retrain it ({_TRAIN_HINT})")
    try:
      classifier = pickle.load(f)
    except Exception as e:  # a truncated or corrupted pickle can raise almost anything
      raise ValueError(f"{path}: the quality model's classifier cannot be read ({type(e).__name__}: {e}); "
                       f"{_TRAIN_HINT}") from None
  # One thread: scores must not depend on how trees are summed across threads, and workers run one per core.
  if hasattr(classifier, "n_jobs"):
    classifier.n_jobs = 1
  return QualityModel(classifier, settings, header.get("report", {}))


@dataclasses.dataclass(frozen=True)
class AudioInput:
  """One recording to score or train on: a prepared dataset's shard, or a file that needs preparing."""
  name: str        # the source path relative to its folder, as shown to people
  path: str
  prepared: bool   # True for a dataset shard (already 16 kHz mono, normalised)

  def load(self) -> np.ndarray:
    """16 kHz mono prepared samples; raises audio.BadAudioError for a file preparation would skip."""
    if not self.prepared:
      return audio.process_file(self.path)[0]
    samples, rate = audio.decode(self.path)
    if rate != SAMPLE_RATE or samples.shape[1] != 1:
      raise ValueError(f"{self.path}: a prepared shard should be {SAMPLE_RATE} Hz mono, got {rate} Hz, "
                       f"{samples.shape[1]} channel(s)")
    return samples[:, 0]


def find_inputs(folder: str | os.PathLike, split: str | None = None) -> list[AudioInput]:
  """The recordings of `folder`: a prepared dataset's shards (those of `split`, or all), or else every audio
  file under it. Raises a clear error for a missing folder or one without audio."""
  folder = Path(folder)
  if not folder.is_dir():
    raise FileNotFoundError(f"{folder} does not exist (or is not a folder)")
  if (folder / MANIFEST).exists():
    inputs = [AudioInput(r.source, str(shard_path(folder, r)), True) for r in read_manifest(folder)
              if split is None or r.split == split]
    if not inputs:
      raise ValueError(f"{folder / MANIFEST} lists no recordings" + (f" in split {split!r}" if split else ""))
    return inputs
  if split is not None:
    raise ValueError(f"{folder} is not a prepared dataset (no {MANIFEST}), so it has no split {split!r}")
  inputs = [AudioInput(name, str(folder / name), False) for name in prepare.find_audio_files(folder)]
  if not inputs:
    raise ValueError(f"{folder} holds no audio files ({', '.join(prepare.AUDIO_EXTENSIONS)}) and no prepared "
                     f"dataset ({MANIFEST})")
  return inputs


def _score_input(model: QualityModel, source: AudioInput) -> dict:
  try:
    samples = source.load()
  except audio.BadAudioError as e:
    return {"path": source.name, "score": None, "passed": False, "error": e.reason}
  score = round(model.score(samples), 4)
  return {"path": source.name, "score": score, "passed": model.passes(score),
          "seconds": round(samples.shape[0] / SAMPLE_RATE, 2)}


def score_inputs(model: QualityModel, inputs: Sequence[AudioInput], workers: int = 1) -> Iterator[dict]:
  """{"path", "score", "passed", "seconds"} per input, in input order; a file preparation would skip gets
  score None, passed False and its skip reason as "error"."""
  yield from parallel.ordered_map(_score_input, inputs, workers, context=model)
