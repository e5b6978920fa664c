"""Editor app benchmark: request-to-audio seconds of the page's requests on a 30 s recording, on CPU.

    python benchmarks/app.py --workdir runs/demo/dynamics [--seconds 30] [--span 1.0] [--repeats 3]

The recording is the run's validation recordings joined and cut to --seconds. Timed: opening it (encoding,
action timeline, picture), a --span edit in its middle with one variation and with four (the page's handler
end to end: the in-painting, the decoding and the WAVs its players get), a 2 s continuation, and the `/edit`
endpoint over HTTP with `gradio_client` (upload, encoding the whole file, edit, download). "first" is the
first request (it compiles), "warm" the median of --repeats more. Goals (issue 14): warm single edit under
1 s, four variations under 2 s. The handlers are the page's own (`ui.Page.generate`, `extend`, the `/edit`
endpoint) with the page's default controls (`Page.sampler_defaults`: the run's guidance scale and interval,
action guidance, sampler steps, crossfade), named in the table's title. Prints one table.
"""

import os
import statistics
import sys
import tempfile
import time

os.environ.setdefault("JAX_PLATFORMS", "cpu")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from absl import app, flags  # noqa: E402
from absl import logging as absl_logging  # noqa: E402
import numpy as np  # noqa: E402
import soundfile as sf  # noqa: E402

from benchmarks.common import print_table  # noqa: E402
from genie_audio.app import ui  # noqa: E402
from genie_audio.app.service import EditorService  # noqa: E402
from genie_audio.data.manifest import SAMPLE_RATE  # noqa: E402

_WORKDIR = flags.DEFINE_string("workdir", "runs/demo/dynamics", "Dynamics run folder.")
_SECONDS = flags.DEFINE_float("seconds", 30.0, "Recording length.")
_SPAN = flags.DEFINE_float("span", 1.0, "Edited span, seconds (in the middle of the recording).")
_REPEATS = flags.DEFINE_integer("repeats", 3, "Timed warm requests per row.")
_PORT = flags.DEFINE_integer("port", 7861, "Port of the server the /edit row talks to (localhost).")


def recording(service: EditorService) -> np.ndarray:
  waves, total = [], 0
  for name in service.recording_names():
    waves.append(service.read_validation(name))
    total += len(waves[-1])
    if total >= _SECONDS.value * SAMPLE_RATE:
      break
  return np.concatenate(waves)[:int(_SECONDS.value * SAMPLE_RATE)]


def timed(fn, repeats: int) -> tuple[float, float]:
  """(seconds of the first call, median seconds of `repeats` more)."""
  clock = time.perf_counter()
  fn()
  first = time.perf_counter() - clock
  warm = []
  for _ in range(repeats):
    clock = time.perf_counter()
    fn()
    warm.append(time.perf_counter() - clock)
  return first, statistics.median(warm)


def check(out: dict, page: ui.Page) -> None:
  if not str(out[page.status]).startswith("Ready"):
    raise RuntimeError(f"the request failed: {out[page.status]}")


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {argv[1:]}")
  absl_logging.set_verbosity(absl_logging.WARNING)
  service = EditorService.load(_WORKDIR.value, output_dir=tempfile.mkdtemp(prefix="bench_app_"))
  wave = recording(service)
  duration = len(wave) / SAMPLE_RATE
  start, end = duration / 2 - _SPAN.value / 2, duration / 2 + _SPAN.value / 2
  page = ui.Page(service)
  demo = page.build()
  sampler = page.sampler_defaults()   # the sliders' starting values, by the handlers' parameter names
  quiet = lambda *args, **kwargs: None
  copies = []
  opened = timed(lambda: copies.append(service.start("bench", wave)) or service.picture(copies[-1], (start, end)),
                 _REPEATS.value)
  copy = copies[-1]
  # The page's handlers, called as its buttons call them (by keyword: a renamed or added control fails here).
  edit = lambda n: lambda: check(page.generate(copy, start, end, mode="resample", actions="", source_name=None,
                                               source_path=None, source_start=None, count=n, seed=0, **sampler,
                                               progress=quiet), page)
  one, four = timed(edit(1), _REPEATS.value), timed(edit(4), _REPEATS.value)
  extend = timed(lambda: check(page.extend(copy, at="end", seconds=2.0, actions="", count=1, seed=0, **sampler,
                                           progress=quiet), page), _REPEATS.value)

  path = os.path.join(service.output_dir, "bench_input.wav")
  sf.write(path, wave, SAMPLE_RATE, subtype="FLOAT")
  ui.launch(demo, "127.0.0.1", _PORT.value, [str(service.output_dir)], block=False)
  from gradio_client import Client, handle_file  # noqa: PLC0415 (after the server is up)
  client = Client(f"http://127.0.0.1:{_PORT.value}/", verbose=False)
  endpoint = timed(lambda: client.predict(handle_file(path), start, end, "", sampler["guidance"], 0, api_name="/edit"),
                   _REPEATS.value)
  demo.close()

  span = f"{_SPAN.value:g} s span of {duration:g} s"
  rows = [dict(request=f"open a {duration:g} s recording (encode, timeline, picture)", first_s=opened[0],
               warm_s=opened[1]),
          dict(request=f"edit: {span}, 1 variation", first_s=one[0], warm_s=one[1], goal_s=1.0),
          dict(request=f"edit: {span}, 4 variations", first_s=four[0], warm_s=four[1], goal_s=2.0),
          dict(request="continue 2 s after the end, 1 variation", first_s=extend[0], warm_s=extend[1]),
          dict(request=f"/edit over HTTP (gradio_client; uploads and encodes the {duration:g} s file)",
               first_s=endpoint[0], warm_s=endpoint[1])]
  settings = ", ".join(f"{k} {v:g}" for k, v in sampler.items())
  print_table(rows, title=f"Editor app requests on CPU, {_WORKDIR.value} (median of {_REPEATS.value} warm; the "
                          f"page's defaults: {settings})")


if __name__ == "__main__":
  app.run(main)
