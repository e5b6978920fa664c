"""Plots a recording's action timeline over its spectrogram (PNG) and prints the timeline.

  python launch/actions.py --workdir runs/demo/lam --input song.wav [--start 10 --end 20] --output timeline.png

--workdir is a LAM run or a dynamics run (whose LAM is used). The timeline is inferred on the whole recording
(as the editor does), then the figure shows [--start, --end). The last line printed is one JSON object.
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
from genie_audio.editing.action_reader import ActionReader  # noqa: E402
from genie_audio.eval import action_analysis, plots  # noqa: E402

_WORKDIR = flags.DEFINE_string("workdir", None, "LAM or dynamics run folder.", required=True)
_INPUT = flags.DEFINE_string("input", None, "Audio file (any rate, mono or stereo).", required=True)
_OUTPUT = flags.DEFINE_string("output", None, "PNG to write (default: print the timeline only).")
_START = flags.DEFINE_float("start", 0.0, "Plot from this time, seconds.")
_END = flags.DEFINE_float("end", None, "Plot up to this time, seconds (default: the end).")


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {argv[1:]}")
  absl_logging.set_verbosity(absl_logging.WARNING)  # Orbax logs every restore at INFO
  try:
    if not os.path.isfile(_INPUT.value):
      raise FileNotFoundError(f"{_INPUT.value}: no such file")
    wave = codec.load_audio(_INPUT.value)
    duration = len(wave) / SAMPLE_RATE
    end = duration if _END.value is None else min(_END.value, duration)
    if not 0 <= _START.value < end:
      raise ValueError(f"--start {_START.value} / --end {_END.value}: need 0 <= start < end <= {duration:.3f} s")
    reader = ActionReader.load(_WORKDIR.value)
    timeline = reader.infer_actions(wave)
    summary = {"input": _INPUT.value, "duration_s": round(duration, 4), "step_seconds": timeline.step_seconds,
               "timeline": [int(a) for a in timeline.codes]}
    if _OUTPUT.value:
      first, last = int(_START.value / timeline.step_seconds), -(-end // timeline.step_seconds)
      first_sample, last_sample = int(first * reader.step_samples), int(min(last * reader.step_samples, len(wave)))
      figure = plots.timeline_figure(wave[first_sample:last_sample], timeline.codes[first:int(last)],
                                     timeline.step_seconds, reader.num_actions,
                                     start_s=first_sample / SAMPLE_RATE, title=os.path.basename(_INPUT.value))
      action_analysis.write_atomically(_OUTPUT.value, lambda tmp: figure.savefig(tmp, format="png", dpi=110))
      summary["output"] = _OUTPUT.value
  except (FileNotFoundError, ValueError, audio.BadAudioError, sf.LibsndfileError) as e:
    print(f"error: {e}", file=sys.stderr)
    print(json.dumps({"error": str(e)}))
    return 1
  for row in timeline.rows():
    print(f"step {row['step']:5d}  {row['start_s']:8.2f} - {row['end_s']:8.2f} s  action {row['action']}")
  print(json.dumps(summary))
  return 0


if __name__ == "__main__":
  app.run(main)
