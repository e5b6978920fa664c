"""Encodes a tokenizer run's dataset (both splits) into latent shards for the later stages.

  python launch/encode.py --workdir runs/tok_tiny [--output runs/tok_tiny/latents] [--batch_size 4]

Uses the run's latest checkpoint (EMA params) and its config's data.dataset_dir. Resumable: re-running
skips recordings already encoded. The last line printed is one JSON summary.
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from absl import app, flags  # noqa: E402
from absl import logging as absl_logging  # noqa: E402

from genie_audio.data import latents  # noqa: E402
from genie_audio.runs import encoding  # noqa: E402
from launch import process_flags  # noqa: E402

_WORKDIR = flags.DEFINE_string("workdir", None, "Tokenizer run folder.", required=True)
_OUTPUT = flags.DEFINE_string("output", None, "Latent folder (default: WORKDIR/latents).")
_BATCH = flags.DEFINE_integer("batch_size", 4, "Encoder windows per call.")
_PROGRESS = flags.DEFINE_bool("progress", True, "Show a progress bar.")


def main(argv):
  absl_logging.set_verbosity(absl_logging.WARNING)  # Orbax logs every restore at INFO
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {argv[1:]}")
  try:
    process_flags.initialize()  # before anything touches a device
    out = encoding.encode_dataset(_WORKDIR.value, _OUTPUT.value, batch_size=_BATCH.value,
                                  progress=_PROGRESS.value)
  except (FileNotFoundError, ValueError) as e:
    print(f"error: {e}", file=sys.stderr)
    print(json.dumps({"error": str(e)}))
    return 1
  entries = latents.read_entries(out)
  meta = latents.read_meta(out)
  frames = {split: sum(e.frames for e in entries if e.split == split) for split in ("train", "validation")}
  print(json.dumps({"output": out, "recordings": len(entries), "frames": frames,
                    "hours": round(sum(frames.values()) / meta["frame_rate"] / 3600, 4), **meta}, sort_keys=True))
  return 0


if __name__ == "__main__":
  app.run(main)
