"""Describes what each latent action does to the music, over a split of the run's recordings.

  python launch/describe_actions.py --workdir runs/demo/lam [--output DIR] [--split validation] \
      [--max-recordings N] [--max-seconds S] [--examples 3] [--context 0.5] [--nogain-invariance]

--workdir is a LAM run or a dynamics run (whose LAM is used). Writes into --output (default WORKDIR/actions):
actions.md (the tables printed here), actions.csv, measures.json and eta_squared.csv (the share of each
descriptor's variance the action explains; gain invariance: the share of steps whose action survives playing
the recording at -10 and +6 dB, which encodes the audio again with the tokenizer; --nogain-invariance skips
it), steps.csv, actions.png (one panel per action) and examples/action<A>_<rank>.wav (the most typical steps,
with context). The last line printed is one JSON object.
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from absl import app, flags  # noqa: E402
from absl import logging as absl_logging  # noqa: E402

from genie_audio.data import audio  # noqa: E402
from genie_audio.editing.action_reader import ActionReader  # noqa: E402
from genie_audio.eval import action_analysis  # noqa: E402

_WORKDIR = flags.DEFINE_string("workdir", None, "LAM or dynamics run folder.", required=True)
_OUTPUT = flags.DEFINE_string("output", None, "Output folder (default: WORKDIR/actions).")
_SPLIT = flags.DEFINE_string("split", "validation", "Which split of the run's recordings to analyse.")
_MAX_RECORDINGS = flags.DEFINE_integer("max-recordings", None, "Analyse only the first N recordings.")
_MAX_SECONDS = flags.DEFINE_float("max-seconds", None, "Analyse only the first S seconds of each recording.")
_EXAMPLES = flags.DEFINE_integer("examples", 3, "Typical example clips written per action (0: none).")
_CONTEXT = flags.DEFINE_float("context", 0.5, "Seconds of audio kept each side of an example step.")
_GAIN_INVARIANCE = flags.DEFINE_boolean("gain-invariance", True,
                                        "Measure gain invariance (re-encodes the split's audio at -10/+6 dB).")


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {argv[1:]}")
  absl_logging.set_verbosity(absl_logging.WARNING)  # Orbax logs every restore at INFO
  output = _OUTPUT.value or os.path.join(_WORKDIR.value, "actions")
  try:
    reader = ActionReader.load(_WORKDIR.value)
    analysis = action_analysis.analyze(reader, _SPLIT.value, _MAX_RECORDINGS.value, _MAX_SECONDS.value,
                                       progress=lambda line: print(line, file=sys.stderr))
    measures = action_analysis.measure(analysis, reader if _GAIN_INVARIANCE.value else None)
    paths = action_analysis.write_report(analysis, output, _EXAMPLES.value, _CONTEXT.value, measures)
  except (FileNotFoundError, ValueError, audio.BadAudioError) as e:
    print(f"error: {e}", file=sys.stderr)
    print(json.dumps({"error": str(e)}))
    return 1
  print(open(paths["table"], encoding="utf-8").read())
  counts = [int((analysis.codes == a).sum()) for a in range(analysis.num_actions)]
  print(json.dumps({"workdir": _WORKDIR.value, "lam_workdir": reader.lam.workdir, "lam_step": reader.lam.step,
                    "split": _SPLIT.value, "recordings": len(analysis.recordings), "steps": len(analysis.codes),
                    "step_seconds": reader.step_seconds, "counts": counts, **measures, **paths}))
  return 0


if __name__ == "__main__":
  app.run(main)
