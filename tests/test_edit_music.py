"""Edits that start from the retrieval fill (Editor, start_t < 1) and the span evaluator of edits that are music
(genie_audio/eval/edit_music.py), on the session's tiny trained pipeline (tests/fixtures_pipeline.py)."""

import numpy as np
import pytest
import soundfile as sf

from genie_audio.editing import actions as actions_lib
from genie_audio.editing.edit import Editor
from genie_audio.editing.requests import EditError
from genie_audio.editing.windows import plan_windows
from genie_audio.eval import edit_music

pytest_plugins = ["fixtures_pipeline"]


@pytest.fixture(scope="module")
def editor(pipeline_runs):
  return Editor.load(pipeline_runs["dynamics"])


@pytest.fixture(scope="module")
def song(pipeline_runs):
  return sf.read(pipeline_runs["dataset"] / "shards" / "fake003.wav", dtype="float32")[0]


def test_a_low_start_keeps_the_retrieval_fill_and_the_context(editor, song):
  recording = editor.prepare(song)
  R = editor.frames_per_action
  f0, f1 = 10 * R, 16 * R
  start_TC, info = editor.retrieval_start(recording.latents, f0, f1, editor.sampler_settings(start_t=0.02))
  assert info["start_t"] == 0.02 and "retrieval_from_s" in info
  frames = info["retrieval_from_s"] * editor.frame_rate
  assert frames + (f1 - f0) <= f0 or frames >= f1  # never the span itself
  np.testing.assert_array_equal(start_TC[:f0], recording.latents[:f0])
  windows = plan_windows(len(recording.latents), editor.window_frames, f0, f1, R)
  actions = actions_lib.frame_actions(recording.codes, R, len(recording.latents))
  low = editor.inpaint_frames(recording.latents, actions, windows, [0], editor.sampler_settings(start_t=0.02),
                              start_TC)[0]
  noise = editor.inpaint_frames(recording.latents, actions, windows, [0], editor.sampler_settings(), None)[0]
  np.testing.assert_array_equal(low[:f0], recording.latents[:f0])
  # 2% noise on the fill, refined for 2% of the path: the span is the fill, give or take; from noise it is not.
  assert np.abs(low[f0:f1] - start_TC[f0:f1]).mean() < 0.1 * np.abs(start_TC[f0:f1]).mean()
  assert np.abs(noise[f0:f1] - start_TC[f0:f1]).mean() > 0.3 * np.abs(start_TC[f0:f1]).mean()


def test_an_edit_from_the_retrieval_fill_changes_the_span_only_and_says_where_it_came_from(editor, song):
  result = editor.edit(song, 1.0, 1.6, resample=True, start_t=0.5)
  start, end = 16000, int(1.6 * 16000)
  np.testing.assert_array_equal(result.wave[:start], song[:start])
  np.testing.assert_array_equal(result.wave[end:], song[end:])
  assert result.info["start_t"] == 0.5 and result.info["retrieval_from_s"] >= 0
  assert editor.edit(song, 1.0, 1.6, resample=True).info["start_t"] == editor.edit_defaults.start_t  # the run's
  noise = editor.edit(song, 1.0, 1.6, resample=True, start_t=1.0).info
  assert noise["start_t"] == 1.0 and "retrieval_from_s" not in noise


@pytest.mark.parametrize("start_t", [0.0, 1.5, float("nan")])
def test_a_start_level_outside_0_1_is_refused(editor, song, start_t):
  with pytest.raises(EditError, match="start_t"):
    editor.edit(song, 1.0, 1.6, resample=True, start_t=start_t)


def test_baseline_fills_replace_the_span_only(editor, song):
  start, end, length = 16000, int(1.6 * 16000), int(0.6 * 16000)
  fills = edit_music.baseline_fills(editor, editor.prepare(song), 1.0, 1.6)
  assert set(fills) == set(edit_music.BASELINES)
  for name, filled in fills.items():
    np.testing.assert_array_equal(filled[:start], song[:start], err_msg=name)
    np.testing.assert_array_equal(filled[end:], song[end:], err_msg=name)
    assert not np.array_equal(filled[start:end], song[start:end]), name
  trim = 1600  # clear of the 0.05 s crossfades: the loop is the audio just before the span, sample for sample
  np.testing.assert_array_equal(fills["loop"][start + trim:end - trim], song[start - length + trim:start - trim])


def test_a_fill_equal_to_the_original_scores_full_harmony_no_level_change_and_no_seam(song):
  scores = edit_music.score_fill(song, song.copy(), 16000, int(1.6 * 16000), trim=1600, seam_half=1600)
  assert scores["harmony"] == pytest.approx(1.0) and scores["level_db"] == pytest.approx(0.0, abs=1e-9)
  assert scores["seam"] == pytest.approx(0.0, abs=1e-9)


def test_the_span_evaluator_scores_every_fill(editor, song):
  rows = edit_music.evaluate(editor, {"song": song}, starts_s=(1.0,), span_seconds=0.6,
                             edit_settings=dict(start_t=0.5))
  assert {r["fill"] for r in rows} == set(edit_music.FILLS)
  assert all(np.isfinite(r["tonality"]) and np.isfinite(r["harmony"]) and r["seam"] > 0 for r in rows)
  summary = edit_music.summarise(rows)
  assert summary["random"]["spans"] == 1 and 0 <= summary["random"]["accuracy"] <= 1
  random = next(r for r in rows if r["fill"] == "random")
  assert len(random["requested"]) == len(random["moves"]["loudness_jump_db"]) == len(random["original_codes"])
  heard = edit_music.requests_heard(rows)
  assert set(heard) == {"edits", "original"} and set(heard["edits"]) == set(heard["original"])
  loop = next(r for r in rows if r["fill"] == "loop")
  assert summary["loop"]["level_db_max_abs"] == pytest.approx(abs(loop["level_db"]))
