"""Grain pipelines: shuffled random crops of prepared waveforms or of encoded latents.

Both stream `{"<key>": float32 array (batch, length[, C])}` batches for one JAX process. The pipeline is a
`grain.MapDataset` chain (shuffle -> per-process shard -> random crop -> batch), turned into an iterator
whose state Orbax saves in each checkpoint, so a resumed run sees exactly the data it would have seen.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from pathlib import Path
from typing import Callable, Protocol, Sequence

import grain
import grain.experimental
from absl import flags
import numpy as np
import soundfile as sf

from genie_audio.data import crops
from genie_audio.data import latents as latent_store
from genie_audio.data import manifest

log = logging.getLogger(__name__)

class Augment(Protocol):
  """(read samples, the example's generator, crop length) -> augmented crop; drawn after the offset, so it never
  moves a crop. It may ask for more samples than the crop (`frames_to_read`), e.g. to shift the pitch up."""

  def frames_to_read(self, crop_frames: int) -> int: ...

  def __call__(self, wave_T: np.ndarray, rng: np.random.Generator, crop_frames: int) -> np.ndarray: ...


@dataclasses.dataclass(frozen=True)
class CropSpec:
  key: str                 # name of the array in the batch dict
  crop_frames: int         # length of each crop along time
  align: int = 1           # crop starts are multiples of this (e.g. a tokenizer's stride)


class _CropSource:
  """Maps an example index to (recording, random offset) and reads the crop; picklable for workers."""

  def __init__(self, items: Sequence[tuple[str, int]], read: Callable[[str, int, int], np.ndarray],
               spec: CropSpec, augment: Augment | None = None, read_frames: int | None = None):
    self.paths = [p for p, _ in items]
    self.frames = np.array([n for _, n in items], dtype=np.int64)
    self.cumulative = np.cumsum(crops.examples_per_recording(self.frames, spec.crop_frames))
    self.read = read
    self.spec = spec
    self.augment = augment
    self.read_frames = spec.crop_frames if read_frames is None else read_frames  # samples read for a crop

  def __len__(self) -> int:
    return int(self.cumulative[-1])

  def __call__(self, index: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    i = crops.locate(index, self.cumulative)
    start = crops.random_offset(int(self.frames[i]), self.read_frames, rng, self.spec.align)
    crop = self.read(self.paths[i], start, self.read_frames)
    if self.augment is not None:
      crop = self.augment(crop, rng, self.spec.crop_frames)
    return {self.spec.key: crop}


def read_wave(path: str, start: int, length: int) -> np.ndarray:
  wave, rate = sf.read(path, start=start, frames=length, dtype="float32", always_2d=False)
  if rate != manifest.SAMPLE_RATE or wave.shape != (length,):
    raise ValueError(f"{path}: expected {length} mono samples at {manifest.SAMPLE_RATE} Hz from {start}, "
                     f"got shape {wave.shape} at {rate} Hz (re-run prepare_data)")
  return wave


# np.load parses .npy headers with ast.literal_eval, which is not thread-safe in CPython 3.11
# (python/cpython#106905): the read-ahead thread and an evaluator must not parse at the same time.
_NPY_HEADER_LOCK = threading.Lock()


def read_latent(path: str, start: int, length: int) -> np.ndarray:
  with _NPY_HEADER_LOCK:
    array = np.load(path, mmap_mode="r")
  return np.asarray(array[start:start + length], dtype=np.float32)


def crop_dataset(items: Sequence[tuple[str, int]], read: Callable[[str, int, int], np.ndarray],
                 spec: CropSpec, *, batch_size: int, seed: int, shard_index: int = 0,
                 shard_count: int = 1, num_epochs: int | None = None,
                 augment: Augment | None = None) -> grain.MapDataset:
  """Shuffled, cropped (then `augment`ed, if given), sharded per process, batched; `batch_size` is per
  process."""
  read_frames = augment.frames_to_read(spec.crop_frames) if augment is not None else spec.crop_frames
  usable = [(p, n) for p, n in items if n >= read_frames]
  if len(usable) < len(items):
    log.warning("%d of %d recordings are shorter than the %d frames a crop reads and are not used",
                len(items) - len(usable), len(items), read_frames)
  if not usable:
    raise ValueError(f"no recording is at least {read_frames} frames long (a crop reads that many); use a "
                     "shorter crop")
  source = _CropSource(usable, read, spec, augment, read_frames)
  ds = grain.MapDataset.range(len(source)).seed(seed).shuffle().repeat(num_epochs)
  # Crop before sharding, so an example's random offset depends on its global index, not the process count.
  ds = ds.random_map(source)[shard_index::shard_count]
  return ds.batch(batch_size, drop_remainder=True)


def to_iterator(ds: grain.MapDataset, num_workers: int = 0, buffer_size: int = 2) -> grain.DatasetIterator:
  """A checkpointable iterator that reads ahead while the accelerator trains.

  `num_workers` > 0 reads in that many processes (worth it when reading is expensive); 0 reads in a
  background thread, which avoids inter-process copies (see benchmarks/data_pipeline.py).
  """
  it_ds = ds.to_iter_dataset()
  if num_workers > 0:
    if not flags.FLAGS.is_parsed():
      flags.FLAGS.mark_as_parsed()  # Grain's workers read absl flags; library callers (tests, notebooks) have none
    it_ds = it_ds.mp_prefetch(grain.MultiprocessingOptions(num_workers=num_workers,
                                                           per_worker_buffer_size=buffer_size))
  else:
    it_ds = grain.experimental.ThreadPrefetchIterDataset(it_ds, prefetch_buffer_size=buffer_size)
  return iter(it_ds)


def waveform_crops(dataset_dir: str, split: str, crop_frames: int, *, batch_size: int, seed: int,
                   align: int = 1, shard_index: int = 0, shard_count: int = 1,
                   num_epochs: int | None = None, augment: Augment | None = None) -> grain.MapDataset:
  """Random `{"wave": (batch, crop_frames)}` crops from a prepared dataset (see `manifest.py`), each passed
  through `augment` (e.g. `augment.WaveAugment`) when given."""
  recordings = manifest.load_split(dataset_dir, split)
  items = [(str(manifest.shard_path(dataset_dir, r)), r.frames) for r in recordings]
  return crop_dataset(items, read_wave, CropSpec("wave", crop_frames, align), batch_size=batch_size,
                      seed=seed, shard_index=shard_index, shard_count=shard_count, num_epochs=num_epochs,
                      augment=augment)


def latent_windows(latent_dir: str, split: str, window_frames: int, *, batch_size: int, seed: int,
                   shard_index: int = 0, shard_count: int = 1,
                   num_epochs: int | None = None) -> grain.MapDataset:
  """Random `{"latents": (batch, window_frames, C)}` windows from encoded latents (see `latents.py`)."""
  entries = latent_store.load_split(latent_dir, split)
  items = [(str(Path(latent_dir) / e.shard), e.frames) for e in entries]
  return crop_dataset(items, read_latent, CropSpec("latents", window_frames), batch_size=batch_size,
                      seed=seed, shard_index=shard_index, shard_count=shard_count, num_epochs=num_epochs)
