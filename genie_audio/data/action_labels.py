"""Action labels of a latent dataset, and the Grain pipeline of latent windows with their per-frame actions.

Every recording's action timeline comes from the frozen LAM (`editing.actions.infer_timeline`: half-overlapping
LAM windows over the whole recording, steps aligned to its first frame), the same timeline an editor shows for
that recording. Timelines are small (one int per action step), so all of them live in memory; they are cached in
one .npz file with a description of what made them (LAM run and step, latent folder, K, window), and a cache
made by anything else is recomputed. The file is replaced atomically, so processes that each compute it never
read half a file.

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
from tqdm import tqdm

from genie_audio.data import latents as latent_store
from genie_audio.data import pipelines
from genie_audio.editing import actions

log = logging.getLogger(__name__)

PyTree = Any
Labels = dict[str, np.ndarray]  # latent shard path (relative to the latent folder) -> (S,) int32 codes


def label_dataset(latent_dir: str | os.PathLike, infer_fn: actions.InferFn, params: PyTree,
                  frames_per_action: int, window_steps: int, source: dict[str, Any],
                  cache_path: str | os.PathLike | None = None, batch_size: int = 8, progress: bool = True
                  ) -> Labels:
  """Timelines of every recording of a complete latent folder (both splits); cached at `cache_path`.

  `source` describes the LAM (e.g. its workdir and step) and is part of the cache key.
  """
  key = dict(source, latent_dir=str(Path(latent_dir).absolute()), frames_per_action=frames_per_action,
             window_steps=window_steps)
  if cache_path is not None and Path(cache_path).exists():
    with np.load(cache_path, allow_pickle=False) as cached:
      if json.loads(str(cached["meta"])) == key:
        return {name: cached[f"codes{i}"] for i, name in enumerate(json.loads(str(cached["shards"])))}
    log.info("%s was made by another LAM or latent folder; relabelling", cache_path)
  if latent_store.read_meta(latent_dir) is None:
    raise FileNotFoundError(f"{latent_dir} holds no complete latents; run python launch/encode.py "
                            f"--workdir TOKENIZER_RUN first")
  entries = latent_store.read_entries(latent_dir)
  labels = {}
  for entry in tqdm(entries, desc="label actions", unit="rec", disable=not progress, dynamic_ncols=True):
    z_TC = np.load(Path(latent_dir) / entry.shard)
    labels[entry.shard] = actions.infer_timeline(infer_fn, params, z_TC, frames_per_action, window_steps,
                                                 batch_size)
  if cache_path is not None:
    tmp = Path(cache_path).with_name(f".{Path(cache_path).name}.{os.getpid()}.tmp.npz")
    names = list(labels)
    np.savez(tmp, meta=json.dumps(key, sort_keys=True), shards=json.dumps(names),
             **{f"codes{i}": labels[name] for i, name in enumerate(names)})
    os.replace(tmp, cache_path)
  return labels


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
