"""Tests for the quality filter: cut features, degradations, the model file, and launch/quality.py end to end
(train with synthetic negatives on a tiny fake dataset, then score held-out recordings and degraded copies)."""

import json

import numpy as np
import pytest
import soundfile as sf

from genie_audio.archive import degrade, quality, quality_features
from genie_audio.testing import fake_data
from launch import quality as cli

SR = 16000


@pytest.fixture(scope="module")
def clip():
  return fake_data.harmonic_notes(6.0, np.random.default_rng(0))


def test_cut_bounds():
  assert quality_features.cut_bounds(10 * SR, SR, 5.0) == [(0, 5 * SR), (5 * SR, 10 * SR)]
  # A tail shorter than half a cut joins the last cut; a longer one is a cut of its own.
  assert quality_features.cut_bounds(12 * SR, SR, 5.0) == [(0, 5 * SR), (5 * SR, 12 * SR)]
  assert quality_features.cut_bounds(13 * SR, SR, 5.0)[-1] == (10 * SR, 13 * SR)
  assert quality_features.cut_bounds(2 * SR, SR, 5.0) == [(0, 2 * SR)]


def test_cut_features_shape_and_errors(clip):
  features = quality_features.cut_features(clip, SR, cut_s=2.0)
  assert features.shape == (3, len(quality_features.feature_names())) and np.all(np.isfinite(features))
  # Levels are relative to the cut: a quieter copy differs only in its level column.
  quiet = quality_features.cut_features(clip * 0.1, SR, cut_s=2.0)
  level = quality_features.feature_names().index("level_db")
  assert quiet[:, level] == pytest.approx(features[:, level] - 20.0, abs=0.01)
  assert np.allclose(np.delete(quiet, level, axis=1), np.delete(features, level, axis=1), atol=0.05)
  with pytest.raises(ValueError, match=r"shape \(0,\)"):
    quality_features.cut_features(np.zeros(0, np.float32))


@pytest.mark.parametrize("kind, feature, direction", [
    ("noise", "flatness_mean", +1), ("crackle", "diff_kurtosis", +1), ("band_limit", "mel31_mean", -1),
    ("clipping", "clipped_share", +1), ("wow_flutter", "partial_drift_p50", +1), ("babble", "mel8_p10", +1)])
def test_each_degradation_moves_the_feature_that_sees_it(clip, kind, feature, direction):
  copy = degrade.degrade(clip, kind, np.random.default_rng(1))
  assert copy.shape == clip.shape and copy.dtype == np.float32 and np.all(np.isfinite(copy))
  assert np.array_equal(copy, degrade.degrade(clip, kind, np.random.default_rng(1)))  # seeded
  column = quality_features.feature_names().index(feature)
  before = quality_features.cut_features(clip, SR, 2.0)[:, column].mean()
  after = quality_features.cut_features(copy, SR, 2.0)[:, column].mean()
  assert direction * (after - before) > 0.1 * abs(before) + 1e-4, (before, after)


def test_model_file_round_trip_and_refusals(tmp_path):
  from sklearn.ensemble import ExtraTreesClassifier

  rng = np.random.default_rng(0)
  x = rng.standard_normal((40, len(quality_features.feature_names())))
  classifier = ExtraTreesClassifier(n_estimators=5, random_state=0, n_jobs=2).fit(x, np.arange(40) % 2)
  path = tmp_path / "m.qmodel"
  quality.save(quality.QualityModel(classifier, quality.Settings(2.0, 0.5, 0.6), {"note": 1}), path)
  model = quality.load(path)
  assert model.settings == quality.Settings(2.0, 0.5, 0.6) and model.report == {"note": 1}
  assert model.classifier.n_jobs == 1  # scores must not depend on thread scheduling
  assert np.array_equal(model.classifier.predict_proba(x), classifier.predict_proba(x))

  (tmp_path / "text.qmodel").write_text("hello\n")
  with pytest.raises(ValueError, match="text.qmodel is not a genie-audio quality model"):
    quality.load(tmp_path / "text.qmodel")
  data = path.read_bytes()
  header_end = data.index(b"\n", len(quality.MAGIC)) + 1
  header = json.loads(data[len(quality.MAGIC):header_end])
  header["feature_version"] = quality_features.FEATURE_VERSION + 1
  (tmp_path / "old.qmodel").write_bytes(quality.MAGIC + json.dumps(header).encode() + b"\n" + data[header_end:])
  with pytest.raises(ValueError, match=f"features version {quality_features.FEATURE_VERSION + 1}, this code"):
    quality.load(tmp_path / "old.qmodel")
  (tmp_path / "cut.qmodel").write_bytes(data[:header_end + 20])
  with pytest.raises(ValueError, match="classifier cannot be read"):
    quality.load(tmp_path / "cut.qmodel")
  with pytest.raises(FileNotFoundError, match="nowhere.qmodel does not exist"):
    quality.load(tmp_path / "nowhere.qmodel")


def test_train_with_synthetic_negatives_then_score(tmp_path, capsys):
  dataset = fake_data.write_fake_dataset(tmp_path / "ds", recordings=9, seconds=8.0, validation=2, seed=3)
  model_path = tmp_path / "filter.qmodel"
  assert cli.main(["train", "--good", str(dataset), "--split", "train", "--bad", "synth", "--output",
                   str(model_path), "--cut-seconds", "2", "--trees", "60", "--folds", "3", "--workers", "1"]) == 0
  report = json.loads(capsys.readouterr().out)["cross_validation"]
  assert report["folds"] == 3 and report["cut_roc_auc"] > 0.8 and report["recording_roc_auc"] > 0.8
  assert quality.load(model_path).settings.cut_s == 2.0

  assert cli.main(["degrade", "--input", str(dataset), "--split", "validation", "--output",
                   str(tmp_path / "degraded")]) == 0
  assert len(list((tmp_path / "degraded").rglob("*.flac"))) == 2 * len(degrade.DEGRADATIONS)
  capsys.readouterr()
  verdicts = {}
  for name, folder, split in (("clean", dataset, "validation"), ("degraded", tmp_path / "degraded", None)):
    csv_path = tmp_path / f"{name}.csv"
    args = ["score", "--model", str(model_path), "--input", str(folder), "--csv", str(csv_path), "--workers", "1"]
    assert cli.main(args + (["--split", split] if split else [])) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["threshold"] == quality.DEFAULT_THRESHOLD
    assert len(csv_path.read_text().splitlines()) == len(result["files"]) + 1
    verdicts[name] = [f["passed"] for f in result["files"]]
  assert verdicts["clean"] == [True, True]
  assert sum(verdicts["degraded"]) <= 3, verdicts  # at most 3 of 12 degraded copies pass


def test_train_refuses_a_bad_folder_without_audio_before_any_work(tmp_path, capsys):
  sf.write(tmp_path / "good.wav", fake_data.harmonic_notes(3.0, np.random.default_rng(0)), SR)
  (tmp_path / "bad").mkdir()
  (tmp_path / "bad" / "readme.txt").write_text("no audio here")
  args = ["train", "--good", str(tmp_path), "--bad", str(tmp_path / "bad"), "--output", str(tmp_path / "m")]
  assert cli.main(args) == 1
  assert f"{tmp_path / 'bad'} holds no audio files" in capsys.readouterr().err
  assert not (tmp_path / "m").exists()

