"""The app's parts that need no model and no browser: the working copy (keep, undo, redo, edit info), request
parsing, excerpts, the picture's time axis, and where the action legend is read from and cached."""

import json
import types

import numpy as np
import pytest

from genie_audio.app import figures, legend, session
from genie_audio.editing.requests import EditError, EditResult


def result(wave, **info):
  return EditResult(np.asarray(wave, np.float32), dict(info))


def test_working_copy_keeps_undoes_and_redoes_edits_cumulatively():
  copy = session.WorkingCopy.start("song.wav", np.zeros(8))
  with pytest.raises(EditError, match="nothing to undo"):
    copy.undo()
  with pytest.raises(EditError, match="no variation 1 to keep"):
    copy.keep(0)
  copy.offer([result(np.ones(8), edit=1), result(2 * np.ones(8), edit=2)])
  assert copy.keep(1).wave[0] == 2 and copy.position == 1 and copy.candidates == []
  copy.offer([result(3 * np.ones(8), edit=3)])
  copy.keep(0)
  assert copy.edits() == [{"edit": 2}, {"edit": 3}]
  assert copy.undo().wave[0] == 2 and copy.undo().wave[0] == 0 and copy.redo().wave[0] == 2
  assert json.loads(copy.info_json())["edits"] == [{"edit": 2}]
  copy.offer([result(4 * np.ones(8), edit=4)])
  copy.keep(0)                                   # keeping after an undo drops the undone version
  assert [v.wave[0] for v in copy.versions] == [0, 2, 4] and not copy.can_redo()
  with pytest.raises(EditError, match="nothing to redo"):
    copy.redo()


def test_working_copy_history_is_bounded_and_keeps_the_original():
  copy = session.WorkingCopy.start("song.wav", np.zeros(4))
  for k in range(session.MAX_VERSIONS + 5):
    copy.offer([result(np.full(4, k + 1), edit=k)])
    copy.keep(0)
  assert len(copy.versions) == session.MAX_VERSIONS and copy.original.wave[0] == 0
  assert copy.current.wave[0] == session.MAX_VERSIONS + 5


@pytest.mark.parametrize("text, expected", [("3,3,5", [3, 3, 5]), (" 3, 1 ", [3, 1]), ("2 0", [2, 0]),
                                            ("", None), (None, None)])
def test_parse_actions(text, expected):
  assert session.parse_actions(text) == expected


@pytest.mark.parametrize("call, message", [
    (lambda: session.parse_actions("3,x"), "write action ids separated by commas"),
    (lambda: session.check_span(None, 1.0, 3.0), "span start is not set"),
    (lambda: session.check_span(2.0, 1.0, 3.0), "start must be before end"),
    (lambda: session.check_span(2.0, 3.5, 3.0), "out of range: the recording lasts 3.000 s"),
    (lambda: session.seeds_for(0, 9), "variations=9"),
    (lambda: session.seeds_for(1.5, 1), "seed=1.5"),
    (lambda: session.check_extension(0, "end"), "above 0"),
    (lambda: session.check_extension(1, "middle"), "choose 'end'"),
    (lambda: session.check_settings(4, 0.5, 0, 0.05), "sampler steps=0"),
    (lambda: session.check_settings(float("nan"), 0.5, 8, 0.05), "guidance scale=nan"),
    (lambda: session.check_settings(4, 0.5, 8, 0.05, ""), "action guidance is not set"),
])
def test_bad_requests_say_what_is_wrong(call, message):
  with pytest.raises(EditError, match=message):
    call()


def test_requests_that_are_fine():
  assert session.check_span("1", 2.5, 3.0) == (1.0, 2.5)
  assert session.seeds_for(7, 3) == [7, 8, 9]
  assert session.check_settings(4, 0.5, 16, 0.0) == dict(guidance_scale=4.0, guidance_max_t=0.5, num_steps=16,
                                                         crossfade_s=0.0)
  assert session.check_settings(2, 0.5, 16, 0.0, "1.5")["action_guidance"] == 1.5


def test_excerpt_puts_the_span_where_it_says():
  wave = np.arange(16000 * 10, dtype=np.float32)
  clip, offset = session.excerpt(wave, 4.0, 5.0, 1.5)
  assert offset == 1.5 and clip[0] == wave[int(2.5 * 16000)] and len(clip) == 4 * 16000
  clip, offset = session.excerpt(wave, 0.5, 1.0, 1.5)     # cut at the recording's start
  assert offset == 0.5 and clip[0] == 0


def test_picture_time_axis_maps_clicks_back_to_seconds():
  wave = np.sin(np.arange(16000 * 2) / 10.0).astype(np.float32)
  image, axis = figures.timeline_image(wave, [0, 1, 1, 2], 0.5, 4, span=(0.5, 1.0), title="t")
  assert image.shape == (figures.HEIGHT_PX, figures.WIDTH_PX, 3) and image.dtype == np.uint8
  assert 0 < axis.x0 < axis.x1 < figures.WIDTH_PX
  assert axis.seconds_at(axis.x0) == 0 and axis.seconds_at(axis.x1) == 2.0 and axis.seconds_at(-5) == 0
  assert axis.seconds_at((axis.x0 + axis.x1) / 2) == pytest.approx(1.0)
  _, close = figures.timeline_image(wave, [0, 1, 1, 2], 0.5, 4, span=(0.5, 1.0), view=(0.25, 1.25))
  assert close.seconds_at(close.x0) == 0.25 and close.seconds_at(close.x1) == 1.25


def fake_reader(tmp_path, num_actions=2):
  lam = types.SimpleNamespace(workdir=str(tmp_path / "lam"), step=10)
  return types.SimpleNamespace(num_actions=num_actions, lam=lam)


def test_legend_is_computed_once_then_read_back(tmp_path):
  run, calls = tmp_path / "run", []
  run.mkdir()
  compute = lambda reader: calls.append(1) or {0: "louder", 1: "darker"}
  lines, source = legend.run_legend(run, fake_reader(tmp_path), tmp_path / "cache", compute)
  assert lines == {0: "louder", 1: "darker"} and source == str(run / "actions" / "legend.json")
  again, _ = legend.run_legend(run, fake_reader(tmp_path), tmp_path / "cache", compute)
  assert again == lines and len(calls) == 1
  # A legend of another codebook size is not this run's: computed anew.
  assert legend.run_legend(run, fake_reader(tmp_path, 3), tmp_path / "cache",
                           lambda r: {0: "a", 1: "b", 2: "c"})[0][2] == "c"


def test_legend_goes_to_the_user_cache_when_the_run_cannot_be_written(tmp_path, monkeypatch):
  run = tmp_path / "run"
  run.mkdir()
  monkeypatch.setattr(legend, "writable_dir", lambda path: False)
  _, source = legend.run_legend(run, fake_reader(tmp_path), tmp_path / "cache", lambda r: {0: "x", 1: "y"})
  assert source.startswith(str(tmp_path / "cache")) and not (run / "actions").exists()
  lines, again = legend.run_legend(run, fake_reader(tmp_path), tmp_path / "cache", lambda r: 1 / 0)
  assert again == source and lines == {0: "x", 1: "y"}


def test_legend_without_validation_audio_says_how_to_get_one(tmp_path):
  def no_audio(reader):
    raise FileNotFoundError("no validation recording has its audio")
  lines, source = legend.run_legend(tmp_path, fake_reader(tmp_path), tmp_path / "cache", no_audio)
  assert set(lines) == {0, 1} and "describe_actions" in lines[0] and source.startswith("none")
  assert not (tmp_path / "cache").exists() and not (tmp_path / "actions").exists()
