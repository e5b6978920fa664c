"""Issue 23: which passage should an edit start from? The retrieval fill alone (no in-painting), per setting.

    python experiments/retrieval_fill.py --workdir runs/demo/dynamics \
        --arms latents,chroma,chroma_ctx1,chroma_ctx2,chroma_smooth,chroma_fit1,chroma_fit4,keep1,keep4,keep16

Spans of 2 s at 10, 20, ..., 80 s of every validation recording and at 10, 30 and 50 s of the pieces unlike the
corpus (`experiments/edit_music.py`) are filled with the retrieval fill of each arm (the editor's
`Editor.retrieval_fill` with the arm's `config.edit` settings), decoded and spliced as an edit is (level-matched
at the margins), and scored with `span_music` (tonality, harmony with the original span, level). The loop (the
2 s before the span) is the baseline to beat. Arms:
  latents        contexts (0.5 s each side) compared on the latent frames
  chroma         ... on the chroma of the audio (`data.spectra.frame_chroma`)
  chroma_ctx1/2  ... over 1 s / 2 s each side
  chroma_smooth  ... of chroma averaged over 0.5 s (the harmony rather than the notes of each 20 ms)
  chroma_fitW    ... plus W x the distance of the fill's mean chroma to its context's
  keepW          ... plus W x the distance of the fill's mean chroma to the original span's: another passage that
                 plays the span's chords (the harmony score is then partly by construction)
  keep4_level(2) keep4, with each frame's level (dB / 30, or / 15) beside its chroma: a passage as loud as the
                 span and its context; keep16_level2 the same with keep16
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from absl import app, flags  # noqa: E402

from benchmarks.common import print_table  # noqa: E402
from experiments.common import check_arms  # noqa: E402
from experiments.music_sets import unlike_the_corpus, validation_waves  # noqa: E402
from genie_audio.editing.edit import Editor  # noqa: E402
from genie_audio.eval import edit_music  # noqa: E402

BASE = dict(retrieval_match="chroma", retrieval_context_seconds=0.5, retrieval_smooth_seconds=0.0,
            retrieval_fit_weight=0.0, retrieval_harmony_weight=0.0, retrieval_level_weight=0.0, level_match=True)
ARMS = {
    "latents": dict(retrieval_match="latents"),
    "chroma": {},
    "chroma_ctx1": dict(retrieval_context_seconds=1.0),
    "chroma_ctx2": dict(retrieval_context_seconds=2.0),
    "chroma_smooth": dict(retrieval_smooth_seconds=0.5),
    "chroma_fit1": dict(retrieval_fit_weight=1.0),
    "chroma_fit4": dict(retrieval_fit_weight=4.0),
    "keep1": dict(retrieval_harmony_weight=1.0),
    "keep4": dict(retrieval_harmony_weight=4.0),
    "keep16": dict(retrieval_harmony_weight=16.0),
    "keep4_level": dict(retrieval_harmony_weight=4.0, retrieval_level_weight=1.0 / 30.0),
    "keep4_level2": dict(retrieval_harmony_weight=4.0, retrieval_level_weight=2.0 / 30.0),
    "keep16_level2": dict(retrieval_harmony_weight=16.0, retrieval_level_weight=2.0 / 30.0),
}
STARTS = {"validation": (10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0), "unlike the corpus": (10.0, 30.0, 50.0)}

_WORKDIR = flags.DEFINE_string("workdir", "runs/demo/dynamics", "Trained dynamics run.")
_ARMS = flags.DEFINE_list("arms", ["latents", "chroma", "keep4"], "Arms to run.")
_UNLIKE = flags.DEFINE_bool("unlike", True, "Also score pieces unlike the corpus.")
_MAX_RECORDINGS = flags.DEFINE_integer("max_recordings", None, "Use at most this many recordings of each set.")


def main(argv):
  del argv
  check_arms(_ARMS.value, ARMS)
  editor = Editor.load(_WORKDIR.value)
  sets = {"validation": validation_waves(_WORKDIR.value)}
  if _UNLIKE.value:
    sets["unlike the corpus"] = unlike_the_corpus()
  if _MAX_RECORDINGS.value:
    sets = {k: dict(list(v.items())[:_MAX_RECORDINGS.value]) for k, v in sets.items()}
  rows = []
  for set_name, waves in sets.items():
    for index, arm in enumerate(_ARMS.value):
      with editor.edit_defaults.unlocked():
        editor.edit_defaults.update(dict(BASE, **ARMS[arm]))
      fills = ("loop", "retrieval") if index == 0 else ("retrieval",)
      found = edit_music.evaluate(editor, waves, starts_s=STARTS[set_name], fills=fills)
      for fill, summary in edit_music.summarise(found).items():
        rows.append({"set": set_name, "fill": fill if fill == "loop" else f"retrieval {arm}",
                     **{k: summary[k] for k in ("tonality", "harmony", "level_db", "level_db_max_abs", "spans")}})
        print(json.dumps(rows[-1]), flush=True)
  print_table(rows, title=f"Retrieval fills, decoded by {_WORKDIR.value}'s tokenizer (no in-painting)")


if __name__ == "__main__":
  app.run(main)
