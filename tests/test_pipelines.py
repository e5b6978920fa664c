"""Grain pipelines: crop placement, determinism, per-process sharding, iterator state, latent windows."""

import numpy as np
import pytest

from genie_audio.data import crops, latents, pipelines
from genie_audio.testing import fake_data


def _position_read(path, start, length):
  """A reader that returns where it read from, so tests can see the crop plan."""
  return np.array([int(path), start, length])


ITEMS = [("0", 1000), ("1", 250), ("2", 100), ("3", 4000)]


def _plan(**kwargs):
  spec = pipelines.CropSpec("pos", crop_frames=200, align=10)
  return pipelines.crop_dataset(ITEMS, _position_read, spec, **kwargs)


def test_examples_in_proportion_to_length_and_short_recordings_dropped(caplog):
  np.testing.assert_array_equal(crops.examples_per_recording([1000, 250, 100, 4000], 200), [5, 1, 0, 20])
  ds = _plan(batch_size=1, seed=0, num_epochs=1)
  assert len(ds) == 26
  assert "1 of 4 recordings are shorter" in caplog.text
  seen = np.concatenate([ds[i]["pos"] for i in range(len(ds))])
  recordings, starts = seen[:, 0], seen[:, 1]
  assert np.bincount(recordings, minlength=4).tolist() == [5, 1, 0, 20]
  frames = np.array([n for _, n in ITEMS])
  assert np.all(starts % 10 == 0) and np.all(starts + 200 <= frames[recordings])


def test_all_recordings_too_short_is_an_error():
  with pytest.raises(ValueError, match="at least 5000 frames"):
    pipelines.crop_dataset(ITEMS, _position_read, pipelines.CropSpec("pos", 5000), batch_size=1, seed=0)


def test_same_seed_same_batches_other_seed_other_batches():
  first = [_plan(batch_size=4, seed=3)[i]["pos"] for i in range(5)]
  again = [_plan(batch_size=4, seed=3)[i]["pos"] for i in range(5)]
  other = [_plan(batch_size=4, seed=4)[i]["pos"] for i in range(5)]
  np.testing.assert_array_equal(first, again)
  assert not np.array_equal(first, other)


def test_epochs_reshuffle_and_redraw_offsets():
  ds = _plan(batch_size=26, seed=0)
  epoch0, epoch1 = ds[0]["pos"], ds[1]["pos"]
  assert sorted(epoch0[:, 0]) == sorted(epoch1[:, 0])  # same recordings each epoch
  assert not np.array_equal(epoch0, epoch1)


def test_process_shards_are_disjoint_and_cover_the_epoch():
  whole = _plan(batch_size=1, seed=0, num_epochs=1)
  shards = [_plan(batch_size=1, seed=0, num_epochs=1, shard_index=i, shard_count=2) for i in range(2)]
  keys = lambda ds: {tuple(ds[i]["pos"][0]) for i in range(len(ds))}
  assert keys(shards[0]).isdisjoint(keys(shards[1]))
  assert keys(shards[0]) | keys(shards[1]) == keys(whole)


@pytest.mark.parametrize("num_workers", [0, 2])
def test_iterator_state_resumes_exactly(tmp_path, num_workers):
  dataset = fake_data.write_fake_dataset(tmp_path, recordings=3, seconds=2.0)
  make = lambda: pipelines.waveform_crops(str(dataset), "train", 4000, batch_size=2, seed=1)
  it = pipelines.to_iterator(make(), num_workers)
  for _ in range(3):
    next(it)
  state = it.get_state()
  expected = [next(it)["wave"] for _ in range(3)]
  resumed = pipelines.to_iterator(make(), num_workers)
  resumed.set_state(state)
  np.testing.assert_array_equal([next(resumed)["wave"] for _ in range(3)], expected)


def test_waveform_crops_read_the_shards(tmp_path):
  dataset = fake_data.write_fake_dataset(tmp_path, recordings=2, seconds=1.0, validation=1)
  batch = pipelines.waveform_crops(str(dataset), "train", 1600, batch_size=3, seed=0)[0]
  assert batch["wave"].shape == (3, 1600) and batch["wave"].dtype == np.float32
  assert np.abs(batch["wave"]).max() > 0.01


def test_missing_manifest_says_how_to_prepare(tmp_path):
  with pytest.raises(FileNotFoundError, match="prepare_data.py"):
    pipelines.waveform_crops(str(tmp_path), "train", 1600, batch_size=1, seed=0)


def test_latent_windows_roundtrip(tmp_path):
  z = np.arange(300 * 4, dtype=np.float32).reshape(300, 4)
  latents.write_shard(tmp_path, "a", "a.wav", "train", z)
  latents.write_shard(tmp_path, "b", "b.wav", "validation", z[:50])
  with pytest.raises(FileNotFoundError, match="encode.py"):
    pipelines.latent_windows(str(tmp_path), "train", 20, batch_size=2, seed=0)
  latents.write_meta(tmp_path, {"frame_rate": 50, "latent_dim": 4})
  batch = pipelines.latent_windows(str(tmp_path), "train", 20, batch_size=2, seed=0)[0]["latents"]
  assert batch.shape == (2, 20, 4)
  for window in batch:  # each window is a contiguous slice of the shard
    start = int(window[0, 0]) // 4
    np.testing.assert_array_equal(window, z[start:start + 20])
