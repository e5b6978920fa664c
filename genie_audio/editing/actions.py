"""Action timelines of whole recordings: the frozen latent action model run over a long latent in windows.

The LAM was trained on windows of W action steps. A recording's latent (T, C) is cut into windows of W steps
that overlap by half a window; each step takes its code from the window in which it sits most centrally, so
every code is inferred with context on both sides wherever the recording allows. Steps are aligned to the
recording's first latent frame: step s covers latent frames [s R, (s + 1) R). A last partial step (T not a
multiple of R) is completed by repeating the last frame. The same timeline labels the dynamics model's training
data (`label_dataset`: every recording of a latent folder, cached in `data.action_labels`' file) and the
recordings a user edits, so the model is trained on exactly the actions an editor shows.

Dimension keys: B windows, T latent frames, C latent channels, S action steps, R frames per action step.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any, Callable

import jax
import numpy as np
from tqdm import tqdm

from genie_audio.data import action_labels
from genie_audio.data import latents as latent_store
from genie_audio.models.lam import LatentActionModel

PyTree = Any
InferFn = Callable[[PyTree, np.ndarray], jax.Array]  # (params, z_BTC) -> codes (B, S)


def make_infer_fn(model: LatentActionModel) -> InferFn:
  """The jitted encoder + VQ pass of a LAM: (params, latents (B, T, C)) -> codes (B, T / R)."""
  return jax.jit(lambda params, z_BTC: model.apply({"params": params}, z_BTC,
                                                   method=LatentActionModel.infer_actions))


def num_steps(frames: int, frames_per_action: int) -> int:
  """Action steps of a recording of `frames` latent frames (a last partial step counts)."""
  return math.ceil(frames / frames_per_action)


def window_starts(steps: int, window_steps: int) -> np.ndarray:
  """Start steps of half-overlapping windows covering `steps` (the last one ends at the last step)."""
  if steps <= window_steps:
    return np.zeros(1, np.int64)
  hop = max(window_steps // 2, 1)
  starts = list(range(0, steps - window_steps, hop)) + [steps - window_steps]
  return np.asarray(starts, np.int64)


def step_owners(steps: int, starts: np.ndarray, window_steps: int) -> np.ndarray:
  """(S,) index of the window whose centre is nearest to each step's centre (ties: the earlier window)."""
  centres = starts + min(window_steps, steps) / 2.0
  distance = np.abs((np.arange(steps) + 0.5)[:, None] - centres[None, :])
  inside = (np.arange(steps)[:, None] >= starts[None, :]) & (np.arange(steps)[:, None] < starts[None, :]
                                                             + window_steps)
  return np.argmin(np.where(inside, distance, np.inf), axis=1)


def infer_timeline(infer_fn: InferFn, params: PyTree, latents_TC: np.ndarray, frames_per_action: int,
                   window_steps: int, batch_size: int = 8) -> np.ndarray:
  """The action code of every step of a recording, (S,) int32, S = ceil(T / R).

  `infer_fn` is `make_infer_fn(lam)` and `params` the LAM's params. Windows go through in batches of
  exactly `batch_size` (the last one padded by repetition), so a long recording compiles one shape.
  """
  latents_TC = np.asarray(latents_TC, np.float32)
  if latents_TC.ndim != 2 or latents_TC.shape[0] == 0:
    raise ValueError(f"infer_timeline: expected a non-empty latent (T, C), got shape {latents_TC.shape}")
  R = frames_per_action
  S = num_steps(latents_TC.shape[0], R)
  padded = np.concatenate([latents_TC, np.repeat(latents_TC[-1:], S * R - latents_TC.shape[0], axis=0)])
  W = min(window_steps, S)
  starts = window_starts(S, W)
  windows = [padded[s * R:(s + W) * R] for s in starts]
  codes = []
  for i in range(0, len(windows), batch_size):
    group = windows[i:i + batch_size]
    padded_group = group + [group[-1]] * (batch_size - len(group))
    codes.extend(np.asarray(infer_fn(params, np.stack(padded_group)))[:len(group)])
  owners = step_owners(S, starts, W)
  steps = np.arange(S)
  return np.asarray([codes[o][s - starts[o]] for s, o in zip(steps, owners)], np.int32)


def frame_actions(codes_S: np.ndarray, frames_per_action: int, frames: int | None = None) -> np.ndarray:
  """Per-frame actions (T,): each step's code repeated over its R frames, cut to `frames`."""
  actions = np.repeat(np.asarray(codes_S, np.int32), frames_per_action)
  return actions if frames is None else actions[:frames]


def labels_key(latent_dir: str | os.PathLike, source: dict[str, Any], frames_per_action: int,
               window_steps: int) -> dict[str, Any]:
  """What made a set of timelines, the key of the label cache: the LAM (`source`), the latents, R, the window."""
  return dict(source, latent_dir=str(Path(latent_dir).absolute()), frames_per_action=frames_per_action,
              window_steps=window_steps)


def label_dataset(latent_dir: str | os.PathLike, infer_fn: InferFn, params: PyTree, frames_per_action: int,
                  window_steps: int, source: dict[str, Any], cache_path: str | os.PathLike | None = None,
                  batch_size: int = 8, progress: bool = True,
                  take_share: Callable[[list], list] = list) -> action_labels.Labels:
  """Timelines of every recording of a complete latent folder (both splits); cached at `cache_path`.

  `source` describes the LAM (e.g. its workdir and step) and is part of the cache key (`labels_key`).
  `take_share` picks the recordings to label from the folder's list (one process's share of them).
  """
  key = labels_key(latent_dir, source, frames_per_action, window_steps)
  if cache_path is not None:
    cached = action_labels.read_labels(cache_path, key)
    if cached is not None:
      return cached
  if latent_store.read_meta(latent_dir) is None:
    raise FileNotFoundError(f"{latent_dir} holds no complete latents; run python launch/encode.py "
                            f"--workdir TOKENIZER_RUN first")
  entries = take_share(latent_store.read_entries(latent_dir))
  labels = {}
  for entry in tqdm(entries, desc="label actions", unit="rec", disable=not progress, dynamic_ncols=True):
    z_TC = np.load(Path(latent_dir) / entry.shard)
    labels[entry.shard] = infer_timeline(infer_fn, params, z_TC, frames_per_action, window_steps, batch_size)
  if cache_path is not None:
    action_labels.write_labels(cache_path, key, labels)
  return labels
