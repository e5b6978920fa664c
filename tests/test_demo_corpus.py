"""Tests for genie_audio/archive/demo_corpus.py: a two-tune build is a valid, musical, reproducible dataset."""

import json
import os
import shutil
import time

import numpy as np
import pytest
import soundfile as sf

from genie_audio.archive import demo_corpus, demo_songs
from genie_audio.data import manifest

needs_tools = pytest.mark.skipif(
    shutil.which("mma") is None or shutil.which("fluidsynth") is None
    or not any(os.path.exists(f) for f in demo_corpus.SOUNDFONTS),
    reason=f"demo corpus tools missing: {demo_corpus.INSTALL}")


@pytest.fixture(scope="module")
def small(tmp_path_factory):
  out = tmp_path_factory.mktemp("demo") / "a"
  summary = demo_corpus.build_demo_corpus(out, seed=3, max_tunes=2, progress=False)
  return out, summary


def spectral_stats(x, sr=manifest.SAMPLE_RATE, n=1024):
  frames = np.lib.stride_tricks.sliding_window_view(x, n)[::n // 2] * np.hanning(n)
  power = np.abs(np.fft.rfft(frames, axis=1)) ** 2 + 1e-12
  flatness = np.median(np.exp(np.mean(np.log(power), axis=1)) / np.mean(power, axis=1))
  freqs = np.fft.rfftfreq(n, 1 / sr)
  bands = [power[:, (freqs >= lo) & (freqs < hi)].sum() / power.sum()
           for lo, hi in ((50, 250), (250, 1000), (1000, 4000))]
  return flatness, bands


def test_plan_is_seeded_and_sized():
  tunes = demo_songs.plan(seed=0, minutes=demo_corpus.DEFAULT_MINUTES)
  again = demo_songs.plan(seed=0, minutes=demo_corpus.DEFAULT_MINUTES)
  assert [t["song"] for t in tunes] == [t["song"] for t in again]
  assert [t["song"] for t in tunes] != [t["song"] for t in demo_songs.plan(seed=1, minutes=27)]
  total = sum(t["estimated_s"] for t in tunes)
  valid = sum(t["estimated_s"] for t in tunes if t["split"] == "validation")
  assert total >= 20 * 60 and 0.08 < valid / total < 0.2
  assert all(50 < t["estimated_s"] < 200 for t in tunes)
  assert len({t["style"] for t in tunes}) == len(demo_songs.STYLES)
  # Changes inside tunes: several kinds of sections, and leads that change within a tune.
  kinds = {s["kind"] for t in tunes for s in t["sections"]}
  assert {"head", "solo", "drums", "head_out", "ending"} <= kinds
  assert any(len({s["lead"] for s in t["sections"] if s["lead"]}) > 1 for t in tunes)


@needs_tools
def test_small_corpus_is_a_valid_dataset(small):
  out, summary = small
  assert summary["prepared"] == summary["tunes"] == 2 and summary["skipped"] == 0
  recordings = manifest.read_manifest(out)
  assert {r.split for r in recordings} == {"train", "validation"}
  assert manifest.load_split(out, "validation")[0].source.startswith("validation/")
  marker = json.loads((out / demo_corpus.MARKER).read_text())
  assert marker["seed"] == 3 and marker["version"] == demo_corpus.DEMO_VERSION
  for rec in recordings:
    assert 50 < rec.duration_s < 200
    tune = next(t for t in marker["tunes"] if t["source"] == rec.source)
    assert abs(rec.duration_s - tune["estimated_s"]) < 10  # section times are usable as labels
    (out / "songs" / f"{tune['name']}.mma").read_text()


@needs_tools
def test_small_corpus_sounds_like_music(small):
  out, _ = small
  for rec in manifest.read_manifest(out):
    x, sr = sf.read(manifest.shard_path(out, rec), dtype="float32")
    assert sr == manifest.SAMPLE_RATE
    assert np.sqrt(np.mean(x ** 2)) > 0.02  # not silent (loudness-normalised to -23 LUFS)
    flatness, bands = spectral_stats(x[:20 * sr])
    assert flatness < 0.05  # tonal; white noise is ~0.56
    assert min(bands) > 0.02, bands  # bass, middle and treble all present


@needs_tools
def test_same_seed_same_bytes_and_cached(small, tmp_path):
  out, summary = small
  start = time.time()
  cached = demo_corpus.build_demo_corpus(out, seed=3, max_tunes=2, progress=False)
  assert cached["cached"] and time.time() - start < 1.0
  assert cached["prepared"] == 0 and cached["already_done"] == summary["prepared"] == 2
  other = tmp_path / "b"
  demo_corpus.build_demo_corpus(other, seed=3, max_tunes=2, progress=False)
  for rec in manifest.read_manifest(out):
    assert manifest.shard_path(out, rec).read_bytes() == manifest.shard_path(other, rec).read_bytes()


def test_refuses_to_overwrite_a_foreign_folder(tmp_path):
  (tmp_path / "mine.txt").write_text("keep me")
  with pytest.raises(FileExistsError):
    demo_corpus._clear(tmp_path)
  assert (tmp_path / "mine.txt").exists()


def test_missing_tools_error_names_install_command(monkeypatch, tmp_path):
  monkeypatch.setattr(demo_corpus.shutil, "which", lambda _: None)
  with pytest.raises(demo_corpus.DemoToolsMissingError, match="apt-get install -y --no-install-recommends mma "
                                                              "fluidsynth fluid-soundfont-gm"):
    demo_corpus.build_demo_corpus(tmp_path / "demo", progress=False)
