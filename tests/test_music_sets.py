"""experiments/music_sets.py: the default folder of music unlike the corpus is written on first use, and kept."""

import numpy as np
import pytest
import soundfile as sf

from experiments import music_sets   # no flags: safe to import


def test_the_default_unlike_folder_is_written_once_and_read(monkeypatch, tmp_path):
  folder = str(tmp_path / "ood")
  rendered = []

  def fake_piece(name, path, work):
    rendered.append(name)
    sf.write(path, np.full(1600, 0.1, np.float32), 16000)

  monkeypatch.setattr(music_sets, "UNLIKE_FOLDER", folder)
  monkeypatch.setattr(music_sets.ood_audio, "mma_piece", fake_piece)
  waves = music_sets.unlike_waves(folder, max_seconds=0.05)
  names = sorted(["piano_chords", *music_sets.ood_audio.PIECES])
  assert sorted(p.name for p in (tmp_path / "ood").iterdir()) == [f"{n}.wav" for n in names]
  assert len(waves) == len(names) and all(w.shape == (800,) for w in waves)
  music_sets.unlike_waves(folder)   # already there: nothing is rendered again
  assert sorted(rendered) == sorted(music_sets.ood_audio.PIECES)


def test_another_unlike_folder_must_exist(tmp_path):
  with pytest.raises(FileNotFoundError):
    music_sets.unlike_waves(str(tmp_path / "missing"))
