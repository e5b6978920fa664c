"""Does the quality filter judge damage or style? Train it on the demo corpus alone, score music unlike it.

    python launch/prepare_data.py --demo --seed 1 --output /tmp/demo_seed1 --no-progress   # once
    python experiments/quality_cross_style.py --seed1 /tmp/demo_seed1

Each arm trains the filter on the demo corpus's train split with synthetic negatives (`launch/quality.py train
--bad synth`: quality_training.train with bad=None, 200 trees, seed 0, default settings), then scores whole
recordings, clean and with each of degrade.py's damages (copies drawn with seed 1, as `launch/quality.py
degrade` draws them), in four sets:

- `demo_val`: the demo corpus's 2 validation recordings (the style the filter was trained on);
- `seed1`: every recording of a second demo corpus built with `--seed 1` (same generator, other tunes);
- `ood`: genie_audio/testing/ood_audio.py's pieces (additive piano chords, an organ hymn, piano arpeggios
  over strings);
- `styles`: more music unlike the corpus: five MMA grooves the corpus never uses (polka, march, 50s rock,
  bluegrass, trance) and a plucked-string melody synthesised here (Karplus-Strong), no FluidSynth sound.

Arms (arms()): the features before issue 26 (version 1, read from git at V1_COMMIT: log-mel band levels,
spreads and percentiles, flatness, crest factor, zero-crossing rate, level, beside partial drift and clipping),
with and without restyled good copies (degrade.restyle); the damage features (version 2) with version 1's
style columns beside them; the damage features alone, with 0, 1 or 2 restyled copies; and with 1 copy,
gradient boosting instead of ExtraTrees. Tables: per arm, the share kept of each (set, kind); the scores of
the clean pieces unlike the corpus; a summary across arms (clean kept, damaged rejected, and on the music
unlike the corpus the lowest clean score and the ROC AUC of clean against damaged).
Audio, its damaged copies, their features and each arm's scores are kept under --work-dir, so a re-run only does
what is missing.
"""

import functools
import hashlib
import importlib.util
import inspect
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402
import soundfile as sf  # noqa: E402
from absl import app, flags  # noqa: E402

from benchmarks.common import print_table  # noqa: E402
from experiments.common import cached_json  # noqa: E402
from genie_audio.archive import degrade, demo_corpus, quality, quality_features, quality_training  # noqa: E402
from genie_audio.data.manifest import SAMPLE_RATE  # noqa: E402
from genie_audio.testing import ood_audio  # noqa: E402

_DEMO = flags.DEFINE_string("demo", "data/demo", "The demo corpus (prepared): trained on its train split.")
_SEED1 = flags.DEFINE_string("seed1", "/tmp/demo_seed1", "A demo corpus built with --seed 1 (prepared).")
_WORK = flags.DEFINE_string("work_dir", os.path.join(tempfile.gettempdir(), "genie_quality_cross_style"),
                            "Cache of rendered audio, damaged copies and features.")
_ARMS = flags.DEFINE_list("arms", None, "Arms to run, by number from 0 (default: all of arms()).")
_TREES = flags.DEFINE_integer("trees", 200, "ExtraTrees size, as launch/quality.py train.")
_FOLDS = flags.DEFINE_integer("folds", 5, "Cross-validation folds of the training report (1: none).")
_WORKERS = flags.DEFINE_integer("workers", 1, "Processes for training features.")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COPY_SEED = 1  # launch/quality.py degrade's default seed: copies not drawn like the trained-on ones (seed 0)

# Grooves of MMA's library that no demo tune uses, one chord a bar.
STYLES = {
    "polka": ("Tempo 120\nGroove Polka\n", "C G7 C C F C G7 C C G7 C F C G7 C C"),
    "march": ("Tempo 110\nGroove March\n", "Bb Bb F7 F7 Bb Bb Eb Eb Bb Bb F7 F7 Eb F7 Bb Bb"),
    "rock": ("Tempo 132\nGroove 50sRock\n", "A A D A E D A E A A D A E D A A"),
    "bluegrass": ("Tempo 150\nGroove Bluegrass\n", "G G C G D D G G G G C G D D G G"),
    "trance": ("Tempo 128\nGroove Trance\n", "Am Am F F C C G G Am Am F F C C G G"),
}


def plucked_melody(seconds: float = 40.0, seed: int = 3) -> np.ndarray:
  """A Karplus-Strong plucked string (a guitar-like tone, no sample player) playing a pentatonic melody."""
  rng = np.random.default_rng(seed)
  out = np.zeros(int(seconds * SAMPLE_RATE) + SAMPLE_RATE)
  scale = np.array([0, 2, 4, 7, 9, 12, 14, 16])
  start = 0
  while start < seconds * SAMPLE_RATE:
    f0 = 196.0 * 2 ** (rng.choice(scale) / 12)
    period = int(round(SAMPLE_RATE / f0))
    n = int(rng.choice([0.25, 0.5, 0.75]) * SAMPLE_RATE)
    line = rng.uniform(-1, 1, period)
    note = np.empty(SAMPLE_RATE)
    for i in range(SAMPLE_RATE):  # the string's loop: average of two delayed samples, slightly damped
      note[i] = line[i % period]
      line[i % period] = 0.996 * 0.5 * (line[i % period] + line[(i + 1) % period])
    out[start:start + SAMPLE_RATE] += note * rng.uniform(0.5, 1.0)
    start += n
  return (0.3 * out / np.abs(out).max()).astype(np.float32)


def _render_sources(work: Path) -> dict[str, list[tuple[str, str]]]:
  """(name, audio file) of the pieces made here, per set; rendered once."""
  src = work / "sources"
  src.mkdir(parents=True, exist_ok=True)
  ood = []
  piano = src / "piano_chords.wav"
  if not piano.exists():
    sf.write(piano, ood_audio.piano_chords(), 44100)
  ood.append(("piano_chords", str(piano)))
  for name in ood_audio.PIECES:
    path = src / f"{name}.wav"
    if not path.exists():
      ood_audio.mma_piece(name, path, src / f"_{name}")
    ood.append((name, str(path)))
  styles = []
  font = demo_corpus.soundfont()
  for name, (header, chords) in STYLES.items():
    path = src / f"{name}.wav"
    if not path.exists():
      bars = "".join(f"{i + 1} {chord}\n" for i, chord in enumerate(chords.split()))
      demo_corpus.render(f"{header}{bars}Groove None\n{len(chords.split()) + 1} z!\n", path, src / f"_{name}",
                         font)
    styles.append((name, str(path)))
  path = src / "plucked.wav"
  if not path.exists():
    sf.write(path, plucked_melody(), SAMPLE_RATE)
  styles.append(("plucked", str(path)))
  return {"ood": ood, "styles": styles}


def eval_sets(work: Path) -> dict[str, list[quality.AudioInput]]:
  made = _render_sources(work)
  return {
      "demo_val": quality.find_inputs(_DEMO.value, "validation"),
      "seed1": quality.find_inputs(_SEED1.value),
      "ood": [quality.AudioInput(name, path, False) for name, path in made["ood"]],
      "styles": [quality.AudioInput(name, path, False) for name, path in made["styles"]],
  }


KINDS = ["clean", *degrade.DEGRADATIONS]


def _copies(work: Path, set_name: str, index: int, source: quality.AudioInput) -> dict[str, Path]:
  """Paths of the clean prepared recording and its damaged copies (made once, as .npy)."""
  folder = work / "audio" / set_name / f"{index:02d}"
  paths = {kind: folder / f"{kind}.npy" for kind in KINDS}
  if not all(p.exists() for p in paths.values()):
    folder.mkdir(parents=True, exist_ok=True)
    x = source.load()
    np.save(paths["clean"], x)
    # The set's name in the seed too, so sets draw different damages.
    set_id = int(hashlib.sha1(set_name.encode()).hexdigest()[:6], 16)
    for kind, copy in degrade.degraded_copies(x, COPY_SEED, set_id * 100 + index):
      np.save(paths[kind], copy)
  return paths


@functools.lru_cache(maxsize=None)
def _features_key(features) -> str:
  """The feature function's name and a hash of its source, read once (main reads them all at the start, so a
  file edited while this runs cannot give features of the old code the new code's key)."""
  code = inspect.getsource(quality_features) + inspect.getsource(sys.modules[features.__module__])
  return f"{features.__name__}_{hashlib.sha1(code.encode()).hexdigest()[:10]}"


def cached_features(work: Path, features, audio_path: Path, cut_s: float) -> np.ndarray:
  rel = audio_path.relative_to(work / "audio")
  path = work / "features" / _features_key(features) / f"{cut_s:g}" / rel
  if path.exists():
    return np.load(path)
  rows = features(np.load(audio_path), SAMPLE_RATE, cut_s)
  path.parent.mkdir(parents=True, exist_ok=True)
  np.save(path, rows)
  return rows


# ------------------------------------------------------------------------------------------------------- arms

V1_COMMIT = "03fafcd"  # the last commit whose quality features were version 1 (band levels and all)


def _v1_module(work: Path):
  """quality_features.py as it was at V1_COMMIT, read from git: the filter before this question was asked."""
  path = work / "quality_features_v1.py"
  if not path.exists():
    source = subprocess.run(["git", "show", f"{V1_COMMIT}:genie_audio/archive/quality_features.py"], cwd=ROOT,
                            capture_output=True, text=True, check=True).stdout
    path.write_text(source)
  spec = importlib.util.spec_from_file_location("quality_features_v1", path)
  module = importlib.util.module_from_spec(spec)
  sys.modules[spec.name] = module
  spec.loader.exec_module(module)
  return module


def style_columns(x: np.ndarray, rate: int = SAMPLE_RATE, cut_s: float = 5.0) -> np.ndarray:
  """Version 1's columns that describe the spectrum's shape and the waveform's character, per cut: log-mel band
  levels relative to the cut's mean (mean, deviation, 10/50/90th percentiles, frame-to-frame change), spectral
  flatness (mean, deviation, 90th percentile), crest factor, zero-crossing rate, level."""
  rows = []
  for start, end in quality_features.cut_bounds(x.shape[0], rate, cut_s):
    cut = x[start:end].astype(np.float64)
    power = quality_features.floored(quality_features.power_frames(x[start:end]))
    log_mel = 10.0 * np.log10(power @ quality_features.mel_filterbank(rate))
    log_mel -= log_mel.mean()
    delta = np.abs(np.diff(log_mel, axis=0)).mean(axis=0)
    flatness = np.exp(np.log(power).mean(axis=1)) / power.mean(axis=1)
    rms, peak = np.sqrt(np.mean(cut * cut)) + 1e-10, np.max(np.abs(cut)) + 1e-10
    rows.append(np.concatenate([
        log_mel.mean(axis=0), log_mel.std(axis=0), np.percentile(log_mel, (10, 50, 90), axis=0).ravel(), delta,
        [flatness.mean(), flatness.std(), np.percentile(flatness, 90), 20 * np.log10(peak / rms),
         np.mean(np.signbit(cut[1:]) != np.signbit(cut[:-1])), 20 * np.log10(rms)]]))
  return np.asarray(rows, dtype=np.float32)


def damage_and_style(x: np.ndarray, rate: int = SAMPLE_RATE, cut_s: float = 5.0) -> np.ndarray:
  """The library's damage features with version 1's style columns beside them."""
  return np.concatenate([quality_features.cut_features(x, rate, cut_s), style_columns(x, rate, cut_s)], axis=1)


def arms(work: Path) -> dict[str, dict]:
  """Arm name -> quality_training.train's keyword arguments (features, style copies)."""
  v1 = _v1_module(work).cut_features
  return {
      "v1 (before)": dict(features=v1, style_copies=0),
      "v1 + style copies": dict(features=v1, style_copies=1),
      "damage + style columns": dict(features=damage_and_style, style_copies=0),
      "damage": dict(features=quality_features.cut_features, style_copies=0),
      "damage + style copies": dict(features=quality_features.cut_features, style_copies=1),
      "damage + 2 style copies": dict(features=quality_features.cut_features, style_copies=2),
      "damage + style copies, boosting": dict(features=quality_features.cut_features, style_copies=1,
                                              classifier="boosting"),
  }


def score_units(work: Path, model: quality.QualityModel, units: list[tuple[str, str, Path]]) -> list[float]:
  """model.score of each unit's audio, with the features cached (the same arithmetic as QualityModel.score)."""
  scores = []
  for _, _, path in units:
    rows = cached_features(work, model.features, path, model.settings.cut_s)
    probabilities = model.classifier.predict_proba(rows)[:, list(model.classifier.classes_).index(1)]
    scores.append(float(np.mean(quality.smooth(probabilities, model.settings.sigma_cuts))))
  return scores


def arm_scores(work: Path, arm: str, options: dict, units: list[tuple[str, str, Path]]) -> dict:
  """{"scores": per unit, "cv_recording_auc"} of the arm's filter trained on the demo corpus's train split, kept
  under --work-dir (keyed by the arm's settings and the sources of its features and training)."""
  code = "".join(inspect.getsource(m) for m in (degrade, quality, quality_training))
  key = hashlib.sha1(f"{arm}{sorted(options.items(), key=str)}{_features_key(options['features'])}{code}"
                     f"{_TREES.value}{_FOLDS.value}{[str(u) for u in units]}".encode()).hexdigest()[:12]
  path = work / "scores" / f"{key}.json"
  path.parent.mkdir(parents=True, exist_ok=True)

  def produce() -> dict:
    model = quality_training.train(quality.find_inputs(_DEMO.value, "train"), None, quality.Settings(),
                                   _TREES.value, 0, _FOLDS.value, _WORKERS.value, progress=False, **options)
    cv = model.report.get("cross_validation") or {}
    return {"arm": arm, "scores": score_units(work, model, units), "cv_recording_auc": cv.get("recording_roc_auc")}

  return cached_json(str(path), produce)


def main(argv):
  del argv
  from sklearn.metrics import roc_auc_score

  work = Path(_WORK.value)
  sets = eval_sets(work)
  units = []  # (set, kind, audio path)
  for set_name, inputs in sets.items():
    for index, source in enumerate(inputs):
      for kind, path in _copies(work, set_name, index, source).items():
        units.append((set_name, kind, path))
  print(f"{len(units)} recordings to score: " + ", ".join(f"{s} {len(i)} x {len(KINDS)}" for s, i in sets.items()),
        flush=True)
  summary, pieces = [], {}
  all_arms = arms(work)
  for options in all_arms.values():
    _features_key(options["features"])
  chosen = [list(all_arms)[int(i)] for i in _ARMS.value] if _ARMS.value else list(all_arms)
  threshold = quality.Settings().threshold
  unlike = np.array([u[0] in ("ood", "styles") for u in units])
  is_clean = np.array([u[1] == "clean" for u in units])
  for arm in chosen:
    result = arm_scores(work, arm, all_arms[arm], units)
    scores = np.array(result["scores"])
    kept = scores > threshold
    rows, line = [], {"arm": arm}
    for set_name in sets:
      for kind in KINDS:
        mask = np.array([u[0] == set_name and u[1] == kind for u in units])
        rows.append({"set": set_name, "kind": kind, "count": int(mask.sum()), "kept": float(kept[mask].mean()),
                     "score min": float(scores[mask].min()), "score mean": float(scores[mask].mean()),
                     "score max": float(scores[mask].max())})
      in_set = np.array([u[0] == set_name for u in units])
      line[f"{set_name} kept"] = float(kept[in_set & is_clean].mean())
      line[f"{set_name} rejected"] = float(1 - kept[in_set & ~is_clean].mean())
    line["unlike: clean min"] = float(scores[unlike & is_clean].min())
    line["unlike: AUC"] = float(roc_auc_score(is_clean[unlike], scores[unlike]))
    line["CV rec AUC"] = result["cv_recording_auc"]
    for (set_name, kind, path), score in zip(units, scores):
      if kind == "clean" and set_name in ("ood", "styles"):
        names = [i.name for i in sets[set_name]]
        pieces.setdefault(f"{set_name}/{names[int(path.parent.name)]}", {})[arm] = float(score)
    summary.append(line)
    print_table(rows, f"arm {arm}: share kept per set and kind (threshold {threshold})")
    print()
  print_table([{"clean piece": name, **by_arm} for name, by_arm in pieces.items()],
              "scores of the clean pieces unlike the corpus (ood, styles), per arm")
  print()
  print_table(summary, "clean kept and damaged rejected, per set (trained on the demo corpus's train split); "
                       "unlike: ood and styles together")


if __name__ == "__main__":
  app.run(main)
