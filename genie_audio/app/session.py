"""What one person's editing session holds, without a model or a user interface: testable on its own.

    copy = WorkingCopy.start("song.wav", wave)        # version 0: the recording as opened
    copy.offer([EditResult(...), ...])                 # the variations of the last request
    copy.keep(1)                                       # variation 1 becomes the new version; redo is cleared
    copy.undo(); copy.redo()                           # move through the versions
    copy.edits()                                       # what was done, oldest first: the edit's JSON info

Edits apply cumulatively: each request edits the current version, and keeping a variation puts it on top.
Requests are parsed here (`parse_actions`, `check_span`, `seeds_for`, `check_extension`), so a bad one is an
`EditError` that says what is wrong before any model runs.
"""

from __future__ import annotations

import dataclasses
import json
import math
from typing import Any, Sequence

import numpy as np

from genie_audio.data.manifest import SAMPLE_RATE
from genie_audio.editing.requests import EditError, EditResult, PreparedRecording, check_span_seconds

MAX_VARIATIONS = 4         # players on the page; the batch of one request
MAX_VERSIONS = 50          # undo depth (each version holds its waveform)
MAX_EXTEND_S = 60.0
MAX_SAMPLER_STEPS = 200


@dataclasses.dataclass
class Version:
  """One state of the working copy: its audio, what made it (None for the opened recording), and its
  encoding once computed (`PreparedRecording`, filled in lazily by whoever has the model)."""
  wave: np.ndarray
  info: dict[str, Any] | None = None
  prepared: PreparedRecording | None = None

  @property
  def duration_s(self) -> float:
    return len(self.wave) / SAMPLE_RATE


@dataclasses.dataclass
class WorkingCopy:
  """A recording being edited: its versions (undo/redo) and the variations on offer."""
  name: str
  versions: list[Version]
  position: int = 0
  candidates: list[EditResult] = dataclasses.field(default_factory=list)

  @classmethod
  def start(cls, name: str, wave: np.ndarray) -> "WorkingCopy":
    return cls(name, [Version(np.asarray(wave, np.float32))])

  @property
  def current(self) -> Version:
    return self.versions[self.position]

  @property
  def original(self) -> Version:
    return self.versions[0]

  def can_undo(self) -> bool:
    return self.position > 0

  def can_redo(self) -> bool:
    return self.position < len(self.versions) - 1

  def offer(self, results: Sequence[EditResult]) -> None:
    """The variations of the latest request (replacing those of the one before)."""
    self.candidates = list(results)

  def keep(self, index: int) -> Version:
    """Variation `index` becomes the current version; versions that were undone are dropped."""
    if not 0 <= index < len(self.candidates):
      raise EditError(f"there is no variation {index + 1} to keep: the last request made "
                      f"{len(self.candidates)}; generate first")
    result = self.candidates[index]
    del self.versions[self.position + 1:]
    self.versions.append(Version(result.wave, dict(result.info)))
    if len(self.versions) > MAX_VERSIONS:   # the opened recording stays; the oldest edit goes
      del self.versions[1]
    self.position = len(self.versions) - 1
    self.candidates = []
    return self.current

  def undo(self) -> Version:
    if not self.can_undo():
      raise EditError("nothing to undo: this is the recording as it was opened")
    self.position -= 1
    return self.current

  def redo(self) -> Version:
    if not self.can_redo():
      raise EditError("nothing to redo")
    self.position += 1
    return self.current

  def edits(self) -> list[dict[str, Any]]:
    """The info of every edit up to the current version, oldest first."""
    return [v.info for v in self.versions[1:self.position + 1]]

  def info_json(self) -> str:
    return json.dumps({"recording": self.name, "duration_s": self.current.duration_s,
                       "original_duration_s": self.original.duration_s, "edits": self.edits()}, indent=1)


def parse_actions(text: str | None) -> list[int] | None:
  """'3, 3,5' -> [3, 3, 5]; empty -> None (a resample, or a free continuation); else an EditError."""
  text = (text or "").strip()
  if not text:
    return None
  try:
    return [int(part) for part in text.replace(" ", ",").split(",") if part.strip()]
  except ValueError:
    raise EditError(f"actions {text!r}: write action ids separated by commas, e.g. 3,3,5") from None


def number(value: Any, name: str) -> float:
  """A finite float from a form field, or an EditError naming the field."""
  try:
    value = float(value)
  except (TypeError, ValueError):
    raise EditError(f"{name} is not set: give a number") from None
  if not math.isfinite(value):
    raise EditError(f"{name}={value}: give a finite number")
  return value


def check_span(start_s: Any, end_s: Any, duration_s: float) -> tuple[float, float]:
  """(start, end) seconds inside a recording of `duration_s`, or an EditError saying what is wrong."""
  start, end = number(start_s, "span start"), number(end_s, "span end")
  check_span_seconds(start, end, duration_s)
  return start, end


def seeds_for(first_seed: Any, count: Any) -> list[int]:
  """`count` consecutive seeds from `first_seed` (variation k gets first_seed + k)."""
  first, n = number(first_seed, "seed"), number(count, "variations")
  if first != int(first) or not 0 <= first < 2 ** 31 - MAX_VARIATIONS:
    raise EditError(f"seed={first:g}: give a whole number from 0 to {2 ** 31 - MAX_VARIATIONS - 1}")
  if n != int(n) or not 1 <= n <= MAX_VARIATIONS:
    raise EditError(f"variations={n:g}: give a whole number from 1 to {MAX_VARIATIONS}")
  return [int(first) + k for k in range(int(n))]


def check_extension(seconds: Any, at: str) -> tuple[float, str]:
  seconds = number(seconds, "continue by (seconds)")
  if not 0 < seconds <= MAX_EXTEND_S:
    raise EditError(f"continue by {seconds:g} s: give a length from above 0 to {MAX_EXTEND_S:g} s")
  if at not in ("end", "start"):
    raise EditError(f"continue at {at!r}: choose 'end' (after the recording) or 'start' (before it)")
  return seconds, at


def check_settings(guidance_scale: Any, guidance_max_t: Any, sampler_steps: Any, crossfade_s: Any,
                   action_guidance: Any = None) -> dict[str, Any]:
  """The sampler controls as `Editor` keywords, range-checked (the editor checks them again); without
  `action_guidance` the run's own is used."""
  steps = number(sampler_steps, "sampler steps")
  if steps != int(steps) or not 1 <= steps <= MAX_SAMPLER_STEPS:
    raise EditError(f"sampler steps={steps:g}: give a whole number from 1 to {MAX_SAMPLER_STEPS}")
  settings = dict(guidance_scale=number(guidance_scale, "guidance scale"),
                  guidance_max_t=number(guidance_max_t, "guidance interval"), num_steps=int(steps),
                  crossfade_s=number(crossfade_s, "crossfade"))
  if action_guidance is not None:
    settings["action_guidance"] = number(action_guidance, "action guidance")
  return settings


def excerpt(wave: np.ndarray, start_s: float, end_s: float, context_s: float) -> tuple[np.ndarray, float]:
  """(the audio of [start - context, end + context) cut to the recording, where the span starts in it (s)):
  what a player beside the original plays, so the span is heard at once."""
  first = max(0, int(round((start_s - context_s) * SAMPLE_RATE)))
  last = min(len(wave), int(round((end_s + context_s) * SAMPLE_RATE)))
  return wave[first:last], start_s - first / SAMPLE_RATE
