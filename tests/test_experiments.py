"""Smoke runs of the research runners (experiments/*.py) that work in one process (probes, baselines, runners
of the editor), at the smallest size each allows, on the suite's shared tiny pipeline, in this process
(genie_audio.testing.runners); the ablations, which run the project's commands, are in test_ablations.py. Each
must print the rows it promises. Last, every script in benchmarks/ and experiments/ must have a smoke run.

    python -m pytest -q -p no:xdist tests/test_experiments.py
"""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from configs import common, tokenizer
from experiments import lam_arms, tokenizer_arms   # config files, no flags: safe to import here
from genie_audio.eval import edit_music
from genie_audio.tasks.tokenizer import TokenizerTask
from genie_audio.testing import runners

pytest_plugins = ["fixtures_pipeline"]

def run(script: str, *args: str) -> tuple[list[dict], str]:
  printed, _ = runners.run_main(script, *args)
  return runners.table_rows(printed), printed


def number(text: str) -> float:
  return float(text)   # "nan" included: a tiny model may leave a correlation undefined


@pytest.fixture
def short_music_spans(monkeypatch):
  """edit_music.evaluate's spans shortened to 0.6 s: the pipeline's recordings are 3 s, the runners' spans 2 s
  (experiments/edit_music.py and dynamics_music.py have no span option)."""
  monkeypatch.setitem(edit_music.evaluate.__kwdefaults__, "span_seconds", 0.6)


# ---------------------------------------------------------------------------------------- in this process

def test_lam_eta(pipeline_runs, audio_folder):
  lam = str(pipeline_runs["lam"])
  for args in ((), (f"--audio={audio_folder}",)):
    rows, _ = run("experiments/lam_eta.py", f"--workdirs={lam}", *args)
    assert [row["run"] for row in rows] == [lam]
    assert int(rows[0]["steps"]) > 0 and 0 <= number(rows[0]["loudness_db"]) <= 1


def test_lam_level_scalar(pipeline_runs):
  rows, _ = run("experiments/lam_level_scalar.py", f"--latents={pipeline_runs['tokenizer'] / 'latents'}",
                "--frames_per_action=5")
  scalars = [row["scalar"].split(" ")[0] for row in rows]
  assert scalars == ["norm", "log_norm", "mean_norm", "pc1", "centred_norm", "frame_std", "linear"]
  assert all(-1 <= number(row["pearson"]) <= 1 for row in rows)


def test_latent_probe(pipeline_runs, audio_folder):
  rows, _ = run("experiments/latent_probe.py", f"--workdirs={pipeline_runs['tokenizer']}", f"--ood={audio_folder}",
                "--max_seconds=3")
  assert [row["test"] for row in rows] == ["validation", "ood"]
  assert all(key in rows[0] for key in ("latent_cos", "envelope_cos", "mean_chroma_cos", "latent_corr"))


def test_stft_resolution(pipeline_runs, audio_folder):
  rows, _ = run("experiments/stft_resolution.py", f"--dataset_dir={pipeline_runs['dataset']}", f"--ood={audio_folder}",
                "--hops=200,1000", "--max_seconds=1")
  assert [row["test"] for row in rows] == ["validation"] * 4 + ["ood"] * 4
  assert [row["estimate"].split(",")[0] for row in rows[:4]] == ["held power"] * 2 + ["envelope vocoder", "silence"]
  assert all(0 <= number(row["chroma_similarity"]) <= 1 for row in rows)


def test_lam_cluster_baseline(pipeline_runs):
  rows, _ = run("experiments/lam_cluster_baseline.py", f"--workdir={pipeline_runs['lam']}")
  assert [row["baseline"] for row in rows] == ["step_mean", "step_mean_norm", "step_delta", "level", "random",
                                               f"LAM {pipeline_runs['lam']}"]
  assert all(0 <= number(row["level"]) <= 1 for row in rows)


def test_edits_in_audio(pipeline_runs):
  rows, _ = run("experiments/edits_in_audio.py", f"--workdir={pipeline_runs['dynamics']}", "--weights=0",
                "--edits=1", "--span_steps=2", "--nounlike")
  assert [(row["set"], row["weight"]) for row in rows] == [("validation", "original"), ("validation", "0")]
  assert number(rows[0]["accuracy"]) == 1 and 0 <= number(rows[1]["accuracy"]) <= 1


def test_edit_music(pipeline_runs, short_music_spans, tmp_path):
  rows, _ = run("experiments/edit_music.py", f"--workdir={pipeline_runs['dynamics']}", "--start_t=1,0.5",
                "--starts=1", "--nounlike", f"--output={tmp_path / 'music.json'}")
  spans, heard = [row for row in rows if "fill" in row], [row for row in rows if "loud jump" in row]
  fills = [(row["arm"], row["fill"]) for row in spans]
  assert ("start 1", "resample") in fills and ("start 0.5", "random") in fills and ("-", "retrieval") in fills
  assert [row["arm"] for row in heard] == ["start 1", "start 0.5"]   # the requests heard, one row an arm
  kept = json.loads((tmp_path / "music.json").read_text())
  assert kept["spans"] and "validation/start 1/resample" in kept["summaries"]
  assert set(kept["summaries"]["validation/start 1/heard"]) == {"edits", "original"}


def test_retrieval_fill(pipeline_runs, short_music_spans):
  # The arms' 0.5 s of context each side leave no room for another passage in a 3 s recording: 0.1 s here.
  shorter_context = lambda module: module.BASE.update(retrieval_context_seconds=0.1)
  printed, _ = runners.run_main("experiments/retrieval_fill.py", f"--workdir={pipeline_runs['dynamics']}",
                                "--arms=chroma,keep4", "--nounlike", prepare=shorter_context)
  rows = runners.table_rows(printed)
  assert [row["fill"] for row in rows] == ["loop", "retrieval chroma", "retrieval keep4"]
  assert all(row["spans"] == "1" and number(row["harmony"]) <= 1 for row in rows)


def test_context_use(pipeline_runs):
  rows, _ = run("experiments/context_use.py", f"--workdir={pipeline_runs['dynamics']}", "--start_t=1,0.5",
                "--starts=1", "--span_seconds=0.6")
  pairs = {(row["span"], row["against"]) for row in rows}
  assert {("start 1", "real"), ("start 1", "other seed"), ("start 0.5", "retrieval fill")} <= pairs
  assert all(row["spans"] == "1" for row in rows)


def test_quality_cross_style(pipeline_runs, tmp_path):
  """The pipeline's corpus stands for both demo corpora; the pieces unlike it, which the runner renders with MMA
  and caches in --work_dir/sources, are put there beforehand as copies of a 3 s recording."""
  work = tmp_path / "work"
  shard = sorted((pipeline_runs["dataset"] / "shards").glob("*.wav"))[0]

  def rendered(module):
    (work / "sources").mkdir(parents=True)
    for name in ("piano_chords", *module.ood_audio.PIECES, *module.STYLES, "plucked"):
      shutil.copy(shard, work / "sources" / f"{name}.wav")

  dataset = str(pipeline_runs["dataset"])
  printed, _ = runners.run_main("experiments/quality_cross_style.py", f"--demo={dataset}", f"--seed1={dataset}",
                                f"--work_dir={work}", "--arms=0", "--trees=2", "--folds=1", prepare=rendered)
  rows = runners.table_rows(printed)
  summary = [row for row in rows if "arm" in row and "demo_val kept" in row]
  assert summary and all(0 <= number(row["styles kept"]) <= 1 for row in summary)
  per_kind = {(row["set"], row["kind"]) for row in rows if "kind" in row}
  assert {("demo_val", "clean"), ("seed1", "clean"), ("ood", "clean"), ("styles", "clean")} <= per_kind


def test_arms_build():
  """Every arm of the ablations is a valid config (the smoke runs above train one arm each)."""
  for arm in lam_arms.ARMS:
    config = lam_arms.get_config(arm)
    assert set(lam_arms.ARMS[arm]) <= set(lam_arms.BASE), arm   # an arm states its whole difference
    assert config.data.window_frames % config.model.frames_per_action == 0, arm
  for arm in tokenizer_arms.ARMS:
    assert tokenizer_arms.get_config(arm).model.latent_dim > 0, arm
  for arms, frame_rate in ((tokenizer_arms.DEMO_ARMS, 50), (tokenizer_arms.PRESET_ARMS, 50),
                           (tokenizer_arms.EIGHT_HZ_ARMS, 8)):
    for arm in arms:  # issue 25's arms: valid configs at the rate they claim
      config = tokenizer_arms.get_config(arm)
      common.validate(config)
      assert TokenizerTask(config).frame_rate == frame_rate, arm
  # `demo` is the demo tokenizer before issue 25 and `wide` its widths today: the table compares the two.
  assert tokenizer_arms.get_config("demo").model.decoder_channels == (64, 128)
  assert tokenizer_arms.get_config("wide").model.decoder_channels == tokenizer.get_config("tiny").model.decoder_channels


# --------------------------------------------------------------------------------------- every runner tested

def test_every_runner_has_a_smoke_run():
  """A new script in benchmarks/ or experiments/ needs a smoke run in the suite (the arms files: in
  test_arms_build, and trained by their ablation's smoke run)."""
  text = "".join(path.read_text() for path in Path(__file__).parent.glob("test_*.py"))
  helpers = {"__init__.py", "common.py", "music_sets.py", "lam_arms.py", "tokenizer_arms.py"}
  for folder in ("benchmarks", "experiments"):
    for script in sorted((runners.REPO_ROOT / folder).glob("*.py")):
      if script.name not in helpers:
        assert f'"{folder}/{script.name}"' in text, f"{folder}/{script.name} has no smoke run"
