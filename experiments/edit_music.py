"""Issue 23: is the span an edit writes music? Span measures of edits through the editor, per sampler start,
beside the fills that bound them (`genie_audio/eval/edit_music.py`).

    python experiments/edit_music.py --workdir runs/demo/dynamics --start_t 1,0.7,0.5,0.3 \
        [--figure docs/edit_spectrograms.png] [--output runs/demo/edit_music.json]

Spans of 2 s at 10, 30 and 50 s of every validation recording of the run's corpus, and of pieces unlike the
corpus (`genie_audio/testing/ood_audio.py`: synthetic piano chords, and where MMA and FluidSynth are installed an
organ hymn and piano arpeggios over strings). Each --start_t is one arm: 1 starts the in-painting from pure noise
(the editor before issue 23); below 1 it starts from the retrieval fill noised to that level. The baseline fills
(reconstruction, envelope noise, loop, retrieval) do not depend on the arm and are scored once.
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402
from absl import app, flags  # noqa: E402

from benchmarks.common import print_table  # noqa: E402
from experiments.music_sets import unlike_the_corpus, validation_waves  # noqa: E402
from genie_audio.data.manifest import SAMPLE_RATE  # noqa: E402
from genie_audio.editing.edit import Editor  # noqa: E402
from genie_audio.eval import edit_music, plots  # noqa: E402

_WORKDIR = flags.DEFINE_string("workdir", "runs/demo/dynamics", "Trained dynamics run.")
_START_T = flags.DEFINE_list("start_t", ["1", "0.5"], "Noise levels the edits start from (1: pure noise).")
_GUIDANCE = flags.DEFINE_float("guidance", None, "Classifier-free guidance scale (default: the run's).")
_ACTION_GUIDANCE = flags.DEFINE_float("action_guidance", None, "Action guidance weight (default: the run's).")
_STARTS = flags.DEFINE_list("starts", ["10", "30", "50"], "Span start times (s) in every recording.")
_MAX_RECORDINGS = flags.DEFINE_integer("max_recordings", None, "Use at most this many recordings of each set.")
_UNLIKE = flags.DEFINE_bool("unlike", True, "Also score pieces unlike the corpus.")
_FIGURE = flags.DEFINE_string("figure", None, "PNG prefix: spectrograms of the first span of each set "
                              "(PREFIX_validation.png, PREFIX_unlike.png).")
_TABLES = flags.DEFINE_bool("tables", True, "Score the spans (false: only the figures).")
_OUTPUT = flags.DEFINE_string("output", None, "JSON: every row and the summaries.")
_SEED = flags.DEFINE_integer("seed", 0, "Seed of the requests and the edits' noise.")
_MATCH = flags.DEFINE_enum("retrieval_match", None, ["chroma", "latents"], "What the retrieval fill matches "
                           "contexts on (default: the run's config.edit.retrieval_match).")
_LEVEL_MATCH = flags.DEFINE_bool("level_match", None, "Take the decoder's level error, measured on the context "
                                  "margins, out of every decode (default: the run's config.edit.level_match).")
_HARMONY = flags.DEFINE_float("retrieval_harmony", None, "Weight of the original span's own chroma in choosing "
                              "the retrieval fill (0: contexts only; default: the run's).")
_LEVEL = flags.DEFINE_float("retrieval_level", None, "Weight of each frame's level (per dB) beside its chroma in "
                            "the retrieval match (default: the run's).")
_CONTEXT = flags.DEFINE_float("retrieval_context", None, "Seconds of context each side the retrieval fill matches "
                              "(default: the run's).")

COLUMNS = ("tonality", "harmony", "level_db", "level_db_max_abs", "seam", "accuracy", "spans")


def arm_settings(start_t: float) -> dict:
  settings = dict(start_t=start_t)
  if _GUIDANCE.value is not None:
    settings["guidance_scale"] = _GUIDANCE.value
  if _ACTION_GUIDANCE.value is not None:
    settings["action_guidance"] = _ACTION_GUIDANCE.value
  return settings


def heard_columns(heard: dict) -> dict:
  """The loudness and centroid jumps of `edit_music.requests_heard`: edits, chance, original."""
  out = {}
  for move, short in (("loudness_jump_db", "loud jump"), ("centroid_jump_oct", "centroid jump")):
    out.update({f"{short}": heard["edits"][move]["eta2"], f"{short} chance": heard["edits"][move]["chance"],
                f"{short} orig": heard["original"][move]["eta2"]})
  return out


def spectrogram_panels(editor: Editor, wave: np.ndarray, start_s: float, end_s: float, path: str, name: str) -> None:
  """original / reconstruction / resample (from each start level) / random actions (the lowest start level),
  0.5 s either side of the span."""
  edits = {}
  for start_t in sorted(map(float, _START_T.value), reverse=True):
    label = "noise start" if start_t == 1 else f"retrieval start t={start_t:g}"
    edits[f"resample ({label})"] = dict(resample=True, **arm_settings(start_t))
  steps = editor.plan_span(len(wave), start_s, end_s).num_steps
  lowest = min(map(float, _START_T.value))
  random = np.random.default_rng(_SEED.value).integers(0, editor.num_actions, steps).tolist()
  edits[f"random actions (t={lowest:g})"] = dict(actions=random, **arm_settings(lowest))
  panels = edit_music.span_panels(editor, wave, start_s, end_s, edits, seed=_SEED.value)
  figure = plots.stft_figure(panels, max_hz=4000.0, panel_width=3.2,
                             title=f"{name}: {start_s:g}-{end_s:g} s edited (0.5 s of context each side)")
  figure.savefig(path, dpi=90)
  print(f"wrote {path}", flush=True)


def main(argv):
  del argv
  editor = Editor.load(_WORKDIR.value)
  with editor.edit_defaults.unlocked():  # the retrieval arms: the run's own settings otherwise
    if _MATCH.value:
      editor.edit_defaults.retrieval_match = _MATCH.value
    if _CONTEXT.value:
      editor.edit_defaults.retrieval_context_seconds = _CONTEXT.value
    if _HARMONY.value is not None:
      editor.edit_defaults.retrieval_harmony_weight = _HARMONY.value
    if _LEVEL.value is not None:
      editor.edit_defaults.retrieval_level_weight = _LEVEL.value
    if _LEVEL_MATCH.value is not None:
      editor.edit_defaults.level_match = _LEVEL_MATCH.value
  sets = {"validation": validation_waves(_WORKDIR.value)}
  if _UNLIKE.value:
    sets["unlike the corpus"] = unlike_the_corpus()
  if _MAX_RECORDINGS.value:
    sets = {k: dict(list(v.items())[:_MAX_RECORDINGS.value]) for k, v in sets.items()}
  starts = [float(s) for s in _STARTS.value]
  rows, summaries, every_span, heard_rows = [], {}, [], []
  for set_name, waves in (sets.items() if _TABLES.value else ()):
    for index, start_t in enumerate(map(float, _START_T.value)):
      fills = edit_music.FILLS if index == 0 else ("resample", "random")
      found = edit_music.evaluate(editor, waves, starts_s=starts, seed=_SEED.value,
                                  edit_settings=arm_settings(start_t), fills=fills)
      for fill, summary in edit_music.summarise(found).items():
        arm = f"start {start_t:g}" if fill in ("resample", "random") else "-"
        summaries[f"{set_name}/{arm}/{fill}"] = summary
        rows.append({"set": set_name, "arm": arm, "fill": fill, **{k: summary.get(k, "") for k in COLUMNS}})
      print(rows[-1], flush=True)
      every_span += [dict(row, set=set_name, start_t=start_t) for row in found]
      heard = edit_music.requests_heard(found, seed=_SEED.value)
      summaries[f"{set_name}/start {start_t:g}/heard"] = heard
      heard_rows.append({"set": set_name, "arm": f"start {start_t:g}", **heard_columns(heard)})
  if rows:
    print_table(rows, title=f"Edited spans as music ({_WORKDIR.value}; accuracy: random-action edits read back from "
                            f"the output audio, chance {1 / editor.num_actions:.3f})")
  if heard_rows:
    print_table(heard_rows, title="Random requests heard in the edited audio, without the LAM: eta squared of each "
                                  "move by the requested action (by shuffled requests: chance); orig: the unedited "
                                  "steps by the LAM's reading")
  if _FIGURE.value:
    for set_name, waves in sets.items():
      name, wave = next(iter(waves.items()))
      span = edit_music.span_cases({name: len(wave) / SAMPLE_RATE}, starts, 2.0)[0]
      suffix = "validation" if set_name == "validation" else "unlike"
      spectrogram_panels(editor, wave, span.start_s, span.end_s, f"{_FIGURE.value}_{suffix}.png", name)
  if _OUTPUT.value:
    with open(_OUTPUT.value + ".tmp", "w") as f:
      json.dump({"summaries": summaries, "spans": every_span}, f, indent=1)
    os.replace(_OUTPUT.value + ".tmp", _OUTPUT.value)


if __name__ == "__main__":
  app.run(main)
