"""Smoke runs of the ablation runners (experiments/*.py that train and evaluate arms), which run the project's
commands as they always do: launch/train.py and launch/evaluate.py in subprocesses, one arm for one step, with
--set shrinking every arm to the size of the suite's shared tiny pipeline (dynamics_music.py: a finished arm
copied in). Each must print the rows it promises and keep the files it reuses on a re-run. The runner itself runs
in this process (genie_audio.testing.runners).

    python -m pytest -q -p no:xdist tests/test_ablations.py
"""

import json
import shutil

import pytest

from genie_audio.eval import edit_music
from genie_audio.testing import runners

pytest_plugins = ["fixtures_pipeline"]

# configs/dynamics.py:tiny shrunk to the shared pipeline's dynamics run (genie_audio/testing/pipeline.py): the same
# programs, so the evaluation compiles little that the suite has not compiled already.
SMALL_DYNAMICS = ("model.dim=16", "model.depth=1", "model.num_heads=2", "data.window_frames=40", "edit.num_steps=2",
                  "edit.action_guidance=0", "edit.retrieval_context_seconds=0.1", "eval.music_starts_s=(1.0,)",
                  "eval.music_span_seconds=0.6", "eval.num_windows=4", "eval.report_windows=4", "eval.batch_size=4",
                  "eval.audio_windows=2", "eval.guidance_scales=(1.0,2.0)")
# The LAM arms on the pipeline's tokenizer (latent width 8), smaller.
SMALL_LAM = ("data.latent_dim=8", "model.model_dim=16", "model.num_heads=2", "model.code_dim=4", "eval.num_windows=4",
             "eval.batch_size=4")
SMALL_TOKENIZER = ("model.decoder_channels=(16,)", "model.encoder_channels=(4,8,8,8,8)", "data.crop_seconds=0.2",
                   "eval.clip_seconds=0.4", "eval.chunk_seconds=0.4", "eval.overlap_seconds=0.08", "eval.num_clips=2")


def sets(overrides) -> list[str]:
  return [f"--set={item}" for item in overrides]


def run(script: str, *args: str) -> tuple[list[dict], str]:
  printed, _ = runners.run_main(script, *args)
  return runners.table_rows(printed), printed


def number(text: str) -> float:
  return float(text)   # "nan" included: a tiny model may leave a correlation undefined


# ------------------------------------------------------------------------- the project's commands, as run

def test_action_guidance(pipeline_runs, tmp_path):
  rows, _ = run("experiments/action_guidance.py", f"--workdir={pipeline_runs['dynamics']}", "--weights=0",
                f"--out={tmp_path}")
  assert [row["weight"] for row in rows] == ["0"]
  assert all(key in rows[0] for key in ("acc g1", "acc g2", "x chance", "level r own", "seam"))
  assert (tmp_path / "report_w0.json").exists()   # kept, so a re-run reuses it


def test_dynamics_ablation(pipeline_runs, tmp_path):
  rows, _ = run("experiments/dynamics_ablation.py", f"--lam={pipeline_runs['lam']}", "--arms=base", "--steps=1",
                f"--out={tmp_path}", *sets(SMALL_DYNAMICS))
  assert [row["arm"] for row in rows] == ["base"]
  assert number(rows[0]["x chance"]) >= 0 and number(rows[0]["inpaint"]) > 0
  assert json.loads((tmp_path / "base" / "config.json").read_text())["model"]["dim"] == 16   # --set reached it


def test_dynamics_music(pipeline_runs, tmp_path, monkeypatch):
  """The arm `base` is the pipeline's dynamics run copied into --out (as the runner allows for the demo's run), so
  no training: the runner's scoring of the arm's edits runs, and its training command is the ablations' above."""
  # 0.6 s spans (the runner's are 2 s; the pipeline's recordings 3 s, and the runner has no span option).
  monkeypatch.setitem(edit_music.evaluate.__kwdefaults__, "span_seconds", 0.6)
  arm = tmp_path / "base"
  shutil.copytree(pipeline_runs["dynamics"], arm)
  config = json.loads((arm / "config.json").read_text())
  config["init"]["lam"]["workdir"] = str(pipeline_runs["lam"])   # recorded relative to the run: absolute here
  (arm / "config.json").write_text(json.dumps(config))
  steps = max(int(path.name) for path in (arm / "checkpoints").iterdir() if path.name.isdigit())
  rows, _ = run("experiments/dynamics_music.py", f"--lam={pipeline_runs['lam']}", "--arms=base", f"--steps={steps}",
                "--start_t=1", "--starts=1", f"--out={tmp_path}")
  assert [(row["arm"], row["start_t"]) for row in rows] == [("base", "1")]
  assert all(key in rows[0] for key in ("tonal resample", "harmony random", "accuracy random"))
  assert (arm / "music_1.json").exists()   # kept beside the run


def test_lam_ablation(pipeline_runs, tmp_path):
  rows, printed = run("experiments/lam_ablation.py", f"--tokenizer={pipeline_runs['tokenizer']}", "--arms=base",
                      "--steps=1", f"--out={tmp_path}", *sets(SMALL_LAM))
  assert [row["arm"] for row in rows] == ["base"]
  assert all(key in rows[0] for key in ("gap", "step gap", "codes", "perp", "stab", "level", "gain-10", "gain+6"))
  assert rows[0]["codes"].endswith("/8") and (tmp_path / "base" / "report_1.json").exists()


@pytest.fixture(scope="module")
def envelope_arm(pipeline_runs, tmp_path_factory):
  """tokenizer_ablation's rows and runs folder: arm envelope_enc01 (with the spectral envelope) trained one step,
  skip=0 timed only (a budget arm of an earlier run), not trained or scored again."""
  runs_dir = tmp_path_factory.mktemp("tokenizer_arms")
  rows, _ = run("experiments/tokenizer_ablation.py", "--arms=envelope_enc01,skip", "--budget_seconds=1",
                "--fixed_steps=envelope_enc01=1,skip=0", "--rounds=1", "--noood", "--sampler_steps=1",
                f"--runs={runs_dir}", f"--dataset_dir={pipeline_runs['dataset']}", *sets(SMALL_TOKENIZER))
  return rows, runs_dir


def test_tokenizer_ablation(envelope_arm):
  rows, runs_dir = envelope_arm
  timing, scored = rows[:2], rows[2:]
  assert [(row["arm"], row["steps"]) for row in timing] == [("envelope_enc01", "1"), ("skip", "0")]
  assert all(number(row["step_s"]) > 0 for row in timing)
  assert not (runs_dir / "skip").exists()
  assert [row["estimate"] for row in scored] == ["envelope_enc01", "baseline: envelope_vocoder", "baseline: opus"]
  assert all(0 <= number(row["chroma_similarity"]) <= 1 for row in scored)
  assert all(number(row["lsd_4k_8k"]) > 0 for row in scored)
  assert 0 <= number(scored[0]["decoder_cutoff_hz"]) <= 8000  # the STFT decoder's last layer, read per band
  assert (runs_dir / "envelope_enc01" / "eval_validation.json").exists()


def test_latent_bitrate(pipeline_runs, audio_folder, tmp_path):
  output = tmp_path / "rows.json"
  rows, _ = run("experiments/latent_bitrate.py", f"--workdir={pipeline_runs['tokenizer']}", f"--ood={audio_folder}",
                "--steps=1", "--max_seconds=1", f"--output={output}")
  assert [(row["set"], row["latent"]) for row in rows] == [("validation", "continuous"), ("validation", "step 1"),
                                                           ("ood", "continuous"), ("ood", "step 1")]
  assert all(0 <= number(row["chroma"]) <= 1 for row in rows)
  assert number(rows[1]["kbps"]) > 0 and len(json.loads(output.read_text())) == 4


def test_envelope_share(envelope_arm, audio_folder):
  _, runs_dir = envelope_arm
  rows, _ = run("experiments/envelope_share.py", f"--workdirs={runs_dir / 'envelope_enc01'}",
                f"--ood={audio_folder}", "--max_seconds=1", "--sampler_steps=1")
  assert [row["test"] for row in rows] == ["validation", "ood"]
  for row in rows:
    assert all(0 <= number(row[key]) <= 1 for key in ("full_chroma", "envelope_chroma", "silence_chroma"))



def test_harmonic_extension(envelope_arm, audio_folder, tmp_path):
  _, runs_dir = envelope_arm
  rows, _ = run("experiments/harmonic_extension.py", f"--workdir={runs_dir / 'envelope_enc01'}",
                f"--ood={audio_folder}", "--crossovers=2000", "--band_hz=250", "--opus_kbps=6", "--max_seconds=1",
                "--sampler_steps=1", f"--figure={tmp_path / 'lines'}", "--figure_start=0")
  assert (tmp_path / "lines_validation.png").exists() and (tmp_path / "lines_ood.png").exists()
  estimates = [row["estimate"] for row in rows if row["test"] == "validation"]
  assert estimates[:4] == ["decoder as trained", "decoder, extension above 2000 Hz, bands 250 Hz",
                           "oracle: original, noise at its band levels above 2000 Hz",
                           "oracle: original, extension above 2000 Hz"]
  assert estimates[4] == "envelope vocoder, 32 bands"
  assert [row["test"] for row in rows].count("ood") == len(estimates)
  trained, extended, noise, oracle = rows[:4]
  # One decode, post-processed: below the crossover only the STFT round trip differs.
  assert number(extended["lsd_1k_2k"]) == pytest.approx(number(trained["lsd_1k_2k"]), abs=0.1)
  # Fed the original's partials, the extension is nearer the original above the crossover than noise is.
  assert number(oracle["lsd_2k_4k"]) < number(noise["lsd_2k_4k"]) - 2
  assert all(-1 <= number(row["lines_2k_4k"]) <= 1 for row in rows)
