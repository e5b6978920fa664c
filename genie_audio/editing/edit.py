"""The edit workflow: infer a recording's action timeline, re-write a span with other actions, splice it back.

    editor = Editor.load("runs/dynamics")                # tokenizer, LAM and dynamics model of one run
    timeline = editor.infer_actions(wave)                # the action of every step, with its times
    result = editor.edit(wave, 12.5, 15.0, actions=[3, 3, 5, 5, ...])   # or actions_from=other, resample=True
    result.wave                                          # == wave outside [12.5 s, 15.0 s), sample for sample
    prepared = editor.prepare(wave)                      # step 2's work once, for many edits of one recording
    takes = editor.edit_variations(prepared, 12.5, 15.0, resample=True, seeds=[0, 1, 2, 3])   # one batch
    longer = editor.extend(prepared, 4.0, at="end")      # continue 4 s after the end (or at="start": before it)

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
     longer than one window is written left to right in windows whose first half is context: `plan_windows`),
     from pure noise (start_t = 1) or, with start_t < 1, from the retrieval fill noised to start_t: the passage
     elsewhere in the recording whose surroundings best match the span's (`retrieval_start`), so the notes of
     real music are there for the model to re-shape towards the requested actions;
  5. decode only the re-generated frames plus a margin of context frames each side (`codec.decode_long`) and
     divide them by that gain, back to the recording's own level;
  6. splice the decoded audio into the ORIGINAL waveform over [start, end) exactly, with equal-power
     crossfades inside the span at its seams (`splice.splice`): outside the span nothing changes.
Variations draw each seed's noise from its own key, so take k of a batch is `edit(..., seed=seeds[k])`.
`extend` out-paints: blank latent frames on one side of the recording, written by the dynamics model next to
the original (`extend_variations`). Invalid requests raise `EditError` (a ValueError) naming the problem
before any work is done.
"""

from __future__ import annotations

import dataclasses
import math
import os
import time
from typing import Any, Sequence

import jax
import numpy as np

from genie_audio.data import spectra
from genie_audio.data.manifest import SAMPLE_RATE
from genie_audio.editing import actions as actions_lib
from genie_audio.editing import retrieval
from genie_audio.editing.render import encode_at_training_level, make_inpaint_fn, render, window_keys
from genie_audio.editing.requests import (EditError, EditResult, PreparedRecording, SamplerSettings, Span, Timeline,
                                          check_seeds, check_span_seconds, check_wave, decode_settings,
                                          run_action_guidance, run_guidance_max_t, run_retrieval_context_frames,
                                          run_level_match, run_retrieval_match, run_start_t)
from genie_audio.editing.windows import plan_windows, plan_windows_backward
from genie_audio.models.dynamics import NULL_ACTION
from genie_audio.runs import trained_run


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
    self._inpaint = make_inpaint_fn(dynamics.model, lam.model)

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

  def prepare(self, wave: np.ndarray, name: str = "wave") -> PreparedRecording:
    """A recording encoded at the training loudness, with its action timeline: what every edit of it needs."""
    wave = check_wave(wave, name)
    latents, gain = encode_at_training_level(self.tokenizer, wave)
    return PreparedRecording(wave, latents, gain, self.timeline_of(latents))

  def prepared(self, recording: np.ndarray | PreparedRecording, name: str = "wave") -> PreparedRecording:
    return recording if isinstance(recording, PreparedRecording) else self.prepare(recording, name)

  def infer_actions(self, wave: np.ndarray | PreparedRecording) -> Timeline:
    """The action timeline of a recording (16 kHz mono)."""
    recording = self.prepared(wave)
    return Timeline(recording.codes, self.step_seconds, len(recording.wave) / SAMPLE_RATE)

  def num_steps(self, num_samples: int) -> int:
    return actions_lib.num_steps(math.ceil(num_samples / self.stride), self.frames_per_action)

  # ------------------------------------------------------------------------------------------------- spans

  def plan_span(self, num_samples: int, start_s: float, end_s: float) -> Span:
    """The span in samples and the action steps covering it, or an EditError saying what is wrong."""
    check_span_seconds(start_s, end_s, num_samples / SAMPLE_RATE)
    start, end = int(round(start_s * SAMPLE_RATE)), min(int(round(end_s * SAMPLE_RATE)), num_samples)
    if end <= start:
      raise EditError(f"span {start_s}-{end_s} s is empty: it is shorter than one sample")
    samples_per_step = self.stride * self.frames_per_action
    return Span(start, end, start // samples_per_step, -(-end // samples_per_step))

  def check_actions(self, requested: Sequence[int], span: Span) -> np.ndarray:
    """The requested actions as int32, or an EditError naming a wrong count or an unknown id."""
    return self.check_action_list(requested, span.num_steps, (
        f"the span covers {span.num_steps} action steps ({span.first_step * self.step_seconds:g}-"
        f"{span.end_step * self.step_seconds:g} s at {self.step_seconds:g} s per step)"))

  def check_action_list(self, requested: Sequence[int], count: int, covers: str) -> np.ndarray:
    """`requested` as int32 if it holds `count` known ids; else an EditError (`covers` says what needs them)."""
    try:
      values = np.asarray([int(a) for a in requested], np.int32)
    except (TypeError, ValueError):
      raise EditError(f"actions must be integers, got {requested!r}") from None
    if len(values) != count:
      raise EditError(f"{len(values)} actions given, but {covers}: give exactly {count}")
    bad = [int(a) for a in values if not 0 <= a < self.num_actions]
    if bad:
      raise EditError(f"unknown action id {bad[0]}: ids are 0..{self.num_actions - 1} "
                      f"(this model has {self.num_actions} actions)")
    return values

  def sampler_settings(self, guidance_scale: float | None = None, guidance_max_t: float | None = None,
                       num_steps: int | None = None, crossfade_s: float | None = None,
                       action_guidance_weight: float | None = None, start_t: float | None = None
                       ) -> SamplerSettings:
    """The request's settings, the run's `config.edit` where not given, or an EditError naming a bad one."""
    d = self.edit_defaults
    pull = run_action_guidance(d) if action_guidance_weight is None else float(action_guidance_weight)
    guidance = float(d.guidance_scale if guidance_scale is None else guidance_scale)
    max_t = run_guidance_max_t(d) if guidance_max_t is None else float(guidance_max_t)
    steps = int(d.num_steps if num_steps is None else num_steps)
    fade = float(d.crossfade_seconds if crossfade_s is None else crossfade_s)
    start = run_start_t(d) if start_t is None else float(start_t)
    if steps < 1 or not math.isfinite(guidance):
      raise EditError(f"need num_steps >= 1 and a finite guidance scale, got {steps} and {guidance}")
    if not 0 <= max_t <= 1:
      raise EditError(f"guidance_max_t={max_t}: the guidance interval's upper noise level must be in [0, 1]")
    if not (math.isfinite(fade) and fade >= 0):
      raise EditError(f"crossfade_s={fade}: the crossfade must be a finite number of seconds >= 0")
    if not (math.isfinite(pull) and pull >= 0):
      raise EditError(f"action_guidance={pull}: the action guidance weight must be a finite number >= 0")
    if not (math.isfinite(start) and 0 < start <= 1):
      raise EditError(f"start_t={start}: the noise level the span starts from must be in (0, 1] (1: pure noise)")
    return SamplerSettings(guidance, max_t, steps, fade, pull, start)

  # ------------------------------------------------------------------------------------------- generation

  def inpaint_frames(self, latents_TC: np.ndarray, frame_actions_T: np.ndarray,
                     windows: list[tuple[int, int, int]], seeds: Sequence[int], settings: SamplerSettings,
                     start_TC: np.ndarray | None = None) -> np.ndarray:
    """(len(seeds), T, C): `latents_TC` with the frames of `windows` (start, part start, part end) re-generated
    in their order (later windows read what earlier ones wrote), one variation per seed, batched. With
    `start_TC` (see `retrieval_start`) the generated frames start from it noised to `settings.start_t`."""
    start_t = settings.start_t if start_TC is not None else 1.0
    T, B = latents_TC.shape[0], len(seeds)
    W = min(self.window_frames, T)
    z_BTC = np.repeat(np.asarray(latents_TC, np.float32)[None], B, axis=0)
    for index, (w0, p0, p1) in enumerate(windows):
      mask_BT = np.zeros((B, W), bool)
      mask_BT[:, p0 - w0:p1 - w0] = True
      # The LAM reads whole steps from the recording's first frame: a window off that grid is not guided.
      on_grid = w0 % self.frames_per_action == 0 and W % self.frames_per_action == 0
      lam_params = self.lam.params if settings.action_guidance > 0 and on_grid else None
      out = self._inpaint(self.dynamics.params, z_BTC[:, w0:w0 + W], mask_BT,
                          np.broadcast_to(frame_actions_T[w0:w0 + W], (B, W)), window_keys(seeds, index),
                          np.float32(settings.guidance_scale), np.float32(settings.guidance_max_t),
                          lam_params, np.float32(settings.action_guidance),
                          None if start_t == 1.0 else np.broadcast_to(start_TC[w0:w0 + W], (B, W, start_TC.shape[1])),
                          num_steps=settings.num_steps, method=self.edit_defaults.method, start_t=start_t)
      z_BTC[:, p0:p1] = np.asarray(out)[:, p0 - w0:p1 - w0]
    return z_BTC

  def retrieval_fill(self, latents_TC: np.ndarray, f0: int, f1: int, wave: np.ndarray | None = None,
                     wave_offset_frames: int = 0) -> tuple[np.ndarray, retrieval.Match] | None:
    """(latent frames (f1 - f0, C), where they start) of the passage elsewhere in the recording whose
    surroundings best match those of frames [f0, f1) (`editing.retrieval`), over the run's
    `edit.retrieval_context_seconds` each side; None when the recording has no room for one. Contexts are
    compared on the chroma of `wave` (the audio under latent frames from `wave_offset_frames` on; frames
    without audio count as silence) or, with `edit.retrieval_match="latents"` or no wave, on the latents."""
    context = run_retrieval_context_frames(self.edit_defaults, self.frame_rate)
    features = None
    if wave is not None and run_retrieval_match(self.edit_defaults) == "chroma":
      chroma_TF = spectra.frame_chroma(wave, self.stride, SAMPLE_RATE)
      smooth = int(round(float(self.edit_defaults.get("retrieval_smooth_seconds", 0.0)) * self.frame_rate))
      if smooth > 1:  # the harmony around a frame rather than the notes of its 20 ms
        chroma_TF = spectra.moving_average(chroma_TF, smooth)
      per_db = float(self.edit_defaults.get("retrieval_level_weight", 0.0))
      if per_db > 0:  # and the loudness around it: a fill as loud as what it replaces (dB x weight)
        chroma_TF = np.concatenate([chroma_TF, per_db * spectra.frame_level_db(wave, self.stride)[:len(chroma_TF),
                                                                                                   None]], axis=1)
      features_TF = np.zeros((len(latents_TC), chroma_TF.shape[1]))
      count = max(0, min(len(chroma_TF), len(latents_TC) - wave_offset_frames))
      features_TF[wave_offset_frames:wave_offset_frames + count] = chroma_TF[:count]
      features = ([features_TF], features_TF)
    d = self.edit_defaults
    fit = float(d.get("retrieval_fit_weight", 0.0)) if features is not None else 0.0
    keep = float(d.get("retrieval_harmony_weight", 0.0)) if features is not None else 0.0
    return retrieval.best_fill([latents_TC], latents_TC, f0, f1, context, self_source=0, features=features,
                               fit_weight=fit, span_weight=keep)

  def retrieval_start(self, latents_TC: np.ndarray, f0: int, f1: int, settings: SamplerSettings,
                      wave: np.ndarray | None = None, wave_offset_frames: int = 0
                      ) -> tuple[np.ndarray | None, dict[str, Any]]:
    """(latents_TC with frames [f0, f1) replaced by the retrieval fill, what it used) when the request starts
    part way (start_t < 1; `retrieval_fill`). (None, ...) when it starts from noise, or when the recording has
    no such passage (then the span starts from noise, and the info says so)."""
    if settings.start_t >= 1.0:
      return None, dict(start_t=1.0)
    found = self.retrieval_fill(latents_TC, f0, f1, wave, wave_offset_frames)
    if found is None:
      return None, dict(start_t=1.0, retrieval="no passage of the recording matches: started from noise")
    start_TC = np.array(latents_TC, np.float32)
    start_TC[f0:f1] = found[0]
    return start_TC, dict(start_t=settings.start_t, retrieval_from_s=round(found[1].start / self.frame_rate, 4))

  def margin_frames(self, fade: int) -> int:
    """Context frames decoded each side of the generated ones: the run's margin, and enough for the fade."""
    return max(1, int(round(self.edit_defaults.margin_seconds * self.frame_rate)), -(-fade // self.stride) + 1)

  def render_span(self, base_T: np.ndarray, latents_TC: np.ndarray, span: Span, frames: tuple[int, int], fade: int,
                  seed: int, gain: float) -> np.ndarray:
    """`base_T` with [span.start, span.end) replaced by the decoding of latent frames [frames) (and the run's
    margin of context frames each side), as every edit renders it (`render.render`, with the run's
    `edit.level_match`)."""
    return render(self.tokenizer, self.decode, base_T, latents_TC, span, frames, self.margin_frames(fade), fade,
                  seed, gain, level_match=run_level_match(self.edit_defaults))

  def render_variations(self, recording: PreparedRecording, base_T: np.ndarray, z_BTC: np.ndarray, span: Span,
                        frames: tuple[int, int], fade: int, seeds: Sequence[int], info: dict[str, Any],
                        seconds: dict[str, float]) -> list[EditResult]:
    """Decodes each variation around `frames` and splices it into `base_T` over the span (`render`)."""
    results = []
    for z_TC, seed in zip(z_BTC, seeds):
      clock = time.perf_counter()
      wave = self.render_span(base_T, z_TC, span, frames, fade, seed, recording.gain)
      timing = dict(seconds, decode=time.perf_counter() - clock)
      results.append(EditResult(wave, dict(info, seed=seed, seconds={k: round(v, 4) for k, v in timing.items()})))
    return results

  def settings_info(self, settings: SamplerSettings, recording: PreparedRecording, windows: list, fade: int,
                    total_frames: int) -> dict[str, Any]:
    W = min(self.window_frames, total_frames)
    return dict(step_seconds=self.step_seconds, guidance_scale=settings.guidance_scale,
                guidance_max_t=settings.guidance_max_t, action_guidance=settings.action_guidance,
                num_steps=settings.num_steps,
                crossfade_s=fade / SAMPLE_RATE, level_gain_db=round(20.0 * math.log10(recording.gain), 3),
                window_s=[min(w[0] for w in windows) / self.frame_rate,
                          (max(w[0] for w in windows) + W) / self.frame_rate],
                windows=len(windows))

  # -------------------------------------------------------------------------------------------------- edit

  def edit(self, wave: np.ndarray | PreparedRecording, start_s: float, end_s: float, *, seed: int = 0,
           **request: Any) -> EditResult:
    """Re-writes [start_s, end_s) of `wave` with `actions` (one per action step of the span), the actions of
    `actions_from` (another recording, from `actions_from_start_s`, default start_s), or with its own actions
    (`resample=True`: a new variation); see the module docstring and `edit_variations` for the keywords."""
    return self.edit_variations(wave, start_s, end_s, seeds=[seed], **request)[0]

  def edit_variations(self, wave: np.ndarray | PreparedRecording, start_s: float, end_s: float, *,
                      seeds: Sequence[int], actions: Sequence[int] | None = None,
                      actions_from: np.ndarray | PreparedRecording | None = None,
                      actions_from_start_s: float | None = None, resample: bool = False,
                      guidance_scale: float | None = None, guidance_max_t: float | None = None,
                      num_steps: int | None = None, crossfade_s: float | None = None,
                      action_guidance: float | None = None, start_t: float | None = None) -> list[EditResult]:
    """`edit` once per seed, the in-painting of all seeds batched; result i is the edit with seeds[i]."""
    seeds = check_seeds(seeds)
    original = wave.wave if isinstance(wave, PreparedRecording) else check_wave(wave)
    span = self.plan_span(len(original), float(start_s), float(end_s))
    if sum([actions is not None, actions_from is not None, bool(resample)]) != 1:
      raise EditError("say which actions the span gets: exactly one of actions=[...], actions_from=<another "
                      "recording> or resample=True")
    requested = self.check_actions(actions, span) if actions is not None else None
    if actions_from is not None and not isinstance(actions_from, PreparedRecording):
      actions_from = check_wave(actions_from, "actions_from")
    settings = self.sampler_settings(guidance_scale, guidance_max_t, num_steps, crossfade_s, action_guidance,
                                     start_t)
    seconds = {}

    clock = time.perf_counter()
    recording = self.prepared(wave)
    seconds["encode"] = time.perf_counter() - clock
    codes = recording.codes
    if actions_from is not None:
      source = self.prepared(actions_from, "actions_from").codes
      first = span.first_step if actions_from_start_s is None else int(actions_from_start_s / self.step_seconds)
      if not 0 <= first <= len(source) - span.num_steps:
        raise EditError(f"actions_from has {len(source)} action steps; the span needs {span.num_steps} of them "
                        f"from step {first} ({first * self.step_seconds:g} s): choose an earlier "
                        f"actions_from_start_s or a longer recording")
      requested = source[first:first + span.num_steps]
    elif requested is None:
      requested = codes[span.first_step:span.end_step]

    new_codes = codes.copy()
    new_codes[span.first_step:span.end_step] = requested
    T, R = recording.latents.shape[0], self.frames_per_action
    f0, f1 = span.first_step * R, min(span.end_step * R, T)
    windows = plan_windows(T, self.window_frames, f0, f1, R)
    clock = time.perf_counter()
    start_TC, start_info = self.retrieval_start(recording.latents, f0, f1, settings, recording.wave)
    z_BTC = self.inpaint_frames(recording.latents, actions_lib.frame_actions(new_codes, R, T), windows, seeds,
                                settings, start_TC)
    seconds["inpaint"] = time.perf_counter() - clock
    fade = int(round(settings.crossfade_s * SAMPLE_RATE))
    info = dict(start_s=span.start / SAMPLE_RATE, end_s=span.end / SAMPLE_RATE,
                steps=[span.first_step, span.end_step], actions_before=codes[span.first_step:span.end_step].tolist(),
                actions_after=[int(a) for a in requested], **self.settings_info(settings, recording, windows, fade, T),
                **start_info)
    return self.render_variations(recording, recording.wave, z_BTC, span, (f0, f1), fade, seeds, info, seconds)

  # ------------------------------------------------------------------------------------------------ extend

  def extend(self, wave: np.ndarray | PreparedRecording, seconds: float, *, seed: int = 0, **request: Any
             ) -> EditResult:
    """Continues the recording after its end (`at="end"`) or before its start (`at="start"`) by `seconds`
    (rounded up to whole action steps) with `actions` (one per new step) or, without them, with no action
    asked (the model's own continuation); see `extend_variations` for the keywords."""
    return self.extend_variations(wave, seconds, seeds=[seed], **request)[0]

  def extend_variations(self, wave: np.ndarray | PreparedRecording, seconds: float, *, seeds: Sequence[int],
                        at: str = "end", actions: Sequence[int] | None = None, guidance_scale: float | None = None,
                        guidance_max_t: float | None = None, num_steps: int | None = None,
                        crossfade_s: float | None = None, action_guidance: float | None = None,
                        start_t: float | None = None) -> list[EditResult]:
    """`extend` once per seed, batched. Out-painting: the recording's latent gets blank frames on one side,
    which the dynamics model writes (in windows of its length, each reading the frames next to it: the
    original first); the new audio is decoded and joined on. The original is kept sample for sample except its
    last (or first) `crossfade_s` at the seam, where it crossfades into the continuation (equal power)."""
    seeds = check_seeds(seeds)
    original = wave.wave if isinstance(wave, PreparedRecording) else check_wave(wave)
    if at not in ("end", "start"):
      raise EditError(f"at={at!r}: a recording is continued after its 'end' or before its 'start'")
    if not (math.isfinite(float(seconds)) and float(seconds) > 0):
      raise EditError(f"extend by {seconds} s: give a positive number of seconds")
    new_steps = math.ceil(float(seconds) / self.step_seconds - 1e-6)
    requested = None if actions is None else self.check_action_list(actions, new_steps, (
        f"continuing by {seconds:g} s takes {new_steps} action steps of {self.step_seconds:g} s"))
    settings = self.sampler_settings(guidance_scale, guidance_max_t, num_steps, crossfade_s, action_guidance,
                                     start_t)
    clock = time.perf_counter()
    recording = self.prepared(wave)
    timing = {"encode": time.perf_counter() - clock}

    (T, C), R, N = recording.latents.shape, self.frames_per_action, len(original)
    new_frames = new_steps * R
    added = new_frames * self.stride
    new_actions = (np.full(new_frames, NULL_ACTION, np.int32) if requested is None
                   else actions_lib.frame_actions(requested, R))
    own_actions = actions_lib.frame_actions(recording.codes, R, T)
    blank = np.zeros((new_frames, C), np.float32)
    fade = min(int(round(settings.crossfade_s * SAMPLE_RATE)), added, N // 2)
    if at == "end":
      latents = np.concatenate([recording.latents, blank])
      frame_actions = np.concatenate([own_actions, new_actions])
      f0, f1 = T, T + new_frames
      windows = plan_windows(T + new_frames, self.window_frames, f0, f1, R)
      base = np.concatenate([original, np.zeros(added, np.float32)])
      span = Span(N - fade, N + added, T // R, T // R + new_steps)
    else:  # steps stay aligned to the new start; whole steps only are planned over
      latents = np.concatenate([blank, recording.latents])
      frame_actions = np.concatenate([new_actions, own_actions])
      f0, f1 = 0, new_frames
      windows = plan_windows_backward(new_frames + T // R * R, self.window_frames, f0, f1, R)
      base = np.concatenate([np.zeros(added, np.float32), original])
      span = Span(0, added + fade, 0, new_steps)
    clock = time.perf_counter()
    offset = 0 if at == "end" else new_frames  # times in the output's
    start_TC, start_info = self.retrieval_start(latents, f0, f1, settings, original, offset)
    z_BTC = self.inpaint_frames(latents, frame_actions, windows, seeds, settings, start_TC)
    timing["inpaint"] = time.perf_counter() - clock
    info = dict(at=at, added_s=added / SAMPLE_RATE, new_steps=new_steps,
                actions_after=None if requested is None else requested.tolist(),
                original_offset_s=added / SAMPLE_RATE if at == "start" else 0.0,
                output_duration_s=(N + added) / SAMPLE_RATE,
                **self.settings_info(settings, recording, windows, fade, len(latents)), **start_info)
    return self.render_variations(recording, base, z_BTC, span, (f0, f1), fade, seeds, info, timing)
