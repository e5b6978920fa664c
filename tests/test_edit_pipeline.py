"""End to end on fake data: a micro tokenizer -> encode -> LAM -> dynamics chain (a few steps each), then the
edit API (the original audio outside the span, sample for sample), launch/edit.py's errors (nothing written),
launch/evaluate.py's JSON, upstream errors naming the command, and the dynamics stage's sharded smoke run."""

import json
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

from configs import common
from genie_audio.data import audio
from genie_audio.editing.edit import Editor
from genie_audio.editing.requests import EditError
from genie_audio.tasks.dynamics import DynamicsTask
from genie_audio.testing import pipeline, runs

REPORT_KEYS = {"action_accuracy", "chance", "guidance_scale", "seam_mel_distance", "seam_mel_distance_unedited",
               "per_guidance", "action_guidance", "level_move_r", "level_move_r_own", "level_move_r_original",
               "start_t", "edit_music"}


# The session's tiny trained pipeline (tests/fixtures_pipeline.py), shared with the notebook tests.
pytest_plugins = ["fixtures_pipeline"]


@pytest.fixture(scope="module")
def chain(pipeline_runs):
  return pipeline_runs


@pytest.fixture(scope="module")
def editor(chain):
  return Editor.load(chain["dynamics"])


@pytest.fixture(scope="module")
def song(chain):
  wave, rate = sf.read(chain["dataset"] / "shards" / "fake003.wav", dtype="float32")
  assert rate == 16000
  return wave


@pytest.fixture(scope="module")
def compile_cache(tmp_path_factory):
  """A persistent compilation cache shared by the command-line runs (they compile the same programs)."""
  return tmp_path_factory.mktemp("jax_cache")


def _launch(script, *args, cache=None):
  env = runs.launch_env(1)
  if cache is not None:
    env.update(JAX_COMPILATION_CACHE_DIR=str(cache), JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS="0")
  return subprocess.run([sys.executable, str(runs.REPO_ROOT / "launch" / script), *map(str, args)],
                        env=env, capture_output=True, text=True, timeout=300, cwd=runs.REPO_ROOT)


def test_span_longer_than_the_window_is_written_in_several_windows(editor, song):
  """0.3-2.4 s covers 21 steps of 0.1 s, 105 frames: more than the model's 40-frame window."""
  start, end = 4800, 38400
  requested = [s % 4 for s in range(21)]
  result = editor.edit(song, start / 16000, end / 16000, actions=requested, seed=1)
  assert result.info["windows"] == 5 and result.info["steps"] == [3, 24]
  np.testing.assert_array_equal(result.wave[:start], song[:start])
  np.testing.assert_array_equal(result.wave[end:], song[end:])
  assert np.all(np.isfinite(result.wave)) and np.abs(result.wave[start:end] - song[start:end]).max() > 0


def test_edit_keeps_the_original_outside_the_span(editor, song):
  timeline = editor.infer_actions(song)
  assert len(timeline) == 30 and timeline.step_seconds == pytest.approx(0.1)  # 3 s, R = 5 frames at 50/s
  start, end = 16000 + 123, 24000 + 45  # not on frame or step boundaries
  other = song[::-1].copy()
  for request in (dict(actions=[0, 1, 2, 3, 0, 1]), dict(resample=True), dict(actions_from=other)):
    result = editor.edit(song, start / 16000, end / 16000, seed=3, **request)
    out = result.wave
    assert out.shape == song.shape and out.dtype == np.float32
    np.testing.assert_array_equal(out[:start], song[:start])
    np.testing.assert_array_equal(out[end:], song[end:])
    assert np.abs(out[start:end] - song[start:end]).max() > 0
    assert result.info["steps"] == [10, 16] and len(result.info["actions_after"]) == 6
  assert result.info["actions_after"] == editor.infer_actions(other).codes[10:16].tolist()
  again = editor.edit(song, start / 16000, end / 16000, actions_from=other, seed=3).wave
  np.testing.assert_array_equal(again, out)  # a fixed seed reproduces the edit


def test_action_guidance_changes_the_span_only(editor, song):
  """A pull of 3 against the run's default (none in the test pipeline): both keep the original outside the span,
  and they differ in it."""
  start, end = 16000, 25600  # 1.0-1.6 s: steps 10-16
  guided = editor.edit(song, start / 16000, end / 16000, actions=[0, 1, 2, 3, 0, 1], seed=3, action_guidance=3.0)
  plain = editor.edit(song, start / 16000, end / 16000, actions=[0, 1, 2, 3, 0, 1], seed=3)
  assert guided.info["action_guidance"] == 3.0 and plain.info["action_guidance"] == 0.0
  for result in (guided, plain):
    np.testing.assert_array_equal(result.wave[:start], song[:start])
    np.testing.assert_array_equal(result.wave[end:], song[end:])
  assert np.abs(guided.wave[start:end] - plain.wave[start:end]).max() > 1e-4


def test_extend_continues_after_the_end_and_before_the_start(editor, song):
  """0.25 s asks for 3 steps of 0.1 s: 0.3 s of new audio; the original is kept up to the crossfade at the
  seam; a second request with the prepared recording and the same seed gives the same continuation."""
  prepared = editor.prepare(song)
  n = len(song)
  end = editor.extend(prepared, 0.25, at="end", actions=[0, 1, 2], seed=4)
  fade = int(round(end.info["crossfade_s"] * 16000))
  assert len(end.wave) == n + 4800 and end.info["new_steps"] == 3 and end.info["actions_after"] == [0, 1, 2]
  np.testing.assert_array_equal(end.wave[:n - fade], song[:n - fade])
  assert np.all(np.isfinite(end.wave)) and np.abs(end.wave[n:]).max() > 0
  start = editor.extend_variations(prepared, 2.0, at="start", seeds=[1, 2])   # longer than a window
  for result in start:
    assert len(result.wave) == n + 32000 and result.info["original_offset_s"] == 2.0
    assert result.info["windows"] > 1 and result.info["actions_after"] is None
    np.testing.assert_array_equal(result.wave[32000 + fade:], song[fade:])
  assert np.abs(start[0].wave[:32000] - start[1].wave[:32000]).max() > 0   # two seeds, two continuations
  np.testing.assert_allclose(editor.extend(song, 2.0, at="start", seed=2).wave, start[1].wave, atol=1e-5)
  with pytest.raises(EditError, match="takes 3 action steps of 0.1 s: give exactly 3"):
    editor.extend(prepared, 0.25, actions=[1])
  with pytest.raises(EditError, match="'end' or before its 'start'"):
    editor.extend(prepared, 1.0, at="middle")


def test_resample_edit_keeps_the_level_of_quiet_and_loud_inputs(editor, song):
  """The editor codes a file at the training loudness (-23 LUFS) and gives the span back at the file's level.

  The tiny test models come back ~26 LU louder than their -23 LUFS input (two training steps), so the issue's
  absolute bound (within 1.5 LU of the original span) is for trained models; what the fix guarantees at any
  model quality is that the span's level change does not depend on the input's level. Measured: before the
  fix the span came back 37.8 LU louder at -35 LUFS and 14.8 LU at -12 LUFS (the decoder's own level,
  whatever the input's); after it, +25.8 LU at both.
  """
  start, end = 8000, 40000  # 0.5-2.5 s
  change = {}
  for lufs in (-35.0, -12.0):
    wave = (song * 10.0 ** ((lufs - audio.loudness(song, 16000)) / 20.0)).astype(np.float32)
    result = editor.edit(wave, start / 16000, end / 16000, resample=True, seed=0)
    np.testing.assert_array_equal(result.wave[:start], wave[:start])
    np.testing.assert_array_equal(result.wave[end:], wave[end:])
    assert result.info["level_gain_db"] == pytest.approx(-23.0 - lufs, abs=0.5)
    change[lufs] = audio.loudness(result.wave[start:end], 16000) - audio.loudness(wave[start:end], 16000)
  assert abs(change[-35.0] - change[-12.0]) < 1.5, change


@pytest.mark.parametrize("span, choice, message", [
    ((1.5, 1.0), dict(resample=True), "start must be before end"),
    ((2.5, 3.5), dict(resample=True), "out of range"),
    ((1.0, 1.2), dict(actions=[0, 1, 2]), "give exactly 2"),
    ((1.0, 1.2), dict(actions=[0, 4]), "unknown action id 4"),
    ((1.0, 1.2), dict(), "exactly one of"),
    ((1.0, 1.2), dict(resample=True, guidance_max_t=1.5), "guidance interval"),
    ((1.0, 1.2), dict(resample=True, action_guidance=-1.0), "action guidance weight"),
])
def test_edit_api_errors(editor, song, span, choice, message):
  with pytest.raises(EditError, match=message):
    editor.edit(song, *span, **choice)


# The command's error path (exit 1, the message, a JSON error line, no file) for a bad request and a bad file;
# the other bad requests take the same path and are checked on the API above.
@pytest.mark.parametrize("args, message", [
    (["--start", 1.0, "--end", 1.2, "--actions", "0,7"], "unknown action id 7"),
    (["--start", 1.0, "--end", 1.2, "--resample", "--input", "NOT_AUDIO"], "not_audio.wav"),
])
def test_edit_command_errors_write_nothing(chain, tmp_path, args, message):
  bad = tmp_path / "not_audio.wav"
  bad.write_text("these are words, not samples")
  song = chain["dataset"] / "shards" / "fake003.wav"
  args = [bad if a == "NOT_AUDIO" else a for a in args]
  if "--input" not in args:
    args += ["--input", song]
  result = _launch("edit.py", "--workdir", chain["dynamics"], "--output", tmp_path / "out.wav", *args)
  assert result.returncode == 1
  assert message in result.stderr
  assert "error" in json.loads(result.stdout.strip().splitlines()[-1])
  assert sorted(p.name for p in tmp_path.iterdir()) == ["not_audio.wav"]


def test_edit_command_writes_the_edit(chain, tmp_path, compile_cache):
  song = chain["dataset"] / "shards" / "fake003.wav"
  result = _launch("edit.py", "--workdir", chain["dynamics"], "--input", song, "--start", 1.0, "--end", 1.2,
                   "--actions", "3,1", "--output", tmp_path / "out.wav", "--guidance", 2, "--guidance-max-t", 0.5,
                   "--action-guidance", 1.5, "--show", cache=compile_cache)
  assert result.returncode == 0, result.stderr[-3000:]
  summary = json.loads(result.stdout.strip().splitlines()[-1])
  assert summary["actions_after"] == [3, 1] and len(summary["timeline"]) == 30
  assert summary["guidance_scale"] == 2.0 and summary["guidance_max_t"] == 0.5 and summary["action_guidance"] == 1.5
  original, _ = sf.read(song, dtype="float32")
  edited, rate = sf.read(tmp_path / "out.wav", dtype="float32")
  assert rate == 16000
  np.testing.assert_array_equal(edited[:16000], original[:16000])
  np.testing.assert_array_equal(edited[19200:], original[19200:])
  assert sorted(p.name for p in tmp_path.iterdir()) == ["out.wav"]  # no temporary file left


def test_evaluate_on_the_lam_run_names_its_metrics_plainly(chain, compile_cache):
  result = _launch("evaluate.py", "--workdir", chain["lam"], cache=compile_cache)
  assert result.returncode == 0, result.stderr[-3000:]
  report = json.loads(result.stdout.strip().splitlines()[-1])
  keys = {"codebook_usage", "perplexity", "hidden_error_inferred", "hidden_error_random", "hidden_error_none"}
  assert keys <= set(report), report
  assert 0 < report["codebook_usage"] <= 1 and report["perplexity"] >= 1
  eta = report["eta_squared"]
  assert set(eta["state"]) == {"loudness_db", "centroid_hz", "low_high_db"} and "onset_density" in eta["move"]
  assert all(v is None or 0 <= v <= 1 for table in eta.values() for v in table.values())
  assert set(report["gain_invariance"]) == set(report["gain_invariance_raw"]) == {"-10dB", "+6dB"}
  assert min(report["gain_invariance"].values()) >= 0.95  # coded at the training loudness, as the editor does


def test_evaluate_last_line_is_json_with_the_edit_metrics(chain, compile_cache):
  result = _launch("evaluate.py", "--workdir", chain["dynamics"], "--action_guidance", 3, cache=compile_cache)
  assert result.returncode == 0, result.stderr[-3000:]
  report = json.loads(result.stdout.strip().splitlines()[-1])
  assert REPORT_KEYS <= set(report), report
  # The sweep (1, 2), which holds the run's edit default (2, extrapolating at t <= 0.5), steered by the LAM.
  assert report["chance"] == 0.25 and set(report["per_guidance"]) == {"1", "2"}
  assert report["guidance_scale"] == 2.0 and report["guidance_max_t"] == 0.5 and report["action_guidance"] == 3.0
  assert report["action_accuracy"] == report["per_guidance"]["2"]["action_accuracy"]
  assert report["level_move_r"] == report["per_guidance"]["2"]["level_move_r"]
  assert 0 <= report["action_accuracy"] <= 1 and np.isfinite(report["seam_mel_distance_unedited"])
  assert all(-1 <= report[k] <= 1 for k in ("level_move_r", "level_move_r_own", "level_move_r_original"))
  # Edits that are music (eval/edit_music.py): every fill of the validation spans, scored on the audio.
  music = report["edit_music"]["validation"]
  assert set(music) == {"reconstruction", "envelope_noise", "loop", "retrieval", "resample", "random"}
  assert all(np.isfinite(music[f]["level_db"]) and music[f]["spans"] >= 1 for f in music)
  assert 0 <= music["random"]["accuracy"] <= 1


def test_upstream_errors_name_the_command(chain, tmp_path):
  config = pipeline.dynamics_config(tmp_path / "no_lam")
  with pytest.raises(FileNotFoundError, match="python launch/train.py --config configs/lam.py"):
    common.validate(config)
  config.init.lam.workdir = str(chain["tokenizer"])
  with pytest.raises(ValueError, match="is a 'tokenizer' run, not a 'lam' run"):
    DynamicsTask(config)
  config = pipeline.dynamics_config(chain["lam"], **{"data.window_frames": 42})
  with pytest.raises(ValueError, match="data.window_frames=42.*frames_per_action=5"):
    common.validate(config)
  for field, value in (("edit.guidance_max_t", 1.5), ("eval.report_windows", 0)):
    with pytest.raises(ValueError, match=rf"config\.{field.replace('.', '[.]')}={value}"):
      common.validate(pipeline.dynamics_config(chain["lam"], **{field: value}))


