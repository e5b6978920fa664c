"""Relocatable runs: a run's config.json and a latent folder's latents.json record the folders they name relative
to themselves where they share a grandparent (genie_audio/data/paths.py), so a trained tokenizer -> LAM ->
dynamics chain moved to another folder still edits; a run moved away from its upstream runs fails naming the
missing folder and the override that fixes it."""

import json
import shutil

import numpy as np
import pytest
import soundfile as sf

from genie_audio.data import paths
from genie_audio.editing.edit import Editor

# The session's tiny trained pipeline (tests/fixtures_pipeline.py), shared with the edit and notebook tests.
pytest_plugins = ["fixtures_pipeline"]


@pytest.mark.parametrize("path, folder, recorded", [
    ("/x/runs/demo/tokenizer", "/x/runs/demo/lam", "../tokenizer"),
    ("/x/runs/other/lam", "/x/runs/demo/dynamics", "../../other/lam"),       # in the same runs folder
    ("/x/runs/demo/tokenizer", "/x/runs/demo/tokenizer/latents", ".."),
    ("/x/data/demo", "/x/runs/demo/tokenizer", "/x/data/demo"),              # a dataset elsewhere stays absolute
    ("/x/data/demo", "/x/runs/demo/tokenizer/latents", "/x/data/demo"),
    ("/y/lam", "/x/runs", "/y/lam"),                                         # nothing shared but the root
    ("", "/x/runs/demo/lam", ""),
])
def test_record_and_resolve(path, folder, recorded):
  assert paths.record(path, folder) == recorded
  assert paths.resolve(recorded, folder) == path
  assert paths.resolve(recorded, folder.replace("/x/", "/z/moved/")) == (
      path.replace("/x/", "/z/moved/") if not recorded.startswith("/") else path)


def test_a_moved_chain_still_edits(pipeline_runs, tmp_path):
  runs = pipeline_runs["dynamics"].parent
  recorded = lambda run: json.loads((runs / run / "config.json").read_text())
  assert recorded("dynamics")["init"]["lam"]["workdir"] == "../lam"
  assert recorded("lam")["init"]["tokenizer"]["workdir"] == "../tokenizer"
  assert json.loads((runs / "tokenizer" / "latents" / "latents.json").read_text())["tokenizer_workdir"] == ".."

  copy = tmp_path / "copy"
  shutil.copytree(runs, copy)
  moved = tmp_path / "elsewhere" / "runs"
  moved.parent.mkdir()
  shutil.move(copy, moved)  # the copy's first folder is gone: nothing can be found there
  assert not copy.exists()

  editor = Editor.load(moved / "dynamics")
  assert (editor.lam.workdir, editor.tokenizer.workdir) == (str(moved / "lam"), str(moved / "tokenizer"))
  wave, _ = sf.read(moved / "data" / "shards" / "fake003.wav", dtype="float32")
  result = editor.edit(wave, 1.0, 1.2, resample=True)
  np.testing.assert_array_equal(result.wave[:16000], wave[:16000])  # outside the span: the original
  assert not np.array_equal(result.wave[16000:19200], wave[16000:19200])

  # The dynamics run alone, away from its LAM: the error names the missing folder and the override.
  alone = tmp_path / "alone" / "x" / "dynamics"
  shutil.copytree(moved / "dynamics", alone)
  with pytest.raises(FileNotFoundError) as error:
    Editor.load(alone)
  message = str(error.value)
  assert str(tmp_path / "alone" / "x" / "lam") in message and "--config.init.lam.workdir=" in message
  assert "config.json" in message
