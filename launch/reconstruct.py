"""Encodes and decodes one audio file with a trained tokenizer (to listen to what it keeps).

  python launch/reconstruct.py --workdir runs/tok_tiny --input song.mp3 --output song_recon.wav \
      [--steps 50 --method euler|heun --seed 0]
      [--figure pair.png --figure_start 20 --figure_seconds 4 --figure_max_hz 8000]

Any format, rate, length and channel count goes in (decoded, mixed to mono, resampled to 16 kHz); the
output is 16 kHz mono, written atomically (a temporary file, then renamed). Long files go through the
chunked codec (genie_audio/codec.py), at the training data's loudness (the output gets the inverse
gain). With --figure, a PNG of the original and reconstructed spectrograms (0 Hz to --figure_max_hz, the whole
band by default; one colour scale) of a stretch of the file, where lost notes show as missing harmonic lines.
The last line printed is one JSON summary.
"""

import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from absl import app, flags  # noqa: E402
from absl import logging as absl_logging  # noqa: E402
import numpy as np  # noqa: E402
import soundfile as sf  # noqa: E402

from genie_audio import codec  # noqa: E402
from genie_audio.data import audio  # noqa: E402
from genie_audio.data.manifest import SAMPLE_RATE  # noqa: E402
from genie_audio.eval import plots  # noqa: E402
from genie_audio.models.tokenizer import tokenizer_from_config  # noqa: E402
from genie_audio.runs import run  # noqa: E402

_WORKDIR = flags.DEFINE_string("workdir", None, "Tokenizer run folder.", required=True)
_INPUT = flags.DEFINE_string("input", None, "Audio file to reconstruct.", required=True)
_OUTPUT = flags.DEFINE_string("output", None, "Where to write the reconstruction (.wav, .flac, .ogg).",
                              required=True)
_STEPS = flags.DEFINE_integer("steps", None, "Sampler steps (default: the run's config.eval.sampler_steps).")
_METHOD = flags.DEFINE_enum("method", "euler", ["euler", "heun"], "ODE sampler.")
_SEED = flags.DEFINE_integer("seed", 0, "Noise seed (fixed seed = reproducible output).")
_FIGURE = flags.DEFINE_string("figure", None, "Also write original / reconstruction spectrograms to this PNG.")
_FIGURE_START = flags.DEFINE_float("figure_start", 0.0, "Start of the figure's stretch (seconds).")
_FIGURE_SECONDS = flags.DEFINE_float("figure_seconds", 4.0, "Length of the figure's stretch (seconds).")
_FIGURE_MAX_HZ = flags.DEFINE_float("figure_max_hz", 8000.0, "Top of the figure's frequency axis (Hz).")


def main(argv):
  absl_logging.set_verbosity(absl_logging.WARNING)  # Orbax logs every restore at INFO
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {argv[1:]}")
  output = Path(_OUTPUT.value)
  fmt = output.suffix[1:].upper()
  if fmt not in sf.available_formats():
    print(f"error: --output {output}: unknown audio extension (use .wav, .flac or .ogg)", file=sys.stderr)
    return 1
  if not 0 < _FIGURE_MAX_HZ.value <= SAMPLE_RATE / 2:
    print(f"error: --figure_max_hz {_FIGURE_MAX_HZ.value:g}: must be in (0, {SAMPLE_RATE // 2}] Hz",
          file=sys.stderr)
    return 1
  try:
    wave = codec.load_audio(_INPUT.value)  # first: a bad input fails before any model work
  except audio.BadAudioError as e:
    print(f"error: cannot read audio {_INPUT.value}: {e}", file=sys.stderr)
    return 1
  config = run.load_config(_WORKDIR.value)
  model = tokenizer_from_config(config.model)
  params = run.load_params(_WORKDIR.value, ema=True)
  start = time.perf_counter()
  steps = _STEPS.value or config.eval.sampler_steps
  recon = codec.reconstruct(model, params, wave, _SEED.value, num_steps=steps, method=_METHOD.value,
                            chunk_frames=codec.seconds_to_frames(model, config.eval.chunk_seconds),
                            overlap_frames=codec.seconds_to_frames(model, config.eval.overlap_seconds))
  seconds = time.perf_counter() - start
  output.parent.mkdir(parents=True, exist_ok=True)
  tmp = output.with_name(f".{output.name}.tmp")
  sf.write(tmp, np.clip(recon, -1.0, 1.0), SAMPLE_RATE, format=fmt)
  os.replace(tmp, output)
  if _FIGURE.value:
    start_sample = int(_FIGURE_START.value * SAMPLE_RATE)
    stretch = slice(start_sample, start_sample + int(_FIGURE_SECONDS.value * SAMPLE_RATE))
    figure = Path(_FIGURE.value)
    tmp = figure.with_name(f".{figure.name}.tmp.png")
    plots.stft_figure({"original": wave[stretch], "reconstruction": recon[stretch]}, max_hz=_FIGURE_MAX_HZ.value,
                      title=f"{Path(_INPUT.value).name}, {steps} {_METHOD.value} steps").savefig(tmp, dpi=80)
    os.replace(tmp, figure)
  print(json.dumps({"output": str(output), "seconds_audio": round(len(recon) / SAMPLE_RATE, 3),
                    "seconds_compute": round(seconds, 3),
                    "sampler_steps": steps, "method": _METHOD.value, "seed": _SEED.value}))
  return 0


if __name__ == "__main__":
  app.run(main)
