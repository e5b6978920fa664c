"""The app's work behind the page: opening recordings, edits, continuations and the `/edit` endpoint, with one
`Editor` shared by every visitor (its model calls run one at a time, under a lock).

    service = EditorService.load("runs/demo/dynamics")
    copy = service.open_file("song.wav")                   # or service.open_validation(name)
    service.edit(copy, 12.0, 13.0, actions=[3, 3, 5, 5, 1], seeds=[0, 1, 2, 3], settings={...})
    copy.keep(2); service.write_wav(copy.current.wave)     # written whole or not at all

No user interface here (`ui.py` draws the page); every bad request is an `EditError` or a `BadAudioError`
with a sentence saying what is wrong, raised before anything is written.
"""

from __future__ import annotations

import collections
import hashlib
import itertools
import os
import tempfile
import threading
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import soundfile as sf

from genie_audio import codec
from genie_audio.app import legend as legend_lib
from genie_audio.app import session
from genie_audio.app.figures import TimeAxis, timeline_image
from genie_audio.app.session import Version, WorkingCopy
from genie_audio.data import pipelines
from genie_audio.data.manifest import SAMPLE_RATE
from genie_audio.editing.action_reader import ActionReader, RecordingRef
from genie_audio.editing.edit import Editor
from genie_audio.editing.requests import EditError, EditResult, PreparedRecording
from genie_audio.eval.action_analysis import write_atomically
from genie_audio.runs import trained_run

Progress = Callable[[float, str], None]
MAX_OPEN_S = 600.0      # longer uploads are refused (memory and encoding time per request)
CLOSE_UP_S = 6.0        # seconds around a span in its close-up picture (more if the span is longer)
ENCODED_CACHE = 4       # recordings kept encoded, by content: action sources and files sent to /edit


def no_progress(fraction: float, text: str) -> None:
  del fraction, text


class EditorService:
  """One dynamics run served to the page: editor, legend, validation recordings and an output folder."""

  def __init__(self, editor: Editor, workdir: str, reader: ActionReader, legend: dict[int, str],
               legend_source: str, output_dir: str | os.PathLike | None = None):
    self.editor, self.workdir, self.reader = editor, str(workdir), reader
    self.legend, self.legend_source = legend, legend_source
    self.output_dir = Path(output_dir or tempfile.mkdtemp(prefix="genie_audio_app_"))
    self.output_dir.mkdir(parents=True, exist_ok=True)
    self._lock = threading.Lock()
    self._encoded: collections.OrderedDict[str, PreparedRecording] = collections.OrderedDict()
    self._names = itertools.count()
    try:
      self._validation = {ref.name: ref for ref in reader.recordings("validation")}
    except (FileNotFoundError, ValueError):   # latents without their dataset: uploads only
      self._validation: dict[str, RecordingRef] = {}

  @classmethod
  def load(cls, workdir: str | os.PathLike, output_dir: str | os.PathLike | None = None,
           cache_dir: str | os.PathLike | None = None) -> "EditorService":
    editor = Editor.load(workdir)
    reader = ActionReader(editor.lam, trained_run.lam_latent_dir(editor.lam))   # the editor's LAM, no reload
    legend, source = legend_lib.run_legend(workdir, reader, Path(cache_dir) if cache_dir else None)
    return cls(editor, workdir, reader, legend, source, output_dir)

  # ------------------------------------------------------------------------------------------- recordings

  def recording_names(self) -> list[str]:
    return sorted(self._validation)

  def read_validation(self, name: str) -> np.ndarray:
    ref = self._validation.get(name)
    if ref is None:
      raise EditError(f"{name!r} is not one of this run's {len(self._validation)} validation recordings")
    return pipelines.read_wave(ref.audio_path, 0, ref.num_samples)

  def read_file(self, path: str | os.PathLike | None) -> np.ndarray:
    """Any file data preparation reads, as 16 kHz mono; an error naming the file otherwise."""
    if not path or not os.path.isfile(path):
      raise EditError(f"{path or 'no file'}: choose an audio file to open")
    wave = codec.load_audio(path)   # BadAudioError naming the file if it is not audio
    if len(wave) / SAMPLE_RATE > MAX_OPEN_S:
      raise EditError(f"{Path(path).name} lasts {len(wave) / SAMPLE_RATE:.0f} s; the editor opens recordings of "
                      f"up to {MAX_OPEN_S:.0f} s (cut it first)")
    return wave

  def open_file(self, path: str | os.PathLike) -> WorkingCopy:
    wave = self.read_file(path)
    return self.start(Path(path).name, wave)

  def open_validation(self, name: str) -> WorkingCopy:
    return self.start(name, self.read_validation(name))

  def start(self, name: str, wave: np.ndarray) -> WorkingCopy:
    copy = WorkingCopy.start(name, wave)
    self.prepared(copy.current)
    return copy

  def prepared(self, version: Version) -> PreparedRecording:
    """The version's encoding and timeline, computed once."""
    if version.prepared is None:
      with self._lock:
        version.prepared = self.editor.prepare(version.wave)
    return version.prepared

  def prepare_cached(self, wave: np.ndarray, name: str = "wave") -> PreparedRecording:
    """`Editor.prepare`, remembered for the last few recordings by their samples: a script sending one file
    to /edit again and again, or one source of actions, is encoded once."""
    key = hashlib.sha1(np.ascontiguousarray(wave, np.float32).tobytes()).hexdigest()
    if key not in self._encoded:
      with self._lock:
        self._encoded[key] = self.editor.prepare(wave, name)
      while len(self._encoded) > ENCODED_CACHE:
        self._encoded.popitem(last=False)
    self._encoded.move_to_end(key)
    return self._encoded[key]

  def source(self, name: str | None, path: str | None) -> PreparedRecording:
    """Another recording to take actions from (a validation recording by name, or an uploaded file)."""
    if not name and not path:
      raise EditError("choose the recording to take the actions from (a validation recording or a file)")
    return self.prepare_cached(self.read_file(path) if path else self.read_validation(name or ""), "actions_from")

  # ---------------------------------------------------------------------------------------------- requests

  def span_actions(self, copy: WorkingCopy, start_s: Any, end_s: Any) -> tuple[list[int], list[int]]:
    """(the steps [first, end) covering the span, their inferred actions) of the current version."""
    start, end = session.check_span(start_s, end_s, copy.current.duration_s)
    span = self.editor.plan_span(len(copy.current.wave), start, end)
    codes = self.prepared(copy.current).codes
    return [span.first_step, span.end_step], codes[span.first_step:span.end_step].tolist()

  def edit(self, copy: WorkingCopy, start_s: Any, end_s: Any, *, seeds: Sequence[int], settings: dict[str, Any],
           actions: list[int] | None = None, actions_from: PreparedRecording | None = None,
           actions_from_start_s: float | None = None, progress: Progress = no_progress) -> list[EditResult]:
    """Variations of an edit of the current version (resample when neither actions nor actions_from)."""
    start, end = session.check_span(start_s, end_s, copy.current.duration_s)
    prepared = self.prepared(copy.current)
    progress(0.1, f"generating {len(seeds)} variation(s) of {start:g}-{end:g} s")
    with self._lock:
      results = self.editor.edit_variations(
          prepared, start, end, seeds=seeds, actions=actions, actions_from=actions_from,
          actions_from_start_s=actions_from_start_s, resample=actions is None and actions_from is None, **settings)
    copy.offer(results)
    return results

  def extend(self, copy: WorkingCopy, seconds: Any, at: str, *, seeds: Sequence[int], settings: dict[str, Any],
             actions: list[int] | None = None, progress: Progress = no_progress) -> list[EditResult]:
    """Variations of a continuation of the current version by `seconds` at its `at` ('end' or 'start')."""
    seconds, at = session.check_extension(seconds, at)
    prepared = self.prepared(copy.current)
    progress(0.1, f"continuing {seconds:g} s at the {at}: {len(seeds)} variation(s)")
    with self._lock:
      results = self.editor.extend_variations(prepared, seconds, seeds=seeds, at=at, actions=actions, **settings)
    copy.offer(results)
    return results

  def api_edit(self, audio_path: str, start_s: Any, end_s: Any, actions_text: str | None, guidance_scale: Any,
               seed: Any) -> str:
    """The `/edit` endpoint: the edited file's path (16 kHz mono float WAV); empty actions: a resample."""
    copy = WorkingCopy.start(Path(audio_path or "input").name, self.read_file(audio_path))
    copy.current.prepared = self.prepare_cached(copy.current.wave)
    settings = dict(guidance_scale=session.number(guidance_scale, "guidance scale"))
    results = self.edit(copy, start_s, end_s, seeds=session.seeds_for(seed, 1), settings=settings,
                        actions=session.parse_actions(actions_text))
    return self.write_wav(results[0].wave, "edit")

  # ----------------------------------------------------------------------------------------------- outputs

  def write_wav(self, wave: np.ndarray, stem: str, listening: bool = False) -> str:
    """Writes `wave` atomically to a new file of the output folder: float samples (exact: outside an edited
    span, equal to the input), or 16-bit clipped for the page's players (`listening`)."""
    path = self.output_dir / f"{stem}_{next(self._names)}.wav"
    subtype = "PCM_16" if listening else "FLOAT"
    data = np.clip(wave, -1.0, 1.0) if listening else wave
    write_atomically(path, lambda tmp: sf.write(tmp, data, SAMPLE_RATE, subtype=subtype, format="WAV"))
    return str(path)

  def write_text(self, text: str, stem: str, suffix: str = ".json") -> str:
    path = self.output_dir / f"{stem}_{next(self._names)}{suffix}"
    write_atomically(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))
    return str(path)

  def picture(self, copy: WorkingCopy, span: tuple[float, float] | None, close_up: bool = False
              ) -> tuple[np.ndarray, TimeAxis]:
    """The current version's picture, whole, or (`close_up`) around the span, where its steps can be read."""
    version = copy.current
    draw = lambda **kw: timeline_image(version.wave, self.prepared(version).codes, self.editor.step_seconds,
                                       self.editor.num_actions, span=span, **kw)
    if not close_up:
      return draw(title=f"{copy.name}: version {copy.position} of {len(copy.versions) - 1}, "
                        f"{version.duration_s:.2f} s, actions every {self.editor.step_seconds:g} s")
    middle, half = sum(span) / 2, max(CLOSE_UP_S, span[1] - span[0] + 2 * self.editor.step_seconds) / 2
    return draw(view=(middle - half, middle + half), height_px=300,
                title=f"close-up: {span[0]:g}-{span[1]:g} s")

