"""Tests for genie_audio/archive/prepare.py and launch/prepare_data.py: formats, rates, bad files, splits, resume,
parallel workers, several hosts, the quality filter's verdicts."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from genie_audio.archive import host_share, prepare, quality
from genie_audio.data import manifest

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
  subtypes = {"f_8bit.wav": "PCM_U8", "g_24bit.wav": "PCM_24", "h_96k.flac": "PCM_24"}
  good.update({"f_8bit.wav": (22050, 1, 2.0), "g_24bit.wav": (48000, 2, 2.0), "h_96k.flac": (96000, 2, 2.0),
               "i_6ch.wav": (48000, 6, 2.0)})
  for i, (rel, (rate, ch, sec)) in enumerate(good.items()):
    fmt = {".wav": "WAV", ".flac": "FLAC", ".ogg": "OGG", ".mp3": "MP3"}[Path(rel).suffix.lower()]
    subtype = {"OGG": "VORBIS", "MP3": "MPEG_LAYER_III"}.get(fmt, subtypes.get(rel))
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


def same_dataset(a, b):
  """Byte-identical manifest, skipped list and shards."""
  for name in (manifest.MANIFEST, manifest.SKIPPED):
    assert (a / name).read_bytes() == (b / name).read_bytes(), name
  shards = sorted(p.name for p in (a / manifest.SHARDS).iterdir())
  assert shards == sorted(p.name for p in (b / manifest.SHARDS).iterdir())
  for name in shards:
    assert (a / manifest.SHARDS / name).read_bytes() == (b / manifest.SHARDS / name).read_bytes(), name


def test_prepare_is_deterministic(corpus, tmp_path):
  root, _, _ = corpus
  for name in ("x", "y"):
    prepare.prepare_folder(root, tmp_path / name, progress=False)
  same_dataset(tmp_path / "x", tmp_path / "y")


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
         "--output", str(tmp_path / "ds"), "--validation-fraction", "0.5", "--no-progress", "--workers", "1"]
  result = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path,
                          env=dict(os.environ, PYTHONPATH=""), check=True)
  summary = json.loads(result.stdout.strip().splitlines()[-1])
  assert summary["prepared"] == len(good) and summary["skipped"] == len(bad)

  missing = subprocess.run(cmd[:2] + ["--input", str(tmp_path / "nope"), "--output", str(tmp_path / "o")],
                           capture_output=True, text=True, cwd=tmp_path)
  assert missing.returncode == 1 and "nope" in missing.stderr
  assert json.loads(missing.stdout.strip().splitlines()[-1])["prepared"] == 0


def test_two_workers_give_byte_identical_output(corpus, tmp_path):
  root, good, bad = corpus
  one = prepare.prepare_folder(root, tmp_path / "one", progress=False, workers=1)
  two = prepare.prepare_folder(root, tmp_path / "two", progress=False, workers=2)
  assert two["prepared"] == len(good) and two["skipped"] == len(bad)
  assert {k: v for k, v in one.items() if k != "output"} == {k: v for k, v in two.items() if k != "output"}
  same_dataset(tmp_path / "one", tmp_path / "two")


def test_hosts_share_the_work_and_host_0_assembles_one_hosts_manifest(corpus, tmp_path):
  root, good, bad = corpus
  prepare.prepare_folder(root, tmp_path / "single", progress=False)
  out = tmp_path / "shared"
  hosts = [host_share.HostShare(2, i) for i in (0, 1)]
  # Host 0 finishing first waits for host 1; with no time to wait it names the missing host.
  with pytest.raises(TimeoutError, match=r"host\(s\) \[1\] of 2"):
    prepare.prepare_folder(root, out, progress=False, share=hosts[0], assemble_timeout_s=0)
  assert not (out / manifest.MANIFEST).exists()
  # A temporary shard of each host, as a kill would leave: host 1 removes only its own.
  ids = {i: next(prepare.shard_id(s) for s in good if hosts[i].owns(prepare.shard_id(s))) for i in (0, 1)}
  for i in (0, 1):
    (out / manifest.SHARDS / f"{ids[i]}.wav.tmp-999").write_bytes(b"partial")
  host1 = prepare.prepare_folder(root, out, progress=False, share=hosts[1])
  assert (out / manifest.SHARDS / f"{ids[0]}.wav.tmp-999").exists()
  assert not (out / manifest.SHARDS / f"{ids[1]}.wav.tmp-999").exists()
  host0 = prepare.prepare_folder(root, out, progress=False, share=hosts[0])
  assert host0["already_done"] > 0 and host0["prepared"] == 0  # its share was done before it timed out

  parts = {i: [r["source"] for name in (manifest.MANIFEST, manifest.SKIPPED)
               for r in manifest.read_lines(hosts[i].part(out, name))] for i in (0, 1)}
  assert parts[0] and parts[1] and not set(parts[0]) & set(parts[1])
  assert sorted(parts[0] + parts[1]) == sorted(set(good) | set(bad))
  assert host1["prepared"] + host1["skipped"] == len(parts[1])
  assert not (out / manifest.SHARDS / f"{ids[0]}.wav.tmp-999").exists()  # host 0 cleared its own
  same_dataset(tmp_path / "single", out)


def test_host_share_defaults_from_cluster_variables():
  assert host_share.default_share({}) == host_share.HostShare(1, 0)
  assert host_share.default_share({"SLURM_NTASKS": "4", "SLURM_PROCID": "2"}) == host_share.HostShare(4, 2)
  assert host_share.default_share({"OMPI_COMM_WORLD_SIZE": "3", "OMPI_COMM_WORLD_RANK": "0"}).num_hosts == 3
  with pytest.raises(ValueError, match="SLURM_PROCID"):
    host_share.default_share({"SLURM_NTASKS": "2", "SLURM_PROCID": "x"})
  with pytest.raises(ValueError, match=r"host_index must be in \[0, 2\), got 2"):
    host_share.HostShare(2, 2)


class LongRecordingsPass:
  """A stand-in classifier: with 1 s cuts, a recording of 2 cuts or more is good (p=0.9), shorter bad."""

  def predict_proba(self, features):
    p = 0.9 if len(features) >= 2 else 0.1
    return np.tile([1 - p, p], (len(features), 1))


def test_quality_filter_drops_and_scores_recordings(corpus, tmp_path):
  root, good, bad = corpus
  model = quality.QualityModel(LongRecordingsPass(), quality.Settings(cut_s=1.5, sigma_cuts=1.0))
  summary = prepare.prepare_folder(root, tmp_path / "ds", progress=False, quality_model=model)
  kept = {r.source: r for r in manifest.read_manifest(tmp_path / "ds")}
  dropped = {s["source"]: s for s in manifest.read_lines(tmp_path / "ds" / manifest.SKIPPED)
             if s["reason"] == prepare.QUALITY}
  assert kept and dropped and set(kept) | set(dropped) == set(good)
  assert summary["skipped_reasons"][prepare.QUALITY] == len(dropped)
  assert all(r.quality_score == pytest.approx(0.9) for r in kept.values())
  assert all(s["score"] == pytest.approx(0.1) for s in dropped.values())
  assert all(r.duration_s >= 2.25 for r in kept.values())  # two 1.5 s cuts need 2.25 s
  assert not [p for p in (tmp_path / "ds" / manifest.SHARDS).iterdir()
              if p.stem not in {prepare.shard_id(s) for s in kept}]


def test_cli_refuses_a_file_that_is_not_a_model_before_any_work(corpus, tmp_path, capsys):
  from launch import prepare_data

  root, _, _ = corpus
  (tmp_path / "model.bin").write_text("not a model\n")
  assert prepare_data.main(["--input", str(root), "--output", str(tmp_path / "ds"), "--quality-model",
                            str(tmp_path / "model.bin"), "--no-progress"]) == 1
  assert "model.bin is not a genie-audio quality model" in capsys.readouterr().err
  assert not (tmp_path / "ds").exists()
