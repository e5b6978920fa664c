"""Edits a span of a recording with a dynamics run: new actions, actions of another recording, or a resample.

  python launch/edit.py --workdir runs/dynamics --input song.wav --show            # the action timeline
  python launch/edit.py --workdir runs/dynamics --input song.wav --start 12.5 --end 15.0 --actions 3,3,5,5 \
      --output out.wav      # or --actions-from other.wav [--actions-from-start 3.0], or --resample --seed 1
  python launch/edit.py --workdir runs/dynamics --input song.wav --extend-end 4.0 [--actions 3,3,...] \
      --output longer.wav   # continue 4 s after the end (--extend-start: before the start); without
                            # --actions the model continues with no action asked

The output is 16 kHz mono (the input's 16 kHz mono version outside the span, sample for sample), written
atomically; an invalid request writes nothing. The last line printed is one JSON object.
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from absl import app, flags  # noqa: E402
from absl import logging as absl_logging  # noqa: E402
import soundfile as sf  # noqa: E402

from genie_audio import codec  # noqa: E402
from genie_audio.data import audio  # noqa: E402
from genie_audio.data.manifest import SAMPLE_RATE  # noqa: E402
from genie_audio.editing.edit import Editor  # noqa: E402
from genie_audio.editing.requests import EditError  # noqa: E402

_WORKDIR = flags.DEFINE_string("workdir", None, "Dynamics run folder.", required=True)
_INPUT = flags.DEFINE_string("input", None, "Audio file to edit (any rate, mono or stereo).", required=True)
_OUTPUT = flags.DEFINE_string("output", None, "Where to write the edited audio (16 kHz mono).")
_START = flags.DEFINE_float("start", None, "Span start, seconds.")
_END = flags.DEFINE_float("end", None, "Span end, seconds.")
_ACTIONS = flags.DEFINE_string("actions", None, "One action id per action step of the span, e.g. 3,3,5,5.")
_FROM = flags.DEFINE_string("actions-from", None, "Take the span's actions from this recording.")
_FROM_START = flags.DEFINE_float("actions-from-start", None, "Where in --actions-from (default: --start).")
_RESAMPLE = flags.DEFINE_bool("resample", False, "Keep the span's own actions, draw a new variation.")
_GUIDANCE = flags.DEFINE_float("guidance", None, "Classifier-free guidance scale (default: the run's).")
_MAX_T = flags.DEFINE_float("guidance-max-t", None, "Guidance above 1 acts only at noise levels t <= this "
                            "(default: the run's).")
_ACTION_GUIDANCE = flags.DEFINE_float("action-guidance", None, "The LAM's pull towards the requested actions, "
                                      "0 = none (default: the run's).")
_START_T = flags.DEFINE_float("start-t", None, "Noise level the span starts from: 1 = pure noise, below 1 = the "
                              "best-matching passage elsewhere in the recording noised to it (default: the run's).")
_STEPS = flags.DEFINE_integer("steps", None, "In-painting ODE steps (default: the run's).")
_SEED = flags.DEFINE_integer("seed", 0, "Noise seed.")
_CROSSFADE = flags.DEFINE_float("crossfade", None, "Crossfade at the seams, seconds (default: the run's).")
_EXTEND_END = flags.DEFINE_float("extend-end", None, "Continue the recording after its end by S seconds.")
_EXTEND_START = flags.DEFINE_float("extend-start", None, "Continue the recording before its start by S seconds.")
_SHOW = flags.DEFINE_bool("show", False, "Print the input's action timeline.")


def read_input(path: str):
  if not os.path.isfile(path):
    raise FileNotFoundError(f"{path}: no such file")
  return codec.load_audio(path)  # BadAudioError naming the file if it is not audio


def parse_actions(text: str) -> list[int]:
  try:
    return [int(a) for a in text.split(",") if a.strip()]
  except ValueError:
    raise EditError(f"--actions {text!r}: expected comma-separated action ids, e.g. 3,3,5,5") from None


def write_atomically(path: str, wave) -> None:
  directory, name = os.path.split(os.path.abspath(path))
  stem, ext = os.path.splitext(name)
  tmp = os.path.join(directory, f".{stem}.{os.getpid()}.tmp{ext}")
  try:
    sf.write(tmp, wave, SAMPLE_RATE, subtype="FLOAT" if ext.lower() == ".wav" else None)
    os.replace(tmp, path)
  finally:
    if os.path.exists(tmp):
      os.remove(tmp)


def main(argv):
  absl_logging.set_verbosity(absl_logging.WARNING)  # Orbax logs every restore at INFO
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {argv[1:]}")
  extending = [(at, v) for at, v in (("end", _EXTEND_END.value), ("start", _EXTEND_START.value)) if v is not None]
  editing = (any(v is not None for v in (_START.value, _END.value, _ACTIONS.value, _FROM.value)) or _RESAMPLE.value
             ) and not extending
  try:
    if not _SHOW.value and not editing and not extending:
      raise EditError("nothing to do: give --show, --start/--end with --actions, --actions-from or --resample, "
                      "or --extend-end/--extend-start")
    span_flags = (_START.value, _END.value, _FROM.value, True if _RESAMPLE.value else None)
    if len(extending) > 1 or (extending and any(v is not None for v in span_flags)):
      raise EditError("--extend-end or --extend-start (with --actions or none) is a request of its own: give "
                      "one of them, without --start/--end/--actions-from/--resample")
    if editing and (_START.value is None or _END.value is None):
      raise EditError("an edit needs --start, --end and --output")
    if (editing or extending) and not _OUTPUT.value:
      raise EditError("an edit needs --output")
    if (editing or extending) and not os.path.isdir(os.path.dirname(os.path.abspath(_OUTPUT.value))):
      raise EditError(f"--output {_OUTPUT.value}: its folder does not exist")
    wave = read_input(_INPUT.value)
    other = read_input(_FROM.value) if _FROM.value else None
    actions = parse_actions(_ACTIONS.value) if _ACTIONS.value is not None else None
    editor = Editor.load(_WORKDIR.value)
    summary = {"input": _INPUT.value, "duration_s": round(len(wave) / SAMPLE_RATE, 4)}
    if _SHOW.value:
      timeline = editor.infer_actions(wave)
      for row in timeline.rows():
        print(f"step {row['step']:5d}  {row['start_s']:8.2f} - {row['end_s']:8.2f} s  action {row['action']}")
      summary["timeline"] = [int(a) for a in timeline.codes]
      summary["step_seconds"] = timeline.step_seconds
    if editing:
      result = editor.edit(wave, _START.value, _END.value, actions=actions, actions_from=other,
                           actions_from_start_s=_FROM_START.value, resample=_RESAMPLE.value,
                           guidance_scale=_GUIDANCE.value, guidance_max_t=_MAX_T.value, num_steps=_STEPS.value,
                           crossfade_s=_CROSSFADE.value, action_guidance=_ACTION_GUIDANCE.value, start_t=_START_T.value,
                           seed=_SEED.value)
    if extending:
      (at, seconds), = extending
      result = editor.extend(wave, seconds, at=at, actions=actions, guidance_scale=_GUIDANCE.value,
                             guidance_max_t=_MAX_T.value, num_steps=_STEPS.value, crossfade_s=_CROSSFADE.value,
                             action_guidance=_ACTION_GUIDANCE.value, start_t=_START_T.value, seed=_SEED.value)
    if editing or extending:
      write_atomically(_OUTPUT.value, result.wave)
      summary.update(output=_OUTPUT.value, **result.info)
  except (FileNotFoundError, ValueError, audio.BadAudioError, sf.LibsndfileError) as e:
    print(f"error: {e}", file=sys.stderr)
    print(json.dumps({"error": str(e)}))
    return 1
  print(json.dumps(summary))
  return 0


if __name__ == "__main__":
  app.run(main)
