"""Issue 11: are edits followed in the audio a musician hears? Edits made through the editor, as launch/edit.py
makes them, measured on the output audio, with and without action guidance.

    python experiments/edits_in_audio.py --workdir runs/demo/dynamics [--weights 0,3] [--edits 8] [--nounlike]

Every validation recording of the run's corpus gets --edits spans of --span_steps action steps at evenly
spaced places, each asking for actions drawn uniformly (seeded; the same spans, requests and noise seeds for
every weight); so do two pieces unlike the corpus (`genie_audio/testing/ood_audio.py`: synthetic piano chords,
and an organ hymn where MMA and FluidSynth are installed). Columns, over the edited steps:
  accuracy      the editor's action timeline of the OUTPUT AUDIO (encoded again by the tokenizer, read by the LAM)
                gives the requested action: the round trip a musician's next edit would see
  r jump        correlation of the requested actions' mean loudness jump (dB against the step before, measured
                on the validation recordings' own steps by their timeline) with the jump the output makes; the
                LAM is not involved (`eval/descriptors.py`)
  r bright      the same for the centroid jump (octaves brighter than the step before)
  jump error    mean |made - expected| loudness jump, dB
The `original` rows score the unedited recordings' own steps against their timeline the same way (the most an
edit can expect; its accuracy is 1 by construction).
"""

import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402
from absl import app, flags  # noqa: E402

from benchmarks.common import print_table  # noqa: E402
from experiments.music_sets import validation_waves  # noqa: E402
from genie_audio import codec  # noqa: E402
from genie_audio.data.manifest import SAMPLE_RATE  # noqa: E402
from genie_audio.editing.edit import Editor  # noqa: E402
from genie_audio.eval import descriptors  # noqa: E402
from genie_audio.testing import ood_audio  # noqa: E402

_WORKDIR = flags.DEFINE_string("workdir", "runs/demo/dynamics", "Trained dynamics run.")
_WEIGHTS = flags.DEFINE_list("weights", ["0", "3"], "Action-guidance weights to compare.")
_GUIDANCE = flags.DEFINE_float("guidance", None, "Classifier-free guidance scale (default: the run's).")
_EDITS = flags.DEFINE_integer("edits", 8, "Edited spans per recording.")
_SPAN_STEPS = flags.DEFINE_integer("span_steps", 5, "Action steps per edited span.")
_SEED = flags.DEFINE_integer("seed", 0, "Seed of the requests and of the edits' noise.")
_UNLIKE = flags.DEFINE_bool("unlike", True, "Also edit the pieces unlike the corpus.")

MOVES = ("loudness_jump_db", "centroid_jump_oct")


def step_moves(wave: np.ndarray, step_seconds: float, num_steps: int) -> dict[str, np.ndarray]:
  features = descriptors.frame_features(wave)
  found = descriptors.step_descriptors(features, int(round(step_seconds * SAMPLE_RATE)), num_steps)
  return {name: found[name] for name in MOVES}


def unlike_the_corpus() -> dict[str, np.ndarray]:
  waves = {"piano_chords (synthetic)": ood_audio.piano_chords(rate=SAMPLE_RATE)[:, 0]}
  with tempfile.TemporaryDirectory() as work:
    try:
      ood_audio.mma_piece("organ_hymn", os.path.join(work, "hymn.wav"), work)
      waves["organ_hymn (MMA)"] = codec.load_audio(os.path.join(work, "hymn.wav"))
    except (OSError, RuntimeError, ValueError) as e:  # no mma / fluidsynth: the synthetic piece alone
      print(f"organ_hymn left out: {e}", flush=True)
  return waves


def expected_moves(editor: Editor, prepared: dict, num_actions: int) -> dict[str, np.ndarray]:
  """(A,) per move: its mean over the recordings' steps, by the step's action in their timeline."""
  pooled = {name: [] for name in MOVES}
  labels = []
  for recording in prepared.values():
    moves = step_moves(recording.wave, editor.step_seconds, len(recording.codes))
    for name in MOVES:
      pooled[name].append(moves[name])
    labels.append(recording.codes)
  labels = np.concatenate(labels)
  out = {}
  for name in MOVES:
    values = np.concatenate(pooled[name])
    out[name] = np.asarray([np.nanmean(values[(labels == a) & np.isfinite(values)]) for a in range(num_actions)])
  return out


def correlation(wanted: np.ndarray, made: np.ndarray) -> float:
  ok = np.isfinite(wanted) & np.isfinite(made)
  if ok.sum() < 3 or np.std(made[ok]) == 0:
    return float("nan")
  return float(np.corrcoef(wanted[ok], made[ok])[0, 1])


def score(requested: np.ndarray, read: np.ndarray, made: dict, expected: dict) -> dict:
  requested = np.asarray(requested)
  row = {"steps": int(requested.size), "accuracy": float(np.mean(np.asarray(read) == requested))}
  row["r jump"] = correlation(expected["loudness_jump_db"][requested], made["loudness_jump_db"])
  row["r bright"] = correlation(expected["centroid_jump_oct"][requested], made["centroid_jump_oct"])
  error = np.abs(made["loudness_jump_db"] - expected["loudness_jump_db"][requested])
  row["jump error dB"] = float(np.nanmean(error))
  return row


def edit_spans(num_steps: int, count: int, span: int) -> list[int]:
  """First steps of `count` spans spread evenly over the recording, each with a step of context either side."""
  last = num_steps - span - 2
  return sorted(set(np.linspace(2, last, count).astype(int).tolist())) if last > 2 else []


def main(argv):
  del argv
  editor = Editor.load(_WORKDIR.value)
  sets = {"validation": validation_waves(_WORKDIR.value)}
  if _UNLIKE.value:
    sets["unlike the corpus"] = unlike_the_corpus()
  prepared = {name: {k: editor.prepare(w, k) for k, w in waves.items()} for name, waves in sets.items()}
  expected = expected_moves(editor, prepared["validation"], editor.num_actions)
  rng = np.random.default_rng(_SEED.value)
  n, step_s = _SPAN_STEPS.value, editor.step_seconds
  rows = []
  for set_name, recordings in prepared.items():
    requests = {k: [(s, rng.integers(0, editor.num_actions, n)) for s in edit_spans(len(r.codes), _EDITS.value, n)]
                for k, r in recordings.items()}
    own = {"requested": [], "read": [], "made": {m: [] for m in MOVES}}
    for k, recording in recordings.items():  # the original's own steps at the same places
      moves = step_moves(recording.wave, step_s, len(recording.codes))
      for s, _ in requests[k]:
        own["requested"].append(recording.codes[s:s + n])
        own["read"].append(recording.codes[s:s + n])
        for m in MOVES:
          own["made"][m].append(moves[m][s:s + n])
    rows.append({"set": set_name, "weight": "original",
                 **score(np.concatenate(own["requested"]), np.concatenate(own["read"]),
                         {m: np.concatenate(v) for m, v in own["made"].items()}, expected)})
    for weight in map(float, _WEIGHTS.value):
      got = {"requested": [], "read": [], "made": {m: [] for m in MOVES}}
      for k, recording in recordings.items():
        for index, (s, actions) in enumerate(requests[k]):
          result = editor.edit(recording, s * step_s, (s + n) * step_s, actions=actions.tolist(),
                               guidance_scale=_GUIDANCE.value, action_guidance=weight, seed=_SEED.value + index)
          timeline = editor.infer_actions(result.wave)
          moves = step_moves(result.wave, step_s, len(timeline.codes))
          got["requested"].append(actions)
          got["read"].append(timeline.codes[s:s + n])
          for m in MOVES:
            got["made"][m].append(moves[m][s:s + n])
      rows.append({"set": set_name, "weight": weight,
                   **score(np.concatenate(got["requested"]), np.concatenate(got["read"]),
                           {m: np.concatenate(v) for m, v in got["made"].items()}, expected)})
      print(rows[-1], flush=True)
  print_table(rows, title=f"Edits through the editor, measured on the output audio ({_WORKDIR.value}, chance "
                          f"{1 / editor.num_actions:.3f})")


if __name__ == "__main__":
  app.run(main)
