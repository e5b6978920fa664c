"""The editor's page (Gradio): open, see, select, edit or continue, listen, keep, undo, download.

`build_app(service)` lays out the page and wires every control to `EditorService` (the work) and
`session.WorkingCopy` (the per-visitor state: versions, variations on offer). A bad request is answered in the
status line at the top of the page (and, for the `/edit` endpoint, as the client's error); the server keeps
serving. Model work runs one request at a time (one concurrency group), with a progress bar.
"""

from __future__ import annotations

import html
import os
from typing import Any

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")   # read when gradio is imported: nothing leaves
import gradio as gr  # noqa: E402

from genie_audio.app import session  # noqa: E402
from genie_audio.app.figures import action_hex_colors  # noqa: E402
from genie_audio.app.service import EditorService  # noqa: E402
from genie_audio.editing.requests import EditResult, run_action_guidance, run_guidance_max_t  # noqa: E402

REQUEST_ERRORS = (ValueError, OSError)   # EditError, BadAudioError, unreadable files: said in the page
CONTEXT_S = 1.5      # seconds of audio each side of the span in the players beside the original
MODEL = "model"      # the concurrency group of every request that runs the model
MODES = ("resample", "my actions", "from another recording")

HELP = """\
**Open** a recording (upload any audio file, or pick one of the run's validation recordings). The picture shows
its waveform, its **action timeline** (one coloured band per action step, numbered) and its spectrogram; the
legend says what each action tends to do. **Select a span**: type its start and end, or click the picture twice.
The span's inferred actions appear; **edit** them step by step, take them from another recording, or resample.
**Continue** adds seconds after the end or before the start. Each request makes *N* variations (one per seed) to
play beside the current version; **keep** one and it becomes the working copy, which later edits build on;
undo and redo move through the kept versions. Guidance scale: how strongly the actions steer (1: plainly
conditional; above 1 it exaggerates them, only at noise levels up to the guidance interval). Action guidance:
how hard the action model that defined the actions pulls each sampler step towards them (0: off). Sampler steps:
ODE steps of the in-painting. Crossfade: the equal-power join with the original at each seam."""


def legend_html(service: EditorService) -> str:
  colors = action_hex_colors(service.editor.num_actions)
  rows = [f'<div><span style="background:{colors[a]};padding:0 .6em;border-radius:3px;color:#000">{a}</span> '
          f'{html.escape(text)}</div>' for a, text in sorted(service.legend.items())]
  return f'<div id="legend-lines">{"".join(rows)}</div><small>legend: {html.escape(service.legend_source)}</small>'


def error_text(e: Exception) -> str:
  return f"**Could not do that:** {e}"


class Page:
  """The components of the page and the handlers that fill them."""

  def __init__(self, service: EditorService):
    self.service = service
    self.defaults = service.editor.edit_defaults

  def sampler_defaults(self) -> dict[str, Any]:
    """The sampler controls' starting values, keyed by the `generate` / `extend` parameters they fill: the
    sliders show them, and a script calling the handlers passes them (benchmarks/app.py)."""
    d = self.defaults
    return dict(guidance=float(d.guidance_scale), max_t=run_guidance_max_t(d), pull=run_action_guidance(d),
                steps=int(d.num_steps), crossfade=float(d.crossfade_seconds))

  # ------------------------------------------------------------------------------------------------ views

  def view(self, copy: session.WorkingCopy, start: Any, end: Any, message: str) -> dict:
    """Everything that shows the current version: picture, span actions, players, downloads, status."""
    span = self.valid_span(copy, start, end)
    version = copy.current
    out = {self.copy_state: copy, **self.pictures(copy, span), self.status: message,
           self.working: self.service.write_wav(version.wave, "working", listening=True),
           self.download_wav: self.service.write_wav(version.wave, "working_copy"),
           self.download_json: self.service.write_text(copy.info_json(), "edit_info")}
    out.update(self.span_view(copy, span))
    out.update(self.offer_view([], None))
    out[self.original_player] = gr.update(value=None, label="current version around the span")
    return out

  def shifted_view(self, copy: session.WorkingCopy, start: Any, end: Any, shift: float, message: str) -> dict:
    """`view` with the span moved by `shift` seconds: audio added before the start moves the music the span
    was on."""
    if shift and start is not None and end is not None:
      start, end = round(start + shift, 4), round(end + shift, 4)
      return {**self.view(copy, start, end, message), self.start: start, self.end: end}
    return self.view(copy, start, end, message)

  def pictures(self, copy: session.WorkingCopy, span: tuple[float, float] | None) -> dict:
    image, axis = self.service.picture(copy, span)
    out = {self.picture: image, self.axis_state: axis}
    if span is None:
      return {**out, self.close_up: gr.update(value=None, visible=False), self.close_axis_state: None}
    close, close_axis = self.service.picture(copy, span, close_up=True)
    return {**out, self.close_up: gr.update(value=close, visible=True), self.close_axis_state: close_axis}

  def valid_span(self, copy: session.WorkingCopy, start: Any, end: Any) -> tuple[float, float] | None:
    try:
      return session.check_span(start, end, copy.current.duration_s)
    except session.EditError:
      return None

  def span_view(self, copy: session.WorkingCopy, span: tuple[float, float] | None) -> dict:
    if span is None:
      return {self.span_actions: "(select a span)"}
    steps, codes = self.service.span_actions(copy, *span)
    text = ",".join(map(str, codes))
    return {self.span_actions: f"steps {steps[0]}-{steps[1] - 1}: {text}", self.actions: text}

  def offer_view(self, results: list[EditResult], original: tuple | None) -> dict:
    """The players: the current version around the span, and each variation around it."""
    out = {}
    if original is not None:
      wave, start, end = original
      clip, offset = session.excerpt(wave, start, end, CONTEXT_S)
      out[self.original_player] = gr.update(
          value=self.service.write_wav(clip, "original", listening=True),
          label=f"current version: span at {offset:.2f}-{offset + end - start:.2f} s of this excerpt")
    for k, player in enumerate(self.players):
      if k >= len(results):
        out[player] = gr.update(value=None, visible=False)
        continue
      start, end = span_of(results[k])
      clip, offset = session.excerpt(results[k].wave, start, end, CONTEXT_S)
      out[player] = gr.update(value=self.service.write_wav(clip, f"variation{k}", listening=True), visible=True,
                              label=f"variation {k + 1} (seed {results[k].info['seed']}): span at "
                                    f"{offset:.2f}-{offset + end - start:.2f} s of this excerpt")
    return out

  # --------------------------------------------------------------------------------------------- handlers

  def open_upload(self, path, start, end):
    try:
      copy = self.service.open_file(path)
      return self.view(copy, start, end, f"Opened {copy.name}.")
    except REQUEST_ERRORS as e:
      return {self.status: error_text(e)}

  def open_pick(self, name, start, end):
    try:
      return self.view(self.service.open_validation(name), start, end, f"Opened {name}.")
    except REQUEST_ERRORS as e:
      return {self.status: error_text(e)}

  def click(self, pending, axis, evt: gr.SelectData):
    """First click on the picture: the span's start; second click: its end (in either order)."""
    if axis is None:
      return {self.status: "Open a recording first."}
    t = round(axis.seconds_at(evt.index[0]), 2)
    if pending is None:
      return {self.start: t, self.click_state: t, self.status: f"Span start {t:g} s: click again for its end."}
    first, last = sorted((pending, t))
    return {self.start: first, self.end: last, self.click_state: None, self.status: f"Span {first:g}-{last:g} s."}

  def show_span(self, copy, start, end):
    if copy is None:
      return {}
    try:
      span = session.check_span(start, end, copy.current.duration_s)
      return {**self.pictures(copy, span), **self.span_view(copy, span)}
    except REQUEST_ERRORS as e:
      return {self.span_actions: f"(no span: {e})"}

  def generate(self, copy, start, end, mode, actions, source_name, source_path, source_start, count, seed,
               guidance, max_t, pull, steps, crossfade, progress=gr.Progress()):
    try:
      if copy is None:
        raise session.EditError("open a recording first")
      request = dict(seeds=session.seeds_for(seed, count),
                     settings=session.check_settings(guidance, max_t, steps, crossfade, pull),
                     progress=lambda f, text: progress(f, desc=text))
      if mode == "my actions":
        request["actions"] = session.parse_actions(actions)
        if request["actions"] is None:
          raise session.EditError("write the span's actions (e.g. 3,3,5), or choose resample")
      elif mode == "from another recording":
        request["actions_from"] = self.service.source(source_name, source_path)
        request["actions_from_start_s"] = None if source_start is None else session.number(source_start, "from")
      results = self.service.edit(copy, start, end, **request)
      original = (copy.current.wave, results[0].info["start_s"], results[0].info["end_s"])
      return {self.copy_state: copy, self.status: self.summary(results), **self.offer_view(results, original)}
    except REQUEST_ERRORS as e:
      return {self.status: error_text(e)}

  def extend(self, copy, at, seconds, actions, count, seed, guidance, max_t, pull, steps, crossfade,
             progress=gr.Progress()):
    try:
      if copy is None:
        raise session.EditError("open a recording first")
      results = self.service.extend(copy, seconds, at, seeds=session.seeds_for(seed, count),
                                    settings=session.check_settings(guidance, max_t, steps, crossfade, pull),
                                    actions=session.parse_actions(actions),
                                    progress=lambda f, text: progress(f, desc=text))
      duration = copy.current.duration_s
      seam = (max(0.0, duration - 2 * CONTEXT_S), duration) if at == "end" else (0.0, min(duration, 2 * CONTEXT_S))
      return {self.copy_state: copy, self.status: self.summary(results),
              **self.offer_view(results, (copy.current.wave, *seam))}
    except REQUEST_ERRORS as e:
      return {self.status: error_text(e)}

  def summary(self, results: list[EditResult]) -> str:
    info = results[0].info
    what = (f"continued {info['added_s']:g} s at the {info['at']}" if "at" in info
            else f"edited {info['start_s']:g}-{info['end_s']:g} s")
    return (f"Ready: {len(results)} variation(s): {what}, actions {info['actions_after']}, guidance "
            f"{info['guidance_scale']:g}, {info['num_steps']} steps. Listen, then keep one.")

  def keep(self, copy, choice, start, end):
    try:
      if copy is None:
        raise session.EditError("open a recording first")
      copy.keep(int(choice) - 1)
      return self.shifted_view(copy, start, end, prepended(copy.current.info),
                               f"Kept variation {choice}: version {copy.position}.")
    except REQUEST_ERRORS as e:
      return {self.status: error_text(e)}

  def move(self, copy, start, end, forward: bool):
    try:
      if copy is None:
        raise session.EditError("open a recording first")
      shift = prepended(copy.redo().info) if forward else -prepended(copy.current.info)
      if not forward:
        copy.undo()
      return self.shifted_view(copy, start, end, shift,
                               f"Now at version {copy.position} of {len(copy.versions) - 1}.")
    except REQUEST_ERRORS as e:
      return {self.status: error_text(e)}

  def api_edit(self, audio_path, start, end, actions, guidance, seed):
    """The scripting endpoint: (audio file, start s, end s, actions '3,3,5' or '' to resample, guidance scale,
    seed) -> the edited audio file (16 kHz mono float WAV)."""
    try:
      return self.service.api_edit(audio_path, start, end, actions, guidance, seed)
    except REQUEST_ERRORS as e:
      raise gr.Error(str(e)) from None

  # ---------------------------------------------------------------------------------------------- layout

  def build(self) -> gr.Blocks:
    service, d, sampler = self.service, self.defaults, self.sampler_defaults()
    editor = service.editor
    with gr.Blocks(title="genie-audio editor", analytics_enabled=False) as demo:
      gr.Markdown(f"## genie-audio editor\n`{service.workdir}`: {editor.num_actions} actions, one every "
                  f"{editor.step_seconds:g} s")
      self.status = gr.Markdown("Open a recording to start.", elem_id="status")
      self.copy_state, self.click_state = gr.State(None), gr.State(None)
      self.axis_state, self.close_axis_state = gr.State(None), gr.State(None)   # pixel -> seconds per picture
      with gr.Row():
        upload = gr.Audio(label="Open a recording (upload)", sources=["upload"], type="filepath", elem_id="upload")
        with gr.Column():
          pick = gr.Dropdown(service.recording_names(), label="...or a validation recording of the run",
                             elem_id="pick")
          open_button = gr.Button("Open the validation recording", elem_id="open")
      gr.Markdown("**The recording**: waveform, action timeline (a numbered band per step), spectrogram. Click "
                  "twice on it (or on the close-up) to select a span.")
      self.picture = gr.Image(show_label=False, interactive=False, format="png", elem_id="picture")
      self.close_up = gr.Image(show_label=False, interactive=False, format="png", visible=False,
                               elem_id="close_up")
      gr.HTML(legend_html(service), label="what each action does")
      with gr.Row():
        self.start = gr.Number(label="span start (s)", elem_id="start")
        self.end = gr.Number(label="span end (s)", elem_id="end")
        self.span_actions = gr.Textbox(label="the span's inferred actions", interactive=False,
                                       elem_id="span_actions")
      with gr.Tab("Edit the span"):
        mode = gr.Radio(list(MODES), value="resample", label="the span's actions", elem_id="mode")
        self.actions = gr.Textbox(label="my actions, one per step (e.g. 3,3,5)", elem_id="actions")
        with gr.Accordion("another recording to take the actions from", open=False), gr.Row():
          source_name = gr.Dropdown(service.recording_names(), label="a validation recording")
          source_path = gr.Audio(label="...or a file", sources=["upload"], type="filepath")
          source_start = gr.Number(label="from second (empty: the span's start)")
        edit_button = gr.Button("Generate variations", variant="primary", elem_id="generate")
      with gr.Tab("Continue"):
        at = gr.Radio(["end", "start"], value="end", label="continue after the end, or before the start",
                      elem_id="at")
        seconds = gr.Number(2.0, label="by seconds", elem_id="extend_seconds")
        extend_actions = gr.Textbox(label="actions of the new steps (empty: the model's own continuation)")
        extend_button = gr.Button("Generate continuations", variant="primary", elem_id="extend")
      with gr.Accordion("Variations and sampler", open=True):
        with gr.Row():
          count = gr.Slider(1, session.MAX_VARIATIONS, value=1, step=1, label="variations", elem_id="count")
          seed = gr.Number(0, precision=0, label="first seed (variation k: seed + k - 1)", elem_id="seed")
          guidance = gr.Slider(0.0, 8.0, value=sampler["guidance"], step=0.5, label="guidance scale")
          max_t = gr.Slider(0.0, 1.0, value=sampler["max_t"], step=0.05,
                            label="guidance interval (scale > 1 only at noise <= this)")
          pull = gr.Slider(0.0, 10.0, value=sampler["pull"], step=0.5,
                           label="action guidance (the action model's pull; 0 = off)")
          steps = gr.Slider(1, 64, value=sampler["steps"], step=1, label="sampler steps")
          crossfade = gr.Slider(0.0, 0.5, value=sampler["crossfade"], step=0.01, label="crossfade (s)")
      with gr.Row():
        self.original_player = gr.Audio(label="current version around the span", interactive=False,
                                        elem_id="original_excerpt")
        self.players = [gr.Audio(label=f"variation {k + 1}", visible=False, interactive=False,
                                 elem_id=f"variation_{k}") for k in range(session.MAX_VARIATIONS)]
      with gr.Row():
        choice = gr.Radio([str(k + 1) for k in range(session.MAX_VARIATIONS)], value="1",
                          label="variation to keep", elem_id="choice")
        keep_button = gr.Button("Keep it", elem_id="keep")
        undo_button = gr.Button("Undo", elem_id="undo")
        redo_button = gr.Button("Redo", elem_id="redo")
      self.working = gr.Audio(label="working copy (every kept edit)", interactive=False, elem_id="working")
      with gr.Row():
        self.download_wav = gr.File(label="download the working copy (WAV)", elem_id="download_wav")
        self.download_json = gr.File(label="download the edits (JSON)", elem_id="download_json")
      with gr.Accordion("Scripting: the /edit endpoint", open=False):
        api_inputs = [gr.Audio(label="audio file", sources=["upload"], type="filepath"),
                      gr.Number(label="start (s)"), gr.Number(label="end (s)"),
                      gr.Textbox(label="actions (e.g. 3,3,5; empty: resample)"),
                      gr.Number(float(d.guidance_scale), label="guidance scale"), gr.Number(0, label="seed")]
        api_output = gr.Audio(label="edited audio", type="filepath", interactive=False)
        gr.Button("Edit").click(self.api_edit, api_inputs, api_output, api_name="edit", concurrency_id=MODEL)
      with gr.Accordion("Help: what each control does", open=False):
        gr.Markdown(HELP)

      pictures = [self.picture, self.axis_state, self.close_up, self.close_axis_state]
      view = [self.copy_state, *pictures, self.status, self.start, self.end, self.working, self.download_wav,
              self.download_json, self.span_actions, self.actions, self.original_player, *self.players]
      private = dict(api_visibility="private")
      upload.upload(self.open_upload, [upload, self.start, self.end], view, concurrency_id=MODEL, **private)
      open_button.click(self.open_pick, [pick, self.start, self.end], view, concurrency_id=MODEL, **private)
      for image, axis in ((self.picture, self.axis_state), (self.close_up, self.close_axis_state)):
        image.select(self.click, [self.click_state, axis], [self.start, self.end, self.click_state, self.status],
                     **private)
      for box in (self.start, self.end):
        box.change(self.show_span, [self.copy_state, self.start, self.end],
                   [*pictures, self.span_actions, self.actions], **private)
      settings = [count, seed, guidance, max_t, pull, steps, crossfade]
      offer = [self.copy_state, self.status, self.original_player, *self.players]
      edit_button.click(self.generate, [self.copy_state, self.start, self.end, mode, self.actions, source_name,
                                        source_path, source_start, *settings], offer, concurrency_id=MODEL,
                        **private)
      extend_button.click(self.extend, [self.copy_state, at, seconds, extend_actions, *settings], offer,
                          concurrency_id=MODEL, **private)
      keep_button.click(self.keep, [self.copy_state, choice, self.start, self.end], view, concurrency_id=MODEL,
                        **private)
      undo_button.click(lambda c, s, e: self.move(c, s, e, False), [self.copy_state, self.start, self.end], view,
                        concurrency_id=MODEL, **private)
      redo_button.click(lambda c, s, e: self.move(c, s, e, True), [self.copy_state, self.start, self.end], view,
                        concurrency_id=MODEL, **private)
    return demo


def prepended(info: dict | None) -> float:
  """Seconds of audio a version added before the start of the one it came from."""
  return info["added_s"] if info and info.get("at") == "start" else 0.0


def span_of(result: EditResult) -> tuple[float, float]:
  """The generated stretch of a result, in its own seconds: an edit's span, or a continuation's new audio."""
  info = result.info
  if "at" not in info:
    return info["start_s"], info["end_s"]
  if info["at"] == "start":
    return 0.0, info["added_s"]
  return info["output_duration_s"] - info["added_s"], info["output_duration_s"]


def build_app(service: EditorService) -> gr.Blocks:
  return Page(service).build()


THEME_FONTS = dict(font=["ui-sans-serif", "system-ui", "sans-serif"], font_mono=["ui-monospace", "monospace"])


def launch(demo: gr.Blocks, host: str, port: int, allowed: list[str], block: bool = True):
  """Serves the page on host:port (no share link, no fonts or analytics from the internet)."""
  demo.queue(default_concurrency_limit=1)
  return demo.launch(server_name=host, server_port=port, share=False, show_error=True, quiet=True,
                     allowed_paths=allowed, prevent_thread_lock=not block,
                     theme=gr.themes.Default(**THEME_FONTS))
