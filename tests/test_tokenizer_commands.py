"""Commands on a trained tokenizer run: reconstruct.py, evaluate.py, encode.py, and the run loader."""

import json
import subprocess
import sys
from pathlib import Path

import jax
import numpy as np
import pytest
import soundfile as sf

from genie_audio import tasks
from genie_audio.data import latents, pipelines
from genie_audio.eval import baselines
from genie_audio.runs import run
from genie_audio.runs.encoding import encode_dataset
from genie_audio.tasks.tokenizer import TokenizerTask
from genie_audio.testing import fake_data, runs
from genie_audio.testing.tokenizer_config import micro
from genie_audio.training import distributed, loop
from genie_audio.training.metrics import MetricWriter

KEYS = {"mel_distance", "si_sdr", "lsd", "chroma_similarity", "chroma_correlation"}
# Opus joins the baselines where opus-tools are installed; otherwise baseline_notes says it is missing.
BASELINES = {"silence", "lowpass", "envelope_vocoder"} | ({"opus"} if baselines.opus_available() else set())


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
  dataset = fake_data.write_fake_dataset(tmp_path_factory.mktemp("data"), recordings=3, seconds=1.5)
  workdir = tmp_path_factory.mktemp("run")
  # One device, as the commands below run: they then load programs this process compiled (tests/conftest.py).
  loop.train(micro(dataset, total_steps=2, eval_every_steps=100), workdir, TokenizerTask, jax.devices()[:1])
  return workdir


def _launch(script, *args, timeout=300):
  return subprocess.run([sys.executable, str(runs.REPO_ROOT / "launch" / script), *map(str, args)],
                        env=runs.launch_env(1), capture_output=True, text=True, timeout=timeout, cwd=runs.REPO_ROOT)


def test_reconstruct_rejects_non_audio_and_writes_nothing(workdir, tmp_path):
  bad = tmp_path / "notes.wav"
  bad.write_text("not audio at all")
  out = tmp_path / "out"
  result = _launch("reconstruct.py", "--workdir", workdir, "--input", bad, "--output", out / "x.wav")
  assert result.returncode != 0
  assert str(bad) in result.stderr and "undecodable" in result.stderr
  assert not out.exists()


def test_reconstruct_any_rate_and_channels(workdir, tmp_path):
  rng = np.random.default_rng(0)
  stereo = np.stack([fake_data.harmonic_notes(0.7, rng)] * 2, axis=1)
  sf.write(tmp_path / "in.flac", stereo[::2], 8000)  # 8 kHz stereo, 0.7 s
  result = _launch("reconstruct.py", "--workdir", workdir, "--input", tmp_path / "in.flac",
                   "--output", tmp_path / "out.wav", "--steps", 2, "--method", "heun", "--figure",
                   tmp_path / "pair.png", "--figure_seconds", 0.5)
  assert result.returncode == 0, result.stderr[-3000:]
  wave, rate = sf.read(tmp_path / "out.wav")
  assert rate == 16000 and wave.shape == (11200,)
  assert json.loads(result.stdout.strip().splitlines()[-1])["sampler_steps"] == 2
  assert (tmp_path / "pair.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
  # No temporary left.
  assert sorted(p.name for p in tmp_path.iterdir()) == ["in.flac", "out.wav", "pair.png"]


def test_evaluate_last_line_is_json_with_metrics_and_baselines(workdir):
  result = _launch("evaluate.py", "--workdir", workdir, "--steps", 2)
  assert result.returncode == 0, result.stderr[-3000:]
  report = json.loads(result.stdout.strip().splitlines()[-1])
  assert KEYS <= report.keys() and report["sampler_steps"] == 2 and report["step"] == 2
  assert set(report["baselines"]) == BASELINES
  assert all(KEYS <= set(b) for b in report["baselines"].values())
  assert ("baseline_notes" in report) != baselines.opus_available()  # 32 kbit/s: Opus needs no clamping


def test_evaluation_logs_chroma_baselines_and_a_spectrogram_pair(workdir, tmp_path):
  task = tasks.load(workdir)
  params, ema, _ = run.load_train_params(workdir)
  metrics, media = task.evaluate(params, ema, step=2)
  assert 0 <= metrics["eval/recon/chroma_similarity"] <= 1
  assert all(f"eval/baseline_{name}/chroma_similarity" in metrics for name in BASELINES)
  assert [ax.get_title() for ax in media["eval/spectrogram"].axes[:2]] == ["original", "reconstruction"]
  assert media["eval/spectrogram"].axes[0].get_ylim() == pytest.approx((0, 4000), abs=20)  # 0-4 kHz
  writer = MetricWriter(tmp_path, enabled=True)
  writer.media(2, media)
  writer.close()
  assert list((tmp_path / "tensorboard").iterdir())


def test_report_on_whole_files(workdir, tmp_path):
  sf.write(tmp_path / "a.wav", fake_data.harmonic_notes(0.9, np.random.default_rng(2)), 22050)
  params, ema, _ = run.load_train_params(workdir)
  report = tasks.load(workdir).report(params, ema, [str(tmp_path / "a.wav")], steps=2)
  assert KEYS <= report.keys() and np.isfinite(report["mel_distance"]) and len(report["per_file"]) == 1
  assert report["per_file"][0]["baselines"] == report["baselines"]  # one file: its own baselines are the mean
  assert KEYS <= report["baselines"]["lowpass"].keys()


def test_encode_writes_latents_readable_by_the_pipeline(workdir, tmp_path):
  result = _launch("encode.py", "--workdir", workdir, "--output", tmp_path / "latents", "--noprogress")
  assert result.returncode == 0, result.stderr[-3000:]
  summary = json.loads(result.stdout.strip().splitlines()[-1])
  assert summary["recordings"] == 3 and summary["frame_rate"] == 500 and summary["latent_dim"] == 8
  assert summary["tokenizer_step"] == 2
  batch = pipelines.latent_windows(str(tmp_path / "latents"), "train", 16, batch_size=2, seed=0)[0]
  assert batch["latents"].shape == (2, 16, 8) and np.all(np.isfinite(batch["latents"]))
  # Complete: a second call finds it; resumable: with the marker gone only the missing shard is redone.
  meta = tmp_path / "latents" / latents.META
  assert encode_dataset(workdir, tmp_path / "latents") == str(tmp_path / "latents")
  meta.unlink()
  manifest = tmp_path / "latents" / "manifest.jsonl"
  manifest.write_text("".join(manifest.read_text().splitlines(keepends=True)[:2]))
  encode_dataset(workdir, tmp_path / "latents", progress=False)
  assert len(latents.read_entries(tmp_path / "latents")) == 3 and meta.exists()


def test_run_loader_restores_tuples_and_names_missing_runs(workdir, tmp_path):
  config = run.load_config(workdir)
  assert config.model.strides == (4, 8) and config.task == "tokenizer"
  assert run.load_params(workdir).keys() == {"encoder", "decoder"}
  with pytest.raises(FileNotFoundError, match=f"{tmp_path}.*python launch/train.py"):
    run.load_config(tmp_path)
  (tmp_path / "config.json").write_text("{}")
  with pytest.raises(FileNotFoundError, match=f"{tmp_path} has no checkpoint yet"):
    run.load_params(tmp_path)


def test_processes_share_the_encoding_and_process_0_completes_it(workdir, tmp_path, monkeypatch):
  """Two processes, played one after the other in this one: each encodes its share of the 3 recordings; process 0
  adopts process 1's staged shards and completes the folder. Same latents as one process makes."""
  out, staged = tmp_path / "shared", []
  monkeypatch.setattr(distributed, "process_position", lambda: (1, 2))
  monkeypatch.setattr(distributed, "gather_objects", lambda obj: staged.append(obj) or [obj])
  encode_dataset(workdir, out, progress=False)
  assert latents.read_meta(out) is None and len(latents.read_entries(out / ".process1")) == 1
  monkeypatch.setattr(distributed, "process_position", lambda: (0, 2))
  monkeypatch.setattr(distributed, "gather_objects", lambda obj: [obj, staged[0]])
  encode_dataset(workdir, out, progress=False)
  assert latents.read_meta(out) is not None and not (out / ".process1").exists()
  monkeypatch.undo()
  alone = encode_dataset(workdir, tmp_path / "alone", progress=False)
  shared = {e.shard: e for e in latents.read_entries(out)}
  assert sorted(shared) == sorted(e.shard for e in latents.read_entries(alone))
  for shard in shared:
    np.testing.assert_array_equal(np.load(out / shard), np.load(Path(alone) / shard))
