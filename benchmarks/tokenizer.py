"""Tokenizer speed: train-step samples/s and achieved FLOP/s (as a fraction of the matmul peak measured in
the same run), step time at 1, 2 and 5 s crops, and decoding real-time factor at 1, 8 and 50 sampler steps.

    python benchmarks/tokenizer.py --preset tiny        # CPU, a few minutes
    python benchmarks/tokenizer.py --preset default     # GPU (full_50hz, bf16)
    python benchmarks/tokenizer.py --preset tiny --config configs/tokenizer_8hz.py

Train steps are the loop's real step (loss, grads, AdamW, EMA) on one device; FLOPs come from XLA's cost
analysis. Decoding is `codec.decode_long` with the config's chunking; RTF = compute s / audio s.
Prints one table.
"""

import importlib.util
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from absl import app, flags  # noqa: E402
import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

from benchmarks.common import print_table, time_fn, time_train_step  # noqa: E402
from genie_audio import codec  # noqa: E402
from genie_audio.data.manifest import SAMPLE_RATE  # noqa: E402
from genie_audio.eval import flops  # noqa: E402
from genie_audio.tasks.tokenizer import TokenizerTask  # noqa: E402

_PRESET = flags.DEFINE_enum("preset", "tiny", ["tiny", "default"], "Config preset.")
_CONFIG = flags.DEFINE_string("config", "configs/tokenizer.py", "Tokenizer config file.")
_BATCH = flags.DEFINE_integer("batch_size", None, "Train batch (default: the config's).")
_CROPS = flags.DEFINE_list("crop_seconds", ["1", "2", "5"], "Crop lengths to time.")
_STEPS = flags.DEFINE_list("sampler_steps", ["1", "8", "50"], "Sampler steps to time decoding at.")
_DECODE_S = flags.DEFINE_float("decode_seconds", 4.0, "Audio length decoded per timing.")
_REPEATS = flags.DEFINE_integer("repeats", 5, "Timed repeats (median).")


def load_config():
  path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), _CONFIG.value)
  spec = importlib.util.spec_from_file_location("tokenizer_config", path)
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  config = module.get_config(_PRESET.value)
  if _BATCH.value:
    config.batch_size = _BATCH.value
  return config


def train_row(config, crop_seconds: float, peak: float) -> tuple[dict, TokenizerTask, object]:
  config = config.copy_and_resolve_references()
  config.data.crop_seconds = crop_seconds
  task = TokenizerTask(config)
  rng = np.random.default_rng(0)
  batch = {"wave": jnp.asarray(0.1 * rng.standard_normal((config.batch_size, task.crop_frames)), jnp.float32)}
  seconds, step_flops, state = time_train_step(task, batch, _REPEATS.value)
  fraction = flops.achieved_fraction(step_flops, seconds, peak)
  return {"measure": f"train step, {crop_seconds:g} s crops", "batch": config.batch_size,
          "step_ms": 1000 * seconds, "samples/s": config.batch_size / seconds,
          "audio s/s": config.batch_size * crop_seconds / seconds,
          "GFLOP/step": None if step_flops is None else step_flops / 1e9,
          "of matmul peak": fraction}, task, state


def decode_row(task, params, num_steps: int) -> dict:
  e, model = task.config.eval, task.model
  frames = codec.seconds_to_frames(model, _DECODE_S.value)
  latents = np.random.default_rng(0).standard_normal((frames, model.latent_dim)).astype(np.float32)
  kw = dict(num_steps=num_steps, chunk_frames=codec.seconds_to_frames(model, e.chunk_seconds),
            overlap_frames=codec.seconds_to_frames(model, e.overlap_seconds))
  seconds = time_fn(lambda: codec.decode_long(model, params, latents, 0, **kw), warmup=1,
                    repeats=max(1, _REPEATS.value // 2))
  audio_s = frames * model.total_stride / SAMPLE_RATE
  return {"measure": f"decode, {num_steps} steps ({e.method})", "audio_s": audio_s, "compute_s": seconds,
          "RTF": seconds / audio_s, "x realtime": audio_s / seconds}


def main(argv):
  del argv
  config = load_config()
  dtype = jnp.bfloat16 if config.model.get("dtype", "float32") == "bfloat16" else jnp.float32
  peak = flops.measure_matmul_peak(dtype)
  rows, params = [], None
  for crop in map(float, _CROPS.value):
    row, task, state = train_row(config, crop, peak)
    rows.append(row)
    if params is None:  # briefly trained params: decoding cost does not depend on their values
      params = state.params
  for num_steps in map(int, _STEPS.value):
    rows.append(decode_row(task, params, num_steps))
  device = jax.devices()[0]
  print_table(rows, title=f"Tokenizer ({_CONFIG.value}:{_PRESET.value}) on {device.platform} "
                          f"({device.device_kind}, {os.cpu_count()} cores); matmul peak "
                          f"{peak / 1e9:.1f} GFLOP/s ({jnp.dtype(dtype).name})")


if __name__ == "__main__":
  app.run(main)
