"""Per-device memory of a stage's train step, compiled (not run) on N fake CPU devices.

    python benchmarks/memory.py --config configs/dynamics.py --devices 8 [--config.mesh.fsdp=8]
        [--config.model.remat=none] [--config.FIELD=VALUE ...]
    python benchmarks/memory.py --config configs/tokenizer.py --devices 8 --config.data.crop_seconds=5 \
        --config.optim.trainable='^decoder/(mid_attn|enc2_|dec2_)'      # the 5 s progressive recipe

The step is the loop's (`loop.build_step`), at the config's batch and crop/window, with the config's mesh; a
dynamics config stands on its matching LAM config file (configs/lam*.py). Numbers are what XLA's
`compiled.memory_analysis()` reports per device for the CPU compilation: an accelerator's compiler makes other
fusion and scheduling choices, so treat them as estimates (state bytes are exact). Prints a table, then one JSON
line: devices, fsdp, argument_bytes (state + batch), output_bytes, alias_bytes (outputs written over donated
arguments), temp_bytes, state_bytes (params + optimizer + EMA on one device), per_device_gib (peak: arguments +
outputs - aliases + temporaries).
"""

import os
import sys


def _flag_from_argv(argv: list[str], name: str, default: str) -> str:
  for i, arg in enumerate(argv):
    if arg.startswith(f"--{name}="):
      return arg.split("=", 1)[1]
    if arg == f"--{name}" and i + 1 < len(argv):
      return argv[i + 1]
  return default


def _devices_from_argv(argv: list[str]) -> int:
  """--devices must be known before JAX starts: it sets the number of fake CPU devices."""
  return int(_flag_from_argv(argv, "devices", "8"))


os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") +
                           f" --xla_force_host_platform_device_count={_devices_from_argv(sys.argv)}")
os.environ.setdefault("JAX_PLATFORMS", "cpu")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import json  # noqa: E402
import time  # noqa: E402

from absl import app, flags  # noqa: E402
from ml_collections import config_flags  # noqa: E402

from benchmarks.common import print_table  # noqa: E402
from genie_audio.testing import compiled_step  # noqa: E402

_CONFIG = config_flags.DEFINE_config_file("config", None, "Stage config file[:preset].", lock_config=True)
_DEVICES = flags.DEFINE_integer("devices", 8, "Fake CPU devices to compile for.")
flags.mark_flags_as_required(["config"])

GIB = 2 ** 30


def main(argv):
  del argv
  import jax
  config = _CONFIG.value
  spec = _flag_from_argv(sys.argv, "config", "")  # "path[:preset]" as given
  start = time.perf_counter()
  devices = jax.devices()[:_DEVICES.value]
  _, parts = compiled_step.build(config, spec, devices)
  compiled = parts.train_step.lower(parts.abstract_state, parts.abstract_batch).compile()
  m = compiled_step.memory_bytes(compiled)
  state_bytes = compiled_step.state_bytes_per_device(parts, trees=("params", "opt_state", "ema_params"))
  overrides = [arg.removeprefix("--config.") for arg in sys.argv[1:] if arg.startswith("--config.")]
  result = dict(config=spec, overrides=overrides, devices=len(devices), data=len(devices) // config.mesh.fsdp,
                fsdp=config.mesh.fsdp, batch=config.batch_size, remat=config.model.get("remat", "none"),
                argument_bytes=m["argument_bytes"], output_bytes=m["output_bytes"], alias_bytes=m["alias_bytes"],
                temp_bytes=m["temp_bytes"], state_bytes=state_bytes, per_device_gib=round(m["peak_bytes"] / GIB, 3),
                compile_s=round(time.perf_counter() - start, 1))
  print_table([{"config": result["config"], "devices": result["devices"], "fsdp": result["fsdp"],
                "batch": result["batch"], "remat": result["remat"],
                "state GiB": round(state_bytes / GIB, 3), "arguments GiB": round(m["argument_bytes"] / GIB, 3),
                "temp GiB": round(m["temp_bytes"] / GIB, 3), "peak GiB": result["per_device_gib"]}])
  print(json.dumps(result), flush=True)


if __name__ == "__main__":
  app.run(main)
