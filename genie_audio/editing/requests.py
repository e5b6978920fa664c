"""Edit requests: what an edit asks for and gets back, the checks that reject a bad request before any model
runs (`EditError`, a ValueError naming the problem), and the settings a run's config gives an edit.

    check_wave(wave)                          # a non-empty finite mono float32 waveform, or EditError
    check_span_seconds(12.5, 15.0, duration)  # a non-empty span inside the recording, or EditError
    check_seeds([0, 1, 2])                    # ints in [0, 2**31), at least one, or EditError
    run_guidance_max_t(config.edit), run_action_guidance(config.edit), decode_settings(tokenizer_run)
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Sequence

import numpy as np

from genie_audio import codec
from genie_audio.data.manifest import SAMPLE_RATE
from genie_audio.runs import trained_run


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


@dataclasses.dataclass(frozen=True)
class SamplerSettings:
  """How a request is generated: guidance scale and interval, action guidance (the LAM's pull towards the
  requested actions, 0 = off), in-painting ODE steps, crossfade at the seams, and the noise level the span
  starts from (start_t: 1 = pure noise; below 1 = the retrieval fill, real music from elsewhere in the
  recording, noised to that level: `editing.retrieval`, `inpainting.inpaint`)."""
  guidance_scale: float
  guidance_max_t: float
  num_steps: int
  crossfade_s: float
  action_guidance: float = 0.0
  start_t: float = 1.0


@dataclasses.dataclass(frozen=True)
class PreparedRecording:
  """A recording ready to edit (`Editor.prepare`): passed instead of a wave, it spares an edit the encoding of
  the whole recording and its action timeline, most of a warm edit's time on a long recording."""
  wave: np.ndarray       # (N,) float32, 16 kHz
  latents: np.ndarray    # (T, C) normalised latent, coded at the training loudness
  gain: float            # the training-level gain it was coded at
  codes: np.ndarray      # (S,) int32 action timeline


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


def check_span_seconds(start_s: float, end_s: float, duration_s: float) -> None:
  """An EditError unless [start_s, end_s) is a non-empty span inside a recording of `duration_s`."""
  if not (math.isfinite(start_s) and math.isfinite(end_s)):
    raise EditError(f"span {start_s}-{end_s} s: start and end must be finite numbers of seconds")
  if start_s >= end_s:
    raise EditError(f"span {start_s}-{end_s} s is empty: start must be before end")
  if start_s < 0 or end_s > duration_s + 0.5 / SAMPLE_RATE:
    raise EditError(f"span {start_s}-{end_s} s is out of range: the recording lasts {duration_s:.3f} s")


def check_seeds(seeds: Sequence[int]) -> list[int]:
  """Seeds as ints in [0, 2**31), at least one, or an EditError."""
  try:
    values = [int(s) for s in seeds]
  except (TypeError, ValueError):
    raise EditError(f"seeds must be integers, got {seeds!r}") from None
  if not values or not all(0 <= s < 2 ** 31 for s in values):
    raise EditError(f"seeds {values}: give at least one seed, each in 0..{2 ** 31 - 1}")
  return values


def run_guidance_max_t(edit_config) -> float:
  """The run's guidance interval bound (runs from before the interval extrapolated at every noise level)."""
  return float(edit_config.get("guidance_max_t", 1.0))


def run_action_guidance(edit_config) -> float:
  """The run's action-guidance weight (runs from before it had none)."""
  return float(edit_config.get("action_guidance", 0.0))


def run_start_t(edit_config) -> float:
  """The run's start level (runs from before the retrieval start began from pure noise)."""
  return float(edit_config.get("start_t", 1.0))


def run_retrieval_context_frames(edit_config, frame_rate: float) -> int:
  """Context frames each side that the retrieval fill matches (`config.edit.retrieval_context_seconds`)."""
  return max(1, int(round(float(edit_config.get("retrieval_context_seconds", 0.5)) * frame_rate)))


def run_level_match(edit_config) -> bool:
  """Whether decoded edits take the decoder's level error, measured on the context margins, out of the span
  (`render.render(level_match=...)`; runs from before it did not)."""
  return bool(edit_config.get("level_match", False))


RETRIEVAL_MATCHES = ("chroma", "latents")


def run_retrieval_match(edit_config) -> str:
  """What the retrieval fill compares contexts on (`config.edit.retrieval_match`): "chroma" (the notes of the
  audio) or "latents"."""
  match = str(edit_config.get("retrieval_match", "chroma"))
  if match not in RETRIEVAL_MATCHES:
    raise ValueError(f"config.edit.retrieval_match={match!r}: expected one of {RETRIEVAL_MATCHES}")
  return match


def decode_settings(tokenizer: trained_run.TrainedRun) -> DecodeSettings:
  """The tokenizer run's own evaluation settings for decoding whole recordings."""
  e = tokenizer.config.eval
  return DecodeSettings(e.sampler_steps, e.method, codec.seconds_to_frames(tokenizer.model, e.chunk_seconds),
                        codec.seconds_to_frames(tokenizer.model, e.overlap_seconds))
