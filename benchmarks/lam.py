"""LAM speed: train-step samples/s and achieved FLOP/s (fraction of the matmul peak measured in the same run),
and how step time grows with the window length (5 / 10 / 20 s of latents).

    python benchmarks/lam.py --preset tiny           # CPU
    python benchmarks/lam.py --preset default        # GPU (bf16, 63M params)

The step is the loop's real train step (loss, grads, AdamW, dead-code restart) on one device, on random
latents; FLOPs come from XLA's cost analysis. Prints one table; ratios are against the first window length.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from absl import app, flags  # noqa: E402
import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

from benchmarks.common import print_table, time_train_step  # noqa: E402
from configs import lam as lam_configs  # noqa: E402
from genie_audio.eval import flops  # noqa: E402
from genie_audio.tasks.lam import LamTask  # noqa: E402

_PRESET = flags.DEFINE_enum("preset", "tiny", ["tiny", "default"], "configs/lam.py preset.")
_WINDOWS = flags.DEFINE_list("window_seconds", ["5", "10", "20"], "Window lengths to time.")
_REPEATS = flags.DEFINE_integer("repeats", 5, "Timed repeats (median).")


def train_row(window_seconds: float, peak: float) -> dict:
  config = lam_configs.get_config(_PRESET.value)
  frames = int(round(window_seconds * config.data.frame_rate))
  frames -= frames % config.model.frames_per_action
  config.data.window_frames = frames
  task = LamTask(config)
  latents = np.random.default_rng(0).standard_normal((config.batch_size, frames, config.data.latent_dim))
  batch = {"latents": jnp.asarray(latents, jnp.float32)}
  seconds, step_flops, _ = time_train_step(task, batch, _REPEATS.value)
  return {"window_s": window_seconds, "frames": frames, "batch": config.batch_size, "step_ms": 1000 * seconds,
          "samples/s": config.batch_size / seconds,
          "GFLOP/step": None if step_flops is None else step_flops / 1e9,
          "of matmul peak": flops.achieved_fraction(step_flops, seconds, peak)}


def main(argv):
  del argv
  dtype = jnp.bfloat16 if lam_configs.get_config(_PRESET.value).model.dtype == "bfloat16" else jnp.float32
  peak = flops.measure_matmul_peak(dtype)
  rows = [train_row(float(w), peak) for w in _WINDOWS.value]
  for row in rows:
    row["step time vs first"] = row["step_ms"] / rows[0]["step_ms"]
  device = jax.devices()[0]
  print_table(rows, title=f"LAM (configs/lam.py:{_PRESET.value}) on {device.platform} ({device.device_kind}, "
                          f"{os.cpu_count()} cores); matmul peak {peak / 1e9:.1f} GFLOP/s")


if __name__ == "__main__":
  app.run(main)
