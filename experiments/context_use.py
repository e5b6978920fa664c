"""Issue 23: how much of the context does a generated span use? Correlations of latent frames per temporal band.

    python experiments/context_use.py --workdir runs/demo/dynamics [--start_t 1,0.5] [--span_seconds 2]

For 2 s spans at 10, 30 and 50 s of every validation recording, the span's latent frames are written by the
editor's in-painting twice (seeds 0 and 1) from each start level, and compared, after a band-pass along time
(FFT over the span's frames), with:
  real        the original span's frames: does the generated span follow what was played there?
  other seed  the same request with another seed: how much of the result is fixed by the context at all?
The `retrieval` rows give the same for the retrieval fill (the passage elsewhere in the recording whose
surroundings match best): how alike two real passages that belong at the same place are, the most a context can
pin down. Bands: < 5 Hz (the loudness and brightness moves the actions describe), 5-12.5 Hz and 12.5-25 Hz (the
fast frame-to-frame detail that carries the notes: smoothing it away leaves noise).
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402
from absl import app, flags  # noqa: E402

from benchmarks.common import print_table  # noqa: E402
from experiments.music_sets import validation_waves  # noqa: E402
from genie_audio.data.manifest import SAMPLE_RATE  # noqa: E402
from genie_audio.editing import actions as actions_lib  # noqa: E402
from genie_audio.editing.edit import Editor  # noqa: E402
from genie_audio.editing.windows import plan_windows  # noqa: E402
from genie_audio.eval import edit_music  # noqa: E402

_WORKDIR = flags.DEFINE_string("workdir", "runs/demo/dynamics", "Trained dynamics run.")
_START_T = flags.DEFINE_list("start_t", ["1", "0.5"], "Noise levels the span starts from (1: pure noise).")
_STARTS = flags.DEFINE_list("starts", ["10", "30", "50"], "Span start times (s) in every recording.")
_SPAN = flags.DEFINE_float("span_seconds", 2.0, "Span length.")

BANDS_HZ = {"< 5 Hz": (0.0, 5.0), "5-12.5 Hz": (5.0, 12.5), "12.5-25 Hz": (12.5, 25.01)}


def band(frames_TC: np.ndarray, low: float, high: float, frame_rate: float) -> np.ndarray:
  """The frames' content between low and high Hz (FFT along time, per channel; the mean is left out)."""
  spectrum = np.fft.rfft(frames_TC - frames_TC.mean(0), axis=0)
  freqs = np.fft.rfftfreq(len(frames_TC), 1.0 / frame_rate)
  return np.fft.irfft(spectrum * ((freqs >= low) & (freqs < high))[:, None], n=len(frames_TC), axis=0)


def correlations(a_TC: np.ndarray, b_TC: np.ndarray, frame_rate: float) -> dict[str, float]:
  pair = lambda lo, hi: (band(a_TC, lo, hi, frame_rate).ravel(), band(b_TC, lo, hi, frame_rate).ravel())
  return {name: float(np.corrcoef(*pair(lo, hi))[0, 1]) for name, (lo, hi) in BANDS_HZ.items()}


def main(argv):
  del argv
  editor = Editor.load(_WORKDIR.value)
  waves = validation_waves(_WORKDIR.value)
  R, rate = editor.frames_per_action, editor.frame_rate
  found: dict[tuple[str, str], list[dict[str, float]]] = {}
  add = lambda key, value: found.setdefault(key, []).append(value)
  for name, wave in waves.items():
    recording = editor.prepare(wave, name)
    T = len(recording.latents)
    actions = actions_lib.frame_actions(recording.codes, R, T)
    for case in edit_music.span_cases({name: len(wave) / SAMPLE_RATE}, [float(s) for s in _STARTS.value],
                                      _SPAN.value):
      span = editor.plan_span(len(wave), case.start_s, case.end_s)
      f0, f1 = span.first_step * R, min(span.end_step * R, T)
      real = recording.latents[f0:f1]
      windows = plan_windows(T, editor.window_frames, f0, f1, R)
      fill_TC, _ = editor.retrieval_start(recording.latents, f0, f1, editor.sampler_settings(start_t=0.5))
      if fill_TC is not None:
        add(("retrieval fill", "real"), correlations(fill_TC[f0:f1], real, rate))
      for start_t in _START_T.value:
        settings = editor.sampler_settings(start_t=float(start_t))
        start_TC = fill_TC if settings.start_t < 1 else None
        takes = editor.inpaint_frames(recording.latents, actions, windows, [0, 1], settings, start_TC)[:, f0:f1]
        add((f"start {start_t}", "real"), correlations(takes[0], real, rate))
        add((f"start {start_t}", "other seed"), correlations(takes[0], takes[1], rate))
        if start_TC is not None:
          add((f"start {start_t}", "retrieval fill"), correlations(takes[0], start_TC[f0:f1], rate))
  rows = [{"span": span, "against": against, "spans": len(values),
           **{b: float(np.mean([v[b] for v in values])) for b in BANDS_HZ}}
          for (span, against), values in found.items()]
  print_table(rows, title=f"Correlation of latent frames per temporal band ({_WORKDIR.value}, validation spans)")


if __name__ == "__main__":
  app.run(main)
