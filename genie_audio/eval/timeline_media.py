"""The action-timeline figure that the latent action model logs to TensorBoard while it trains.

One validation clip (a middle stretch of the split's first recording: its prepared audio and its latents) is
read once; at every evaluation the current params label it (`actions.infer_timeline`, as the editor does) and
the figure shows that timeline over the clip's spectrogram (`plots.timeline_figure`), so one can watch the
actions settle onto musical events. Without audio for the split (e.g. latents copied without their dataset)
there is no figure, and a warning says why.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import jax
import numpy as np

from genie_audio.data import latents as latent_store
from genie_audio.data import manifest, pipelines
from genie_audio.data.manifest import SAMPLE_RATE
from genie_audio.editing import actions as actions_lib
from genie_audio.eval import plots
from genie_audio.models.lam import LatentActionModel
from genie_audio.training import sharding as sharding_lib

log = logging.getLogger(__name__)

PyTree = Any
TAG = "lam/action_timeline"


def read_clip(latent_dir: str, split: str, seconds: float, frames_per_action: int
              ) -> tuple[str, int, np.ndarray, np.ndarray] | None:
  """(name, first frame, latents (T, C), wave (T * stride,)) of a middle stretch of at most `seconds` of the
  split's first recording that has audio, starting on an action step; None (with a warning) if none does."""
  meta = latent_store.read_meta(latent_dir) or {}
  dataset_dir = meta.get("dataset_dir")
  try:
    entries = latent_store.load_split(latent_dir, split)
    audio = {Path(r.shard).stem: r for r in manifest.read_manifest(dataset_dir)} if dataset_dir else {}
  except (FileNotFoundError, ValueError) as e:
    log.warning("no action-timeline figure: %s", e)
    return None
  stride = int(round(SAMPLE_RATE / meta["frame_rate"]))
  for entry in entries:
    recording = audio.get(Path(entry.shard).stem)
    if recording is None:
      continue
    frames = min(entry.frames, recording.frames // stride, int(seconds * meta["frame_rate"]))
    frames -= frames % frames_per_action
    if frames < frames_per_action:
      continue
    first = (min(entry.frames, recording.frames // stride) - frames) // 2
    first -= first % frames_per_action
    z_TC = pipelines.read_latent(str(Path(latent_dir) / entry.shard), first, frames)  # thread-safe header read
    wave = pipelines.read_wave(str(manifest.shard_path(dataset_dir, recording)), first * stride, frames * stride)
    return entry.source, first, z_TC, wave
  log.warning("no action-timeline figure: no %s recording of %s has its audio in %r", split, latent_dir,
              dataset_dir)
  return None


class TimelineFigure:
  """Call with the LAM's params (sharded or not) -> {TAG: matplotlib Figure}, or {} without a clip."""

  def __init__(self, model: LatentActionModel, latent_dir: str, *, frames_per_action: int, window_steps: int,
               num_actions: int, split: str = "validation", seconds: float = 8.0):
    self.model, self.latent_dir, self.split, self.seconds = model, latent_dir, split, seconds
    self.frames_per_action, self.window_steps, self.num_actions = frames_per_action, window_steps, num_actions
    self._clip: tuple | None | bool = False   # False: not read yet
    self._infer = None

  def clip(self) -> tuple | None:
    if self._clip is False:
      self._clip = read_clip(self.latent_dir, self.split, self.seconds, self.frames_per_action)
    return self._clip

  def _infer_fn(self, params: PyTree):
    infer = lambda p, z_BTC: self.model.apply({"params": p}, z_BTC, method=LatentActionModel.infer_actions)
    mesh = sharding_lib.mesh_of(params)
    if mesh is None:
      return jax.jit(infer)
    # Sharded params: inputs and codes replicated on their mesh (every process gets the whole timeline).
    replicated = sharding_lib.replicated(mesh)
    jitted = jax.jit(infer, out_shardings=replicated)
    return lambda p, z_BTC: jitted(p, sharding_lib.put_replicated(z_BTC, replicated))

  def __call__(self, params: PyTree) -> dict[str, Any]:
    clip = self.clip()
    if clip is None:
      return {}
    if self._infer is None:
      self._infer = self._infer_fn(params)
    name, first, z_TC, wave = clip
    codes = actions_lib.infer_timeline(self._infer, params, z_TC, self.frames_per_action, self.window_steps)
    step_seconds = len(wave) / SAMPLE_RATE / len(codes)
    start_s = first * len(wave) / SAMPLE_RATE / len(z_TC)
    figure = plots.timeline_figure(wave, codes, step_seconds, self.num_actions, start_s=start_s,
                                   title=f"{name}: actions of {len(codes)} steps")
    return {TAG: figure}
