"""Evaluation of a masked dynamics model as an editor uses it, on fixed validation windows.

Each of N fixed windows (T latent frames, starting on an action-step boundary, round-robin over the validation
recordings at evenly spaced positions) gets one fixed span of n = round(span_fraction * T / R) whole action
steps with context on both sides, and n requested actions drawn uniformly from the A actions (seeded). Every
variant below in-paints the span from the SAME start noise:
  own, guidance 1:    the span's own (labelled) actions     -> inpaint_error (latent MSE on the span) and
                      action_accuracy_own (LAM codes of the result vs the labels)
  null, guidance 0:   no actions (the unconditional model)  -> inpaint_error_unconditional
  requested, w each:  the random requests at guidance w     -> action_accuracy at w (vs chance 1/A)
Accuracies run the LAM on the whole edited window. `action_accuracy_original` runs it on the unedited window:
how often the window-level LAM agrees with the recording-level labels, the ceiling the others can reach.
`level_move_r_*` asks the same of every variant without the LAM (`edit_metrics.level_move_correlation`): do
the level moves of the span follow the requested actions' mean moves (`_original`: the unedited windows)?
`config.edit.action_guidance` > 0 steers every pass but the unconditional one by the LAM (action_guidance.py).
Seams (first `audio_windows` windows): each variant's span is decoded with `margin_seconds` of context and
spliced into the window's original audio exactly as `edit.Editor.edit` does, and `edit_metrics.seam_distances`
compares ±seam_seconds around both span edges with the original audio (the first window's original and variants
are kept in `audio_samples`, which training logs to TensorBoard):
  seam_mel_distance (at w):          the requested edit;
  seam_mel_distance_unedited:        the span re-generated with its own actions (guidance 1): what an edit
                                     that changes nothing costs, the reference an edit's seams should match;
  seam_mel_distance_reconstruction:  the span replaced by the tokenizer's reconstruction of its original
                                     latents (no in-painting): the decoder's own floor.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any, Callable

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from genie_audio.data import latents as latent_store
from genie_audio.data import manifest, pipelines
from genie_audio.data.manifest import SAMPLE_RATE
from genie_audio.editing import actions as actions_lib
from genie_audio.editing import action_guidance, render, requests
from genie_audio.eval import edit_metrics
from genie_audio.models.dynamics import NULL_ACTION, DynamicsModel
from genie_audio.models.lam import LatentActionModel, step_level
from genie_audio.runs import trained_run
from genie_audio.training import sharding as sharding_lib

PyTree = Any


@dataclasses.dataclass(frozen=True)
class EvalWindows:
  latents: np.ndarray     # (N, T, C)
  actions: np.ndarray     # (N, T) labelled actions per frame
  sources: list[tuple[str, int]]  # (latent shard, first frame) of each window
  first_step: np.ndarray  # (N,) first step of each window's span
  span_steps: int         # n
  requested: np.ndarray   # (N, n) requested actions


def fixed_windows(latent_dir: str, labels: dict[str, np.ndarray], config: ml_collections.ConfigDict,
                  window_frames: int, frames_per_action: int, num_actions: int, num_windows: int | None = None
                  ) -> EvalWindows:
  """The fixed evaluation windows, spans and requests (deterministic for the config and `num_windows`,
  default `config.eval.num_windows`)."""
  e, T, R = config.eval, window_frames, frames_per_action
  N = num_windows or e.num_windows
  entries = [x for x in latent_store.load_split(latent_dir, e.split) if x.frames >= T]
  if not entries:
    raise ValueError(f"{latent_dir}: no {e.split} recording is at least {T} latent frames long")
  per_entry = math.ceil(N / len(entries))
  latents, frame_actions, sources = [], [], []
  for i in range(N):
    entry, k = entries[i % len(entries)], i // len(entries)
    start = (entry.frames - T) * (2 * k + 1) // (2 * per_entry)
    start -= start % R
    latents.append(pipelines.read_latent(str(Path(latent_dir) / entry.shard), start, T))
    frame_actions.append(actions_lib.frame_actions(labels[entry.shard], R)[start:start + T])
    sources.append((entry.shard, start))
  S = T // R
  n = min(max(1, round(e.span_fraction * S)), max(S - 2, 1))
  rng = np.random.default_rng(e.seed)
  low, high = (1, S - n) if S - n >= 2 else (0, S - n + 1)  # context on both sides where the window allows
  first = rng.integers(low, high, size=N)
  requested = rng.integers(0, num_actions, size=(N, n)).astype(np.int32)
  return EvalWindows(np.stack(latents), np.stack(frame_actions).astype(np.int32), sources, first, n, requested)


class DynamicsEvaluator:
  """Holds the fixed windows, the frozen LAM and the jitted passes; `__call__` returns host-side metrics."""

  def __init__(self, config: ml_collections.ConfigDict, model: DynamicsModel, lam: trained_run.TrainedRun,
               latent_dir: str, labels: dict[str, np.ndarray], tokenizer: Callable[[], trained_run.TrainedRun],
               num_windows: int | None = None):
    self.config, self.model, self.lam, self.latent_dir = config, model, lam, latent_dir
    self.frames_per_action = lam.config.model.frames_per_action
    self.num_actions = lam.config.model.num_actions
    self.windows = fixed_windows(latent_dir, labels, config, config.data.window_frames, self.frames_per_action,
                                 self.num_actions, num_windows)
    self._tokenizer = tokenizer
    self._fn = None
    self._lam_params = None
    self._waves: dict[str, tuple[str, int]] | None = None  # shard stem -> (waveform path, samples)
    self.audio_samples: dict[str, np.ndarray] = {}  # the first window's audio from the last `seams` (TensorBoard)

  def guidance_scales(self) -> list[float]:
    scales = [float(g) for g in self.config.eval.guidance_scales]
    headline = float(self.config.edit.guidance_scale)
    return scales if headline in scales else sorted(scales + [headline])

  def _compile(self, params: PyTree):
    model, lam = self.model, self.lam.model

    pull = requests.run_action_guidance(self.config.edit)

    def run(params, lam_params, z_BTC, mask_BT, actions_BT, rng, guidance, num_steps):
      # Action guidance pulls towards the requested codes: not for the unconditional (null-action) pass.
      guide = action_guidance.ActionGuide(lam, lam_params, pull) if pull > 0 else None
      out = render.inpaint_window(model, params, z_BTC, mask_BT, actions_BT, rng, guidance,
                                  requests.run_guidance_max_t(self.config.edit), num_steps=num_steps,
                                  method=self.config.edit.method, action_guide=guide)
      # The LAM reads the result and the original in one batch: (B, S) codes of each.
      codes = lam.apply({"params": lam_params}, jnp.concatenate([out, z_BTC]),
                        method=LatentActionModel.infer_actions)
      return out, *jnp.split(codes, 2)

    # Training: params live on the run's mesh, each device in-paints its share of the windows and the results
    # come back whole on every device.
    mesh = sharding_lib.mesh_of(params)
    replicated = sharding_lib.replicated(mesh) if mesh is not None else None
    self._fn = (jax.jit(run, static_argnames="num_steps", out_shardings=replicated), mesh)
    self._lam_params = (sharding_lib.put_replicated(self.lam.params, replicated) if replicated
                        else jax.device_put(self.lam.params))

  def _passes(self, params, z, mask, actions, guidance, num_steps, seed):
    """(in-painted latents, LAM codes of them, LAM codes of the originals) of all windows for one variant,
    in fixed-size padded batches."""
    fn, mesh = self._fn
    bs, n = self.config.eval.batch_size, len(z)
    if mesh is not None:
      bs = sharding_lib.whole_per_device(bs, mesh)
    outs, codes, original_codes = [], [], []
    for index, i in enumerate(range(0, n, bs)):
      parts = [a[i:i + bs] for a in (z, mask, actions)]
      valid = len(parts[0])
      parts = [np.concatenate([p, np.repeat(p[-1:], bs - valid, axis=0)]) for p in parts]
      shared = (jax.random.fold_in(jax.random.key(seed), index), np.float32(guidance))
      if mesh is not None:
        parts = [sharding_lib.put_split(p, mesh) for p in parts]
        shared = sharding_lib.put_replicated(shared, sharding_lib.replicated(mesh))
      args = (*parts, *shared)
      out, code, original_code = jax.device_get(fn(params, self._lam_params, *args, num_steps=num_steps))
      outs.append(out[:valid])
      codes.append(code[:valid])
      original_codes.append(original_code[:valid])
    return np.concatenate(outs), np.concatenate(codes), np.concatenate(original_codes)

  def __call__(self, params: PyTree, *, audio: bool, num_steps: int | None = None, seed: int | None = None
               ) -> dict[str, Any]:
    if self._fn is None:
      self._compile(params)
    w, R = self.windows, self.frames_per_action
    num_steps = int(num_steps or self.config.edit.num_steps)
    seed = self.config.eval.seed if seed is None else int(seed)
    N, T = w.actions.shape
    steps_NS = w.first_step[:, None] + np.arange(w.span_steps)[None]          # span steps (N, n)
    mask = np.zeros((N, T), bool)
    for i, s in enumerate(w.first_step):
      mask[i, s * R:(s + w.span_steps) * R] = True
    requested_frames = w.actions.copy()
    requested_frames[mask] = np.repeat(w.requested, R, axis=1).reshape(-1)
    span_error = lambda out: float(np.sum(np.square(out - w.latents) * mask[..., None])
                                   / (mask.sum() * w.latents.shape[-1]))
    pick = lambda codes: np.take_along_axis(codes, steps_NS, axis=1)

    own, own_codes, original_codes = self._passes(params, w.latents, mask, w.actions, 1.0, num_steps, seed)
    null, _, _ = self._passes(params, w.latents, mask, np.full_like(w.actions, NULL_ACTION), 0.0, num_steps, seed)
    labels_Nn = pick(w.actions[:, ::R])  # the span's own actions (its recording's timeline)
    # The level moves, measured without the LAM (edit_metrics): each action's mean move on the unedited windows.
    direction_C = edit_metrics.first_component(w.latents)
    levels = lambda z: np.asarray(step_level(jnp.asarray(z), direction_C, R), np.float64)
    expected_A = edit_metrics.expected_moves(levels(w.latents), w.actions[:, ::R], self.num_actions)
    level_r = lambda z, requested: edit_metrics.level_move_correlation(levels(z), steps_NS, requested, expected_A)
    metrics: dict[str, Any] = {
        "inpaint_error": span_error(own), "inpaint_error_unconditional": span_error(null),
        "action_accuracy_own": edit_metrics.action_accuracy(labels_Nn, pick(own_codes)),
        "action_accuracy_original": edit_metrics.action_accuracy(labels_Nn, pick(original_codes)),
        "level_move_r_original": level_r(w.latents, labels_Nn), "level_move_r_own": level_r(own, labels_Nn),
        "chance": 1.0 / self.num_actions}
    edited = {}
    for g in self.guidance_scales():
      out, codes, _ = self._passes(params, w.latents, mask, requested_frames, g, num_steps, seed)
      metrics[f"action_accuracy_g{g:g}"] = edit_metrics.action_accuracy(w.requested, pick(codes))
      metrics[f"level_move_r_g{g:g}"] = level_r(out, w.requested)
      edited[g] = out
    if audio:
      metrics.update(self.seams(own, edited, mask, seed))
    return metrics

  def seams(self, own: np.ndarray, edited: dict[float, np.ndarray], mask: np.ndarray, seed: int
            ) -> dict[str, float]:
    """Seam distances of the first `audio_windows` windows (see the module docstring)."""
    tokenizer, e, w, R = self._tokenizer(), self.config.eval, self.windows, self.frames_per_action
    stride = tokenizer.model.total_stride
    settings = requests.decode_settings(tokenizer)
    margin = max(1, round(self.config.edit.margin_seconds * SAMPLE_RATE / stride))
    level_match = requests.run_level_match(self.config.edit)  # as the editor renders
    fade = round(self.config.edit.crossfade_seconds * SAMPLE_RATE)
    half = round(e.seam_seconds * SAMPLE_RATE)
    variants = {"reconstruction": w.latents, "unedited": own, **{f"g{g:g}": out for g, out in edited.items()}}
    distances = {name: [] for name in variants}
    for i in range(min(e.audio_windows, len(w.latents))):
      original = self._window_audio(*w.sources[i], w.latents.shape[1] * stride, stride)
      f0, f1 = w.first_step[i] * R, (w.first_step[i] + w.span_steps) * R
      span = requests.Span(f0 * stride, f1 * stride, w.first_step[i], w.first_step[i] + w.span_steps)
      for name, latents in variants.items():
        out = render.render(tokenizer, settings, original, latents[i], span, (f0, f1), margin, fade, seed + i,
                            level_match=level_match)
        distances[name].extend(edit_metrics.seam_distances(original, out, span.start, span.end, half))
        if i == 0:
          self.audio_samples[f"eval/dyn/audio_{name}"] = out
      if i == 0:
        self.audio_samples["eval/dyn/audio_original"] = original
    return {f"seam_mel_distance_{name}": float(np.mean(d)) for name, d in distances.items()}

  def _window_audio(self, shard: str, first_frame: int, length: int, stride: int) -> np.ndarray:
    """The prepared waveform under a latent window (zero-padded past the recording's end)."""
    if self._waves is None:
      meta = latent_store.read_meta(self.latent_dir)
      dataset_dir = meta["dataset_dir"]
      self._waves = {Path(r.shard).stem: (str(manifest.shard_path(dataset_dir, r)), r.frames)
                     for r in manifest.read_manifest(dataset_dir)}
    path, frames = self._waves[Path(shard).stem]
    start = first_frame * stride
    wave = np.zeros(length, np.float32)
    available = max(0, min(length, frames - start))
    if available:
      wave[:available] = pipelines.read_wave(path, start, available)
    return wave
