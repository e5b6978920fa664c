"""The musician's editor in the browser (Gradio) for a finished dynamics run.

  python launch/app.py --workdir runs/demo/dynamics [--host 127.0.0.1] [--port 7860] [--cache-dir DIR]

Open http://127.0.0.1:7860: open a recording, select a span, edit or continue it, listen, keep, download
(README, "Editing"; docs/editing.md, "The browser app"). The edit is also an API endpoint, `/edit`, for `gradio_client`.
Nothing is fetched from the internet (no share link, no analytics).
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from absl import app, flags  # noqa: E402
from absl import logging as absl_logging  # noqa: E402

from genie_audio.app import ui  # noqa: E402
from genie_audio.app.service import EditorService  # noqa: E402

_WORKDIR = flags.DEFINE_string("workdir", None, "Dynamics run folder.", required=True)
_HOST = flags.DEFINE_string("host", "127.0.0.1", "Address to serve on.")
_PORT = flags.DEFINE_integer("port", 7860, "Port to serve on.")
_CACHE_DIR = flags.DEFINE_string("cache-dir", None, "Where to cache the action legend if the run folder cannot "
                                 "be written (default: ~/.cache/genie_audio/legends).")


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {argv[1:]}")
  absl_logging.set_verbosity(absl_logging.WARNING)  # Orbax logs every restore at INFO
  try:
    service = EditorService.load(_WORKDIR.value, cache_dir=_CACHE_DIR.value)
  except (FileNotFoundError, ValueError) as e:
    print(f"error: {e}", file=sys.stderr)
    return 1
  print(f"serving {_WORKDIR.value} on http://{_HOST.value}:{_PORT.value}", flush=True)
  ui.launch(ui.build_app(service), _HOST.value, _PORT.value, [str(service.output_dir)])
  return 0


if __name__ == "__main__":
  app.run(main)
