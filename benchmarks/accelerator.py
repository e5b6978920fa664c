"""Each stage's full-size train step on this machine's accelerator: step time, samples/s, FLOP/s as a fraction of
the measured bf16 matmul peak (MFU), peak device memory; and that every default config trains with a finite loss.

    python benchmarks/accelerator.py                       # GPU/TPU: each config at its documented batch
    python benchmarks/accelerator.py --batch 2 --steps 3   # CPU: full-size models at a small batch

The step is the loop's (`loop.build_step`, all local devices, the config's mesh) on random inputs of the
stage's shapes (a dynamics config stands on its LAM config file, as in benchmarks/memory.py); FLOPs come from
XLA's cost analysis of the compiled step. Prints one row per config, then one JSON line with all rows.
"""

import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from absl import app, flags  # noqa: E402
import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

from benchmarks.common import print_table  # noqa: E402
from genie_audio.eval import flops  # noqa: E402
from genie_audio.testing import compiled_step  # noqa: E402

CONFIGS = ("configs/tokenizer.py", "configs/tokenizer_8hz.py", "configs/lam.py", "configs/lam_8hz.py",
           "configs/dynamics.py", "configs/dynamics_8hz.py")
_CONFIGS = flags.DEFINE_list("configs", list(CONFIGS), "Config files[:preset] to run.")
_BATCH = flags.DEFINE_integer("batch", None, "Global batch (default: each config's; 2 on CPU).")
_STEPS = flags.DEFINE_integer("steps", 5, "Timed steps after the first (compiled, untimed) one.")
_OVERRIDES = flags.DEFINE_multi_string("set", [], "FIELD=VALUE overrides for every config, e.g. model.remat=full.")


def random_batch(shapes: dict, num_actions: int, rng: np.random.Generator) -> dict:
  """Inputs of the stage's shapes: waveforms/latents ~ N(0, 0.1^2), actions uniform over the codes."""
  out = {}
  for name, shape in shapes.items():
    if jnp.issubdtype(shape.dtype, jnp.integer):
      out[name] = rng.integers(0, num_actions, shape.shape).astype(shape.dtype)
    else:
      out[name] = (0.1 * rng.standard_normal(shape.shape)).astype(shape.dtype)
  return out


def run_config(spec: str, peak: float) -> dict:
  config = compiled_step.load_config(spec)
  on_cpu = jax.default_backend() == "cpu"
  config.batch_size = _BATCH.value or (2 if on_cpu else config.batch_size)
  for item in _OVERRIDES.value:
    key, _, value = item.partition("=")
    node, *path = config, *key.split(".")
    for part in path[:-1]:
      node = node[part]
    node[path[-1]] = type(node[path[-1]])(value)
  task, parts = compiled_step.build(config, spec)
  batch = random_batch(task.batch_shapes(config.batch_size), getattr(task, "num_actions", 8),
                       np.random.default_rng(0))
  batch = jax.device_put(batch, next(iter(parts.abstract_batch.values())).sharding)
  compiled = parts.train_step.lower(parts.abstract_state, parts.abstract_batch).compile()
  step_flops = flops.compiled_flops(compiled)
  state = parts.init_fn(jax.random.key(0))
  state, metrics = compiled(state, batch)  # first step: allocation, warm-up
  losses = [float(metrics["train/loss"])]
  start = time.perf_counter()
  for _ in range(_STEPS.value):
    state, metrics = compiled(state, batch)
    losses.append(float(metrics["train/loss"]))  # a host sync per step, as the loop's logging does
  seconds = (time.perf_counter() - start) / max(_STEPS.value, 1)
  stats = jax.devices()[0].memory_stats() or {}
  peak_bytes = stats.get("peak_bytes_in_use") or compiled_step.memory_bytes(compiled)["peak_bytes"]
  return {"config": spec, "batch": config.batch_size, "step_ms": round(1000 * seconds, 1),
          "samples/s": round(config.batch_size / seconds, 2),
          "TFLOP/step": None if step_flops is None else round(step_flops / 1e12, 4),
          "MFU": flops.achieved_fraction(step_flops, seconds * jax.device_count(), peak),
          "peak GiB": round(peak_bytes / 2**30, 2), "loss first": round(losses[0], 4),
          "loss last": round(losses[-1], 4), "finite": bool(np.all(np.isfinite(losses)))}


def main(argv):
  del argv
  peak = flops.measure_matmul_peak(jnp.bfloat16)
  rows = [run_config(spec, peak) for spec in _CONFIGS.value]
  device = jax.devices()[0]
  print_table(rows, title=f"{len(jax.devices())} x {device.device_kind} ({device.platform}); measured bf16 matmul "
                          f"peak {peak / 1e12:.3f} TFLOP/s per device")
  print(json.dumps({"device": device.device_kind, "devices": jax.device_count(), "bf16_peak_flops": peak,
                    "rows": rows}), flush=True)
  return 0 if all(row["finite"] for row in rows) else 1


if __name__ == "__main__":
  app.run(main)
