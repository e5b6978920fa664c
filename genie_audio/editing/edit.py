"""The edit workflow: infer a recording's action timeline, re-write a span with other actions, splice it back.

    editor = Editor.load("runs/dynamics")                # tokenizer, LAM and dynamics model of one run
    timeline = editor.infer_actions(wave)                # the action of every step, with its times
    result = editor.edit(wave, 12.5, 15.0, actions=[3, 3, 5, 5, ...])   # or actions_from=other, resample=True
    result.wave                                          # == wave outside [12.5 s, 15.0 s), sample for sample

`edit` (waves are 16 kHz mono float; `codec.load_audio` reads any file into that form):
  1. validate the span and the requested actions (cheap, before any model runs);
  2. encode the whole recording (chunked, exact: `codec.encode_long`) at the loudness the tokenizer trained at
     (times `codec.training_level_gain`, as `codec.reconstruct` does: a quiet or loud file is otherwise coded
     off the training distribution) and infer its timeline with the LAM;
  3. the span [start, end) covers action steps s0..s1-1 (steps are aligned to the recording's start, R latent
     frames each), i.e. latent frames [s0 R, s1 R); those frames get the requested actions, every other frame
     keeps its inferred one;
  4. in-paint those frames with the dynamics model (ODE over the span only, classifier-free guidance), inside a
     window of the model's training length around the span when the recording is longer than that (a span
     longer than one window is written left to right in windows whose first half is context: `plan_windows`);
  5. decode only the re-generated frames plus a margin of context frames each side (`codec.decode_long`) and
     divide them by that gain, back to the recording's own level;
  6. splice the decoded audio into the ORIGINAL waveform over [start, end) exactly, with equal-power
     crossfades inside the span at its seams (`splice.splice`): outside the span nothing changes.
Invalid requests raise `EditError` (a ValueError) naming the problem before any work is done.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import os
import time
from typing import Any, Callable, Sequence

import jax
import numpy as np

from genie_audio import codec
from genie_audio.data.manifest import SAMPLE_RATE
from genie_audio.editing import actions as actions_lib
from genie_audio.editing import inpainting, splice
from genie_audio.models.dynamics import DynamicsModel
from genie_audio.runs import trained_run

PyTree = Any


class EditError(ValueError):
  """An edit request that cannot be carried out (bad span, unknown action, wrong count, bad input)."""


@dataclasses.dataclass(frozen=True)
class Timeline:
  """The action of every step of a recording; step s spans [s, s + 1) * step_seconds (cut at the end)."""
  codes: np.ndarray      # (S,) int32
  step_seconds: float
  duration_s: float

  def __len__(self) -> int:
    return len(self.codes)

  def rows(self) -> list[dict[str, Any]]:
    return [dict(step=s, start_s=round(s * self.step_seconds, 4),
                 end_s=round(min((s + 1) * self.step_seconds, self.duration_s), 4), action=int(a))
            for s, a in enumerate(self.codes)]


@dataclasses.dataclass(frozen=True)
class Span:
  """A user span in samples [start, end) and the action steps [first_step, end_step) that cover it."""
  start: int
  end: int
  first_step: int
  end_step: int

  @property
  def num_steps(self) -> int:
    return self.end_step - self.first_step


@dataclasses.dataclass(frozen=True)
class DecodeSettings:
  num_steps: int
  method: str
  chunk_frames: int
  overlap_frames: int


@dataclasses.dataclass(frozen=True)
class EditResult:
  wave: np.ndarray       # (num_samples,) float32, 16 kHz
  info: dict[str, Any]   # what was done: span, steps, actions before/after, settings, seconds per stage


def check_wave(wave: Any, name: str = "wave") -> np.ndarray:
  """A non-empty finite mono waveform as float32, or an EditError naming `name`."""
  try:
    wave = np.asarray(wave, np.float32)
  except (TypeError, ValueError):
    raise EditError(f"{name} is not audio: expected a mono waveform (T,) of floats") from None
  if wave.ndim != 1 or wave.size == 0:
    raise EditError(f"{name} is not a mono waveform: expected shape (T,) with T > 0, got {wave.shape}")
  if not np.all(np.isfinite(wave)):
    raise EditError(f"{name} holds {int(np.sum(~np.isfinite(wave)))} NaN/inf samples")
  return wave


def inpaint_window(model: DynamicsModel, params: PyTree, z_BTC: jax.Array, mask_BT: jax.Array,
                   actions_BT: jax.Array, rng: jax.Array, guidance_scale: jax.Array, guidance_max_t: jax.Array,
                   *, num_steps: int, method: str) -> jax.Array:
  """In-paints the masked frames of latent windows with per-frame actions (pure; jit it)."""
  return inpainting.inpaint(model.apply, {"params": params}, z_BTC, mask_BT, actions_BT, rng,
                            num_steps=num_steps, guidance_scale=guidance_scale, guidance_max_t=guidance_max_t,
                            method=method)


def make_inpaint_fn(model: DynamicsModel) -> Callable[..., jax.Array]:
  """Jitted `inpaint_window` for one model; num_steps and method static.

  The guidance scale and interval are traced (one compiled program for every setting; the sampler then always
  runs the conditional and unconditional passes as one doubled batch).
  """
  return jax.jit(functools.partial(inpaint_window, model), static_argnames=("num_steps", "method"))


def choose_window(total_frames: int, window_frames: int, first: int, end: int, align: int) -> tuple[int, int]:
  """(start, length) of the in-painting window: the model's length (or the whole recording if shorter),
  centred on frames [first, end) where the recording allows, starting on a step boundary where possible."""
  length = min(window_frames, total_frames)
  lo, hi = max(0, end - length), min(first, total_frames - length)
  if lo > hi:
    raise ValueError(f"choose_window: frames [{first}, {end}) do not fit a window of {length}")
  start = min(max((first + end - length) // 2, lo), hi)
  if start - start % align >= lo:
    start -= start % align
  return start, length


def plan_windows(total_frames: int, window_frames: int, first: int, end: int, align: int
                 ) -> list[tuple[int, int, int]]:
  """In-painting windows (start, part start, part end) that re-write frames [first, end) in order.

  A span that fits one window gets one (`choose_window`). A longer one is written left to right in windows of
  the model's length whose first half (step-aligned) is context: already written frames or the original
  before the span. Each window generates every span frame it holds (frames still to be replaced are never
  context), so it generates about half of itself, like the spans the model trained on (all of itself only
  when the span starts at the recording's start); the last window also sees the original frames after the
  span, so the edit joins the recording on both sides.
  """
  length = min(window_frames, total_frames)
  if end - first <= length:
    return [(choose_window(total_frames, window_frames, first, end, align)[0], first, end)]
  context = max(align, length // 2 // align * align)
  windows, pos = [], first
  while pos < end:
    start = max(0, pos - context)
    start = min(start - start % align, total_frames - length)
    part_end = min(end, start + length)
    windows.append((start, pos, part_end))
    pos = part_end
  return windows


def encode_at_training_level(tokenizer: trained_run.TrainedRun, wave: np.ndarray) -> tuple[np.ndarray, float]:
  """(normalised latent (T, C), gain): `wave` encoded whole at the loudness of the tokenizer's training data
  (times `gain = codec.training_level_gain(wave)`); audio decoded from it, divided by `gain`, is back at the
  recording's own level."""
  gain = codec.training_level_gain(wave)
  encoded = codec.encode_long(tokenizer.model, tokenizer.params, np.asarray(wave, np.float32) * np.float32(gain))
  return encoded.latents, gain


def render(tokenizer: trained_run.TrainedRun, settings: DecodeSettings, original_T: np.ndarray, latents_TC: np.ndarray,
           span: Span, frames: tuple[int, int], margin_frames: int, fade: int, seed: int,
           gain: float = 1.0) -> np.ndarray:
  """Decodes latent frames [frames) plus `margin_frames` each side, divides them by the `gain` the latents
  were encoded at, and splices [span.start, span.end) of the result into `original_T`; every sample outside
  the span is the original's."""
  stride = tokenizer.model.total_stride
  r0, r1 = max(0, frames[0] - margin_frames), min(latents_TC.shape[0], frames[1] + margin_frames)
  decoded = codec.decode_long(tokenizer.model, tokenizer.params, latents_TC[r0:r1], seed,
                              num_steps=settings.num_steps, method=settings.method,
                              chunk_frames=settings.chunk_frames, overlap_frames=settings.overlap_frames)
  return splice.splice(original_T, decoded / np.float32(gain), span.start, span.end, fade,
                       generated_offset=r0 * stride)


def run_guidance_max_t(edit_config) -> float:
  """The run's guidance interval bound (runs from before the interval extrapolated at every noise level)."""
  return float(edit_config.get("guidance_max_t", 1.0))


def decode_settings(tokenizer: trained_run.TrainedRun) -> DecodeSettings:
  """The tokenizer run's own evaluation settings for decoding whole recordings."""
  e = tokenizer.config.eval
  return DecodeSettings(e.sampler_steps, e.method, codec.seconds_to_frames(tokenizer.model, e.chunk_seconds),
                        codec.seconds_to_frames(tokenizer.model, e.overlap_seconds))


class Editor:
  """A dynamics run and its LAM and tokenizer runs, with their params on device and jitted functions, cached."""

  def __init__(self, dynamics: trained_run.TrainedRun, lam: trained_run.TrainedRun, tokenizer: trained_run.TrainedRun):
    put = lambda trained: dataclasses.replace(trained, params=jax.device_put(trained.params))  # one transfer
    self.dynamics, self.lam, self.tokenizer = put(dynamics), put(lam), put(tokenizer)
    self.frames_per_action = lam.config.model.frames_per_action
    self.num_actions = lam.config.model.num_actions
    self.lam_window_steps = lam.config.data.window_frames // self.frames_per_action
    self.window_frames = dynamics.config.data.window_frames
    self.stride = tokenizer.model.total_stride
    self.frame_rate = SAMPLE_RATE / self.stride
    self.step_seconds = self.frames_per_action / self.frame_rate
    self.edit_defaults = dynamics.config.edit
    self.decode = decode_settings(tokenizer)
    self._infer = actions_lib.make_infer_fn(lam.model)
    self._inpaint = make_inpaint_fn(dynamics.model)

  @classmethod
  def load(cls, workdir: str | os.PathLike) -> "Editor":
    """The editor of a finished dynamics run (its upstream LAM and tokenizer runs found through its config)."""
    trained_run.check_run(workdir, "dynamics", "--workdir", trained_run.DYNAMICS_COMMAND)
    dynamics = trained_run.load(workdir)
    lam = trained_run.load_lam(dynamics.config.init.lam.workdir, f"{workdir}'s config.init.lam.workdir")
    return cls(dynamics, lam, trained_run.load_tokenizer(trained_run.lam_latent_dir(lam)))

  # ---------------------------------------------------------------------------------------------- actions

  def encode(self, wave: np.ndarray) -> np.ndarray:
    """A whole recording's normalised latent (T, C), coded at the training loudness
    (`encode_at_training_level`)."""
    return encode_at_training_level(self.tokenizer, check_wave(wave))[0]

  def timeline_of(self, latents_TC: np.ndarray) -> np.ndarray:
    return actions_lib.infer_timeline(self._infer, self.lam.params, latents_TC, self.frames_per_action,
                                      self.lam_window_steps)

  def infer_actions(self, wave: np.ndarray) -> Timeline:
    """The action timeline of a recording (16 kHz mono)."""
    wave = check_wave(wave)
    return Timeline(self.timeline_of(self.encode(wave)), self.step_seconds, len(wave) / SAMPLE_RATE)

  def num_steps(self, num_samples: int) -> int:
    return actions_lib.num_steps(math.ceil(num_samples / self.stride), self.frames_per_action)

  # ------------------------------------------------------------------------------------------------- spans

  def plan_span(self, num_samples: int, start_s: float, end_s: float) -> Span:
    """The span in samples and the action steps covering it, or an EditError saying what is wrong."""
    duration = num_samples / SAMPLE_RATE
    if not (math.isfinite(start_s) and math.isfinite(end_s)):
      raise EditError(f"span {start_s}-{end_s} s: start and end must be finite numbers of seconds")
    if start_s >= end_s:
      raise EditError(f"span {start_s}-{end_s} s is empty: start must be before end")
    if start_s < 0 or end_s > duration + 0.5 / SAMPLE_RATE:
      raise EditError(f"span {start_s}-{end_s} s is out of range: the recording lasts {duration:.3f} s")
    start, end = int(round(start_s * SAMPLE_RATE)), min(int(round(end_s * SAMPLE_RATE)), num_samples)
    if end <= start:
      raise EditError(f"span {start_s}-{end_s} s is empty: it is shorter than one sample")
    samples_per_step = self.stride * self.frames_per_action
    return Span(start, end, start // samples_per_step, -(-end // samples_per_step))

  def check_actions(self, requested: Sequence[int], span: Span) -> np.ndarray:
    """The requested actions as int32, or an EditError naming a wrong count or an unknown id."""
    try:
      values = np.asarray([int(a) for a in requested], np.int32)
    except (TypeError, ValueError):
      raise EditError(f"actions must be integers, got {requested!r}") from None
    if len(values) != span.num_steps:
      raise EditError(
          f"{len(values)} actions given, but the span covers {span.num_steps} action steps "
          f"({span.first_step * self.step_seconds:g}-{span.end_step * self.step_seconds:g} s at "
          f"{self.step_seconds:g} s per step): give exactly {span.num_steps}")
    bad = [int(a) for a in values if not 0 <= a < self.num_actions]
    if bad:
      raise EditError(f"unknown action id {bad[0]}: ids are 0..{self.num_actions - 1} "
                      f"(this model has {self.num_actions} actions)")
    return values

  # -------------------------------------------------------------------------------------------------- edit

  def edit(self, wave: np.ndarray, start_s: float, end_s: float, *, actions: Sequence[int] | None = None,
           actions_from: np.ndarray | None = None, actions_from_start_s: float | None = None,
           resample: bool = False, guidance_scale: float | None = None, guidance_max_t: float | None = None,
           num_steps: int | None = None, seed: int = 0) -> EditResult:
    """Re-writes [start_s, end_s) of `wave` with `actions` (one per action step of the span), the actions of
    `actions_from` (another recording, from `actions_from_start_s`, default start_s), or with its own actions
    (`resample=True`: a new variation); see the module docstring."""
    wave = check_wave(wave)
    span = self.plan_span(len(wave), float(start_s), float(end_s))
    if sum([actions is not None, actions_from is not None, bool(resample)]) != 1:
      raise EditError("say which actions the span gets: exactly one of actions=[...], actions_from=<another "
                      "recording> or resample=True")
    requested = self.check_actions(actions, span) if actions is not None else None
    other = check_wave(actions_from, "actions_from") if actions_from is not None else None
    guidance = float(self.edit_defaults.guidance_scale if guidance_scale is None else guidance_scale)
    max_t = run_guidance_max_t(self.edit_defaults) if guidance_max_t is None else float(guidance_max_t)
    steps = int(self.edit_defaults.num_steps if num_steps is None else num_steps)
    if steps < 1 or not math.isfinite(guidance):
      raise EditError(f"need num_steps >= 1 and a finite guidance scale, got {steps} and {guidance}")
    if not 0 <= max_t <= 1:
      raise EditError(f"guidance_max_t={max_t}: the guidance interval's upper noise level must be in [0, 1]")
    seconds = {}

    clock = time.perf_counter()
    z_TC, gain = encode_at_training_level(self.tokenizer, wave)
    seconds["encode"] = time.perf_counter() - clock
    clock = time.perf_counter()
    codes = self.timeline_of(z_TC)
    if other is not None:
      source = self.timeline_of(self.encode(other))
      first = span.first_step if actions_from_start_s is None else int(actions_from_start_s / self.step_seconds)
      if not 0 <= first <= len(source) - span.num_steps:
        raise EditError(f"actions_from has {len(source)} action steps; the span needs {span.num_steps} of them "
                        f"from step {first} ({first * self.step_seconds:g} s): choose an earlier "
                        f"actions_from_start_s or a longer recording")
      requested = source[first:first + span.num_steps]
    elif requested is None:
      requested = codes[span.first_step:span.end_step]
    seconds["infer_actions"] = time.perf_counter() - clock

    new_codes = codes.copy()
    new_codes[span.first_step:span.end_step] = requested
    T, R = z_TC.shape[0], self.frames_per_action
    f0, f1 = span.first_step * R, min(span.end_step * R, T)
    W = min(self.window_frames, T)
    windows = plan_windows(T, self.window_frames, f0, f1, R)
    frame_actions = actions_lib.frame_actions(new_codes, R, T)
    clock = time.perf_counter()
    z_new = z_TC.copy()
    for index, (w0, p0, p1) in enumerate(windows):  # later windows read the frames earlier ones wrote
      mask = np.zeros(W, bool)
      mask[p0 - w0:p1 - w0] = True
      z_win = self._inpaint(self.dynamics.params, z_new[None, w0:w0 + W], mask[None],
                            frame_actions[None, w0:w0 + W], jax.random.fold_in(jax.random.key(seed), index),
                            np.float32(guidance), np.float32(max_t), num_steps=steps,
                            method=self.edit_defaults.method)
      z_new[p0:p1] = np.asarray(z_win)[0, p0 - w0:p1 - w0]
    seconds["inpaint"] = time.perf_counter() - clock

    clock = time.perf_counter()
    margin = max(1, int(round(self.edit_defaults.margin_seconds * self.frame_rate)))
    fade = int(round(self.edit_defaults.crossfade_seconds * SAMPLE_RATE))
    out = render(self.tokenizer, self.decode, wave, z_new, span, (f0, f1), margin, fade, seed, gain)
    seconds["decode"] = time.perf_counter() - clock
    info = dict(start_s=span.start / SAMPLE_RATE, end_s=span.end / SAMPLE_RATE,
                steps=[span.first_step, span.end_step], step_seconds=self.step_seconds,
                actions_before=codes[span.first_step:span.end_step].tolist(),
                actions_after=[int(a) for a in requested], guidance_scale=guidance, guidance_max_t=max_t,
                num_steps=steps, seed=seed, level_gain_db=round(20.0 * math.log10(gain), 3),
                window_s=[windows[0][0] / self.frame_rate, (windows[-1][0] + W) / self.frame_rate],
                windows=len(windows),
                seconds={k: round(v, 4) for k, v in seconds.items()})
    return EditResult(out, info)
