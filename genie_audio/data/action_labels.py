"""Action labels of a latent dataset: their cache file, and the Grain pipeline of latent windows with their
per-frame actions.

Every recording's action timeline comes from the frozen LAM (`editing.actions.label_dataset`), the same timeline
an editor shows for that recording. Timelines are small (one int per action step), so all of them live in
memory; they are cached in one .npz file with a description of what made them (LAM run and step, latent folder,
R, window): `read_labels` returns None for a cache made by anything else. `write_labels` replaces the file
atomically, so a process reading it never sees half a file.

Batches: {"latents": float32 (B, T, C), "actions": int32 (B, T)}; windows start on action-step boundaries, as
the edit workflow's windows do.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

import grain
import numpy as np

from genie_audio.data import latents as latent_store
from genie_audio.data import pipelines

log = logging.getLogger(__name__)

Labels = dict[str, np.ndarray]  # latent shard path (relative to the latent folder) -> (S,) int32 codes


def read_labels(path: str | os.PathLike, key: dict[str, Any]) -> Labels | None:
  """The timelines cached at `path` if they were made as `key` describes (LAM, latents, R, window), else None."""
  if not Path(path).exists():
    return None
  with np.load(path, allow_pickle=False) as cached:
    if json.loads(str(cached["meta"])) != key:
      log.info("%s was made by another LAM or latent folder", path)
      return None
    return {name: cached[f"codes{i}"] for i, name in enumerate(json.loads(str(cached["shards"])))}


def write_labels(path: str | os.PathLike, key: dict[str, Any], labels: Labels) -> None:
  """Writes the timelines and their `key` to `path`, atomically (a reader never sees half a file)."""
  tmp = Path(path).with_name(f".{Path(path).name}.{os.getpid()}.tmp.npz")
  names = list(labels)
  np.savez(tmp, meta=json.dumps(key, sort_keys=True), shards=json.dumps(names),
           **{f"codes{i}": labels[name] for i, name in enumerate(names)})
  os.replace(tmp, path)


class _WindowReader:
  """Reads a latent crop and the actions of its frames; picklable for Grain workers."""

  def __init__(self, labels_by_path: dict[str, np.ndarray], frames_per_action: int):
    self.labels = labels_by_path
    self.frames_per_action = frames_per_action

  def __call__(self, path: str, start: int, length: int) -> dict[str, np.ndarray]:
    steps = np.arange(start, start + length) // self.frames_per_action
    return {"latents": pipelines.read_latent(path, start, length),
            "actions": self.labels[path][steps].astype(np.int32)}


def _unwrap(batch: dict[str, Any]) -> dict[str, np.ndarray]:
  return batch["window"]


def labelled_windows(latent_dir: str | os.PathLike, split: str, labels: Labels, frames_per_action: int,
                     window_frames: int, *, batch_size: int, seed: int, shard_index: int = 0,
                     shard_count: int = 1, num_epochs: int | None = None) -> grain.MapDataset:
  """Random step-aligned windows {"latents": (B, T, C), "actions": (B, T)} of one split."""
  entries = latent_store.load_split(latent_dir, split)
  missing = [e.shard for e in entries if e.shard not in labels]
  if missing:
    raise ValueError(f"{latent_dir}: no action labels for {len(missing)} recordings (e.g. {missing[0]}); "
                     f"delete the label cache to relabel")
  items = [(str(Path(latent_dir) / e.shard), e.frames) for e in entries]
  reader = _WindowReader({str(Path(latent_dir) / e.shard): labels[e.shard] for e in entries}, frames_per_action)
  ds = pipelines.crop_dataset(items, reader, pipelines.CropSpec("window", window_frames, align=frames_per_action),
                              batch_size=batch_size, seed=seed, shard_index=shard_index,
                              shard_count=shard_count, num_epochs=num_epochs)
  return ds.map(_unwrap)
