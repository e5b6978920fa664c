"""Edits that are music: the span measures of `span_music` on spans re-written through the editor, beside fills
of the same spans that bound them.

Every recording gets spans of `span_seconds` at fixed times; each span is filled in several ways, each spliced
into the original exactly as an edit is (decoded with the editor's margin, equal-power crossfades at the seams),
and the inner part of the span (minus `trim_seconds` at each end, clear of the crossfades) is scored against the
original's:
  reconstruction   the tokenizer's decoding of the span's own latents: the ceiling an edit can reach
  envelope_noise   the original span's band envelope (as many values per second as the latent) resynthesised with
                   random phase: loudness and spectral shape without pitch, the floor (`baselines.envelope_vocoder`)
  loop             the audio just before the span, pasted in: real music that ignores the request
  retrieval        the latent frames elsewhere in the recording whose surroundings best match the span's context
                   (`Editor.retrieval_fill`: the run's `config.edit.retrieval_match` and context), decoded: real
                   music chosen to fit, ignoring the request (what an edit with start_t < 1 starts from)
  resample         an edit with the span's own actions (`Editor.edit(resample=True)`)
  random           an edit asking for actions drawn uniformly; `accuracy` is the share of its steps whose action,
                   read back from the OUTPUT audio by the editor's timeline, is the requested one (chance 1/A)
Scores per fill: tonality, harmony, level_db (`span_music`), seam (multi-scale mel distance within
`seam_seconds` of the span's edges, `edit_metrics.seam_distances`), and for `random` the accuracy. A `random` row
also keeps its requests and the move descriptors of its edited steps, and the LAM's reading of the original
steps beside theirs, for `requests_heard` (`heard_requests`: the requests heard in the audio, without the LAM).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Mapping, Sequence

import numpy as np

from genie_audio.data.manifest import SAMPLE_RATE
from genie_audio.editing import splice
from genie_audio.editing import edit as edit_lib
from genie_audio.eval import baselines, edit_metrics, heard_requests, span_music

BASELINES = ("reconstruction", "envelope_noise", "loop", "retrieval")
FILLS = BASELINES + ("resample", "random")
SCORES = ("tonality", "harmony", "level_db", "seam")


@dataclasses.dataclass(frozen=True)
class SpanCase:
  recording: str
  start_s: float
  end_s: float


def span_cases(durations_s: Mapping[str, float], starts_s: Sequence[float], span_seconds: float,
               context_seconds: float = 1.0) -> list[SpanCase]:
  """The spans of every recording: one at each of `starts_s` that leaves `context_seconds` after it; a
  recording too short for any of them gets one span in its middle (if it has the context on both sides)."""
  cases = []
  for name, duration in durations_s.items():
    starts = [s for s in starts_s if s >= context_seconds and s + span_seconds + context_seconds <= duration]
    if not starts and duration >= span_seconds + 2 * context_seconds:
      starts = [round((duration - span_seconds) / 2, 2)]
    cases += [SpanCase(name, float(s), float(s + span_seconds)) for s in starts]
  return cases


def baseline_fills(editor: edit_lib.Editor, recording: edit_lib.PreparedRecording, start_s: float, end_s: float,
                   seed: int = 0, fills: Sequence[str] = BASELINES) -> dict[str, np.ndarray]:
  """The `fills` of BASELINES for one span, each the whole recording with the span replaced (module
  docstring); a fill the recording has no room for is left out."""
  wave = recording.wave
  span = editor.plan_span(len(wave), start_s, end_s)
  T, R = recording.latents.shape[0], editor.frames_per_action
  f0, f1 = span.first_step * R, min(span.end_step * R, T)
  fade = int(round(editor.edit_defaults.crossfade_seconds * SAMPLE_RATE))
  render = lambda latents: editor.render_span(wave, latents, span, (f0, f1), fade, seed, recording.gain)
  wanted, out = set(fills), {}
  if "reconstruction" in wanted:
    out["reconstruction"] = render(recording.latents)
  length = span.end - span.start
  if "envelope_noise" in wanted:
    noise = baselines.envelope_vocoder(wave[span.start:span.end], editor.frame_rate, recording.latents.shape[1])
    out["envelope_noise"] = splice.splice(wave, noise.astype(np.float32), span.start, span.end, fade,
                                          generated_offset=span.start)
  if "loop" in wanted and span.start >= length:
    out["loop"] = splice.splice(wave, wave[span.start - length:span.start], span.start, span.end, fade,
                                generated_offset=span.start)
  found = editor.retrieval_fill(recording.latents, f0, f1, wave) if "retrieval" in wanted else None
  if found is not None:
    latents = recording.latents.copy()
    latents[f0:f1] = found[0]
    out["retrieval"] = render(latents)
  return out


def score_fill(original: np.ndarray, filled: np.ndarray, start: int, end: int, trim: int, seam_half: int
               ) -> dict[str, float]:
  """span_music scores of the inner span and the mean seam distance of one filled recording."""
  scores = span_music.span_scores(span_music.inner(filled, start, end, trim),
                                  span_music.inner(original, start, end, trim))
  seams = edit_metrics.seam_distances(original, filled, start, end, seam_half)
  return dict(scores, seam=float(np.mean(seams)) if len(seams) else float("nan"))


def evaluate(editor: edit_lib.Editor, recordings: Mapping[str, np.ndarray], *, starts_s: Sequence[float] = (10.0, 30.0, 50.0),
             span_seconds: float = 2.0, trim_seconds: float = 0.1, seam_seconds: float = 0.1,
             seed: int = 0, edit_settings: Mapping[str, Any] | None = None,
             fills: Sequence[str] = FILLS) -> list[dict[str, Any]]:
  """One row per (span, fill): recording, start_s, fill and the scores (module docstring). `edit_settings`
  go to every `Editor.edit` call (guidance, action guidance, start level, ...)."""
  settings = dict(edit_settings or {})
  trim, seam_half = int(round(trim_seconds * SAMPLE_RATE)), int(round(seam_seconds * SAMPLE_RATE))
  prepared = {name: editor.prepare(wave, name) for name, wave in recordings.items()}
  cases = span_cases({k: len(r.wave) / SAMPLE_RATE for k, r in prepared.items()}, starts_s, span_seconds)
  rng = np.random.default_rng(seed)
  rows = []
  for index, case in enumerate(cases):
    recording = prepared[case.recording]
    span = editor.plan_span(len(recording.wave), case.start_s, case.end_s)
    requested = rng.integers(0, editor.num_actions, span.num_steps)
    filled = baseline_fills(editor, recording, case.start_s, case.end_s, seed + index,
                            [f for f in fills if f in BASELINES])
    extra: dict[str, dict[str, Any]] = {}
    if "resample" in fills:
      filled["resample"] = editor.edit(recording, case.start_s, case.end_s, resample=True, seed=seed + index,
                                       **settings).wave
    if "random" in fills:
      out = editor.edit(recording, case.start_s, case.end_s, actions=requested.tolist(), seed=seed + index,
                        **settings).wave
      filled["random"] = out
      read = editor.infer_actions(out).codes[span.first_step:span.end_step]
      extra["random"] = dict(accuracy=float(np.mean(read == requested)), requested=requested.tolist(),
                             moves=_span_moves(editor, out, span),
                             original_codes=recording.codes[span.first_step:span.end_step].tolist(),
                             original_moves=_span_moves(editor, recording.wave, span))
    for name in fills:
      if name in filled:
        rows.append(dict(recording=case.recording, start_s=case.start_s, fill=name,
                         **score_fill(recording.wave, filled[name], span.start, span.end, trim, seam_half),
                         **extra.get(name, {})))
  return rows


def _span_moves(editor: edit_lib.Editor, wave: np.ndarray, span) -> dict[str, list[float]]:
  """The move descriptors of the span's action steps in `wave`, as lists (kept in the rows' JSON)."""
  step_samples = int(round(editor.step_seconds * SAMPLE_RATE))
  moves = heard_requests.span_moves(wave, step_samples, span.first_step, span.end_step, SAMPLE_RATE)
  return {name: values.tolist() for name, values in moves.items()}


def summarise(rows: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, float]]:
  """Per fill: the mean of every score over its spans, the largest |level_db| and the span count."""
  out: dict[str, dict[str, float]] = {}
  for fill in dict.fromkeys(r["fill"] for r in rows):
    mine = [r for r in rows if r["fill"] == fill]
    keys = [k for k, v in mine[0].items()
            if k not in ("recording", "start_s", "fill") and np.isscalar(v) and not isinstance(v, str)]
    mean = lambda k: float(np.nanmean([r[k] for r in mine])) if any(math.isfinite(r[k]) for r in mine) else float("nan")
    out[fill] = {k: mean(k) for k in keys}
    out[fill]["level_db_max_abs"] = float(np.nanmax([abs(r["level_db"]) for r in mine]))
    out[fill]["spans"] = len(mine)
  return out


def requests_heard(rows: Sequence[Mapping[str, Any]], seed: int = 0) -> dict[str, dict[str, dict[str, float]]]:
  """The `random` rows' requests heard in their audio (`heard_requests.heard`): {"edits": by the requests,
  "original": the unedited steps by the LAM's reading of them} -> {move: {"eta2", "chance"}}."""
  mine = [r for r in rows if r["fill"] == "random"]
  as_arrays = lambda key: [{k: np.asarray(v) for k, v in r[key].items()} for r in mine]
  return dict(edits=heard_requests.heard([np.asarray(r["requested"]) for r in mine], as_arrays("moves"), seed=seed),
              original=heard_requests.heard([np.asarray(r["original_codes"]) for r in mine],
                                            as_arrays("original_moves"), seed=seed))


def span_panels(editor: edit_lib.Editor, wave: np.ndarray, start_s: float, end_s: float,
                edits: Mapping[str, Mapping[str, Any]], context_seconds: float = 0.5, seed: int = 0
                ) -> dict[str, np.ndarray]:
  """Audio to look at: the original, the reconstruction and one edit per entry of `edits` (label -> `Editor.edit`
  keywords, e.g. {"resample": dict(resample=True), "random actions": dict(actions=[...])}), each cut to the
  span with `context_seconds` either side (`plots.stft_figure` draws them side by side)."""
  recording = editor.prepare(wave)
  fills = {"original": recording.wave,
           "reconstruction": baseline_fills(editor, recording, start_s, end_s, seed, ["reconstruction"])[
               "reconstruction"]}
  for label, request in edits.items():
    fills[label] = editor.edit(recording, start_s, end_s, seed=seed, **request).wave
  a = max(0, int(round((start_s - context_seconds) * SAMPLE_RATE)))
  b = int(round((end_s + context_seconds) * SAMPLE_RATE))
  return {label: filled[a:b] for label, filled in fills.items()}
