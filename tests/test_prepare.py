"""Tests for genie_audio/data/prepare.py and launch/prepare_data.py: formats, rates, bad files, splits, resume."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from genie_audio.data import manifest, prepare

SR = 16000
REPO = Path(__file__).resolve().parents[1]


def music(seconds, rate, channels=1, seed=0):
  """Harmonic notes with envelopes plus a little noise: survives trimming and normalisation unchanged."""
  rng = np.random.default_rng(seed)
  t = np.arange(int(seconds * rate)) / rate
  x = np.zeros_like(t)
  for start in np.arange(0, seconds, 0.5):
    f0 = rng.choice([110, 147, 196, 262, 330])
    env = np.exp(-3 * np.clip(t - start, 0, None)) * (t >= start)
    x += sum(0.2 / k * np.sin(2 * np.pi * k * f0 * t) for k in (1, 2, 3)) * env
  x += 0.005 * rng.standard_normal(t.shape)
  x = np.stack([x * (0.8 + 0.2 * c) for c in range(channels)], axis=1)
  return x.astype(np.float32)


def can_write(fmt):
  return fmt in sf.available_formats()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
  """An input folder with good files in several formats/rates and one of each kind of bad file."""
  root = tmp_path_factory.mktemp("input")
  (root / "sub").mkdir()
  (root / "validation").mkdir()
  good = {  # relative path -> (rate, channels, seconds)
      "a_stereo44k.wav": (44100, 2, 3.0),
      "sub/b_8k.FLAC": (8000, 1, 2.5),
      "sub/c_48k.ogg": (48000, 2, 2.0),
      "validation/d.wav": (22050, 1, 2.0),
  }
  if can_write("MP3"):
    good["sub/e.mp3"] = (44100, 2, 2.0)
  for i, (rel, (rate, ch, sec)) in enumerate(good.items()):
    fmt = {".wav": "WAV", ".flac": "FLAC", ".ogg": "OGG", ".mp3": "MP3"}[Path(rel).suffix.lower()]
    subtype = {"OGG": "VORBIS", "MP3": "MPEG_LAYER_III"}.get(fmt)
    sf.write(root / rel, music(sec, rate, ch, seed=i), rate, format=fmt, subtype=subtype)
  (root / "bad_text.wav").write_text("not audio at all\n")
  (root / "bad_empty.flac").write_bytes(b"")
  sf.write(root / "bad_silent.wav", np.zeros((2 * SR, 2), np.float32), SR)
  nan = music(2.0, SR)
  nan[100:200] = np.nan
  sf.write(root / "bad_nan.wav", nan, SR, subtype="FLOAT")
  sf.write(root / "bad_short.wav", music(0.3, SR), SR)
  (root / "notes.txt").write_text("ignored: not an audio extension")
  bad = {"bad_text.wav": "undecodable", "bad_empty.flac": "empty", "bad_silent.wav": "silent",
         "bad_nan.wav": "non_finite", "bad_short.wav": "too_short"}
  return root, good, bad


def test_find_audio_files_sorted_and_case_insensitive(corpus):
  root, good, bad = corpus
  assert prepare.find_audio_files(root) == sorted(set(good) | set(bad))


def test_assign_split():
  assert prepare.assign_split("validation/x.wav", 0.0) == "validation"
  assert prepare.assign_split("x.wav", 0.0) == "train"
  assert prepare.assign_split("x.wav", 1.0) == "validation"
  assert prepare.assign_split("a/validation/x.wav", 0.0) == "train"
  splits = [prepare.assign_split(f"song_{i}.wav", 0.2) for i in range(2000)]
  assert 0.15 < splits.count("validation") / len(splits) < 0.25
  assert prepare.shard_id("a/b.wav") == prepare.shard_id("a/b.wav") != prepare.shard_id("a/c.wav")


def test_prepare_folder(corpus, tmp_path):
  root, good, bad = corpus
  out = tmp_path / "ds"
  summary = prepare.prepare_folder(root, out, validation_fraction=0.0, progress=False)
  assert summary["prepared"] == len(good)
  assert summary["skipped"] == len(bad) and summary["already_done"] == 0
  assert summary["skipped_reasons"] == {r: 1 for r in bad.values()}
  assert {s["source"]: s["reason"] for s in manifest.read_lines(out / manifest.SKIPPED)} == bad

  recordings = {r.source: r for r in manifest.read_manifest(out)}
  assert set(recordings) == set(good)
  assert summary["hours"] == pytest.approx(manifest.total_duration_s(recordings.values()) / 3600, abs=1e-4)
  for source, (rate, channels, seconds) in good.items():
    rec = recordings[source]
    assert (rec.original_rate, rec.original_channels) == (rate, channels)
    assert rec.split == ("validation" if source.startswith("validation/") else "train")
    x, shard_rate = sf.read(manifest.shard_path(out, rec), dtype="float32")
    info = sf.info(manifest.shard_path(out, rec))
    assert (shard_rate, info.channels, info.subtype) == (SR, 1, "FLOAT")
    assert len(x) == rec.frames
    # Trimming only touches the edges of these clips (and mp3 adds a few ms of codec delay).
    assert abs(rec.duration_s - seconds) < 0.15, source
    assert np.all(np.isfinite(x)) and 0.1 < np.max(np.abs(x)) <= 0.99


def test_resume_and_recovery_after_kill(corpus, tmp_path):
  root, good, bad = corpus
  out = tmp_path / "ds"
  prepare.prepare_folder(root, out, progress=False)
  again = prepare.prepare_folder(root, out, progress=False)
  assert again["prepared"] == 0 and again["already_done"] == len(good) + len(bad)
  assert again["skipped"] == len(bad)

  # Simulate a kill: the last manifest append torn mid-line, a temp shard left behind.
  path = out / manifest.MANIFEST
  lines = path.read_text().splitlines(keepends=True)
  torn_source = json.loads(lines[-1])["source"]
  path.write_text("".join(lines[:-1]) + lines[-1][:25])
  (out / manifest.SHARDS / "0123456789abcdef.wav.tmp-999").write_bytes(b"RIFF partial")
  resumed = prepare.prepare_folder(root, out, progress=False)
  assert resumed["prepared"] == 1 and resumed["already_done"] == len(good) + len(bad) - 1
  sources = [r.source for r in manifest.read_manifest(out)]
  assert sorted(sources) == sorted(good) and torn_source in sources
  assert not [p for p in (out / manifest.SHARDS).iterdir() if ".tmp-" in p.name]


def test_torn_line_that_is_complete_json_is_kept(tmp_path):
  path = tmp_path / "m.jsonl"
  path.write_text('{"a": 1}\n{"b": 2}')
  prepare.repair_jsonl(path)
  assert path.read_text() == '{"a": 1}\n{"b": 2}\n'


def test_prepare_is_deterministic(corpus, tmp_path):
  root, _, _ = corpus
  for name in ("x", "y"):
    prepare.prepare_folder(root, tmp_path / name, progress=False)
  assert (tmp_path / "x" / manifest.MANIFEST).read_bytes() == (tmp_path / "y" / manifest.MANIFEST).read_bytes()
  for shard in (tmp_path / "x" / manifest.SHARDS).iterdir():
    assert shard.read_bytes() == (tmp_path / "y" / manifest.SHARDS / shard.name).read_bytes()


def test_output_inside_input_is_not_read_back(tmp_path):
  sf.write(tmp_path / "a.wav", music(2.0, SR), SR)
  prepare.prepare_folder(tmp_path, tmp_path / "prepared", progress=False)
  again = prepare.prepare_folder(tmp_path, tmp_path / "prepared", progress=False)
  assert again["already_done"] == 1 and again["prepared"] == 0


def test_missing_or_empty_input_is_a_clear_error(tmp_path):
  with pytest.raises(FileNotFoundError, match="nowhere"):
    prepare.prepare_folder(tmp_path / "nowhere", tmp_path / "out", progress=False)
  (tmp_path / "empty").mkdir()
  with pytest.raises(ValueError, match="no audio files"):
    prepare.prepare_folder(tmp_path / "empty", tmp_path / "out", progress=False)


def test_cli_last_line_is_json(corpus, tmp_path):
  root, good, bad = corpus
  cmd = [sys.executable, str(REPO / "launch" / "prepare_data.py"), "--input", str(root),
         "--output", str(tmp_path / "ds"), "--validation-fraction", "0.5", "--no-progress"]
  result = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path,
                          env=dict(os.environ, PYTHONPATH=""), check=True)
  summary = json.loads(result.stdout.strip().splitlines()[-1])
  assert summary["prepared"] == len(good) and summary["skipped"] == len(bad)

  missing = subprocess.run(cmd[:2] + ["--input", str(tmp_path / "nope"), "--output", str(tmp_path / "o")],
                           capture_output=True, text=True, cwd=tmp_path)
  assert missing.returncode == 1 and "nope" in missing.stderr
  assert json.loads(missing.stdout.strip().splitlines()[-1])["prepared"] == 0
