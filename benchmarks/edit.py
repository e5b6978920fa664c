"""Edit benchmark: seconds to edit a 10 s clip end to end, by stage, and the dynamics train step's FLOP/s fraction.

    python benchmarks/edit.py --workdir runs/demo/dynamics [--seconds 10] [--span 1.0] [--repeats 3]
        [--full_preset tiny]     # the 'full-size' rows at the tiny configs' size (a quick check)

The clip is cut from the middle of the run's first validation recording; a span of --span seconds in its middle
is re-written with random actions (after one untimed edit that compiles everything; its time is shown too), with
the run's action guidance and without it (that row's share: in-painting with it over without it).
Train steps (Adam, EMA, the loop's own `make_train_step`) are timed for the run's model and for the full-size
50 frames/s config's model at --full_batch windows, each against a dense matmul peak measured in this process.
Last, one full-size window is in-painted (random params) without and with action guidance by a full-size LAM.
Prints one table.
"""

import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from absl import app, flags  # noqa: E402
import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

from benchmarks.common import print_table, time_fn, time_train_step  # noqa: E402
from configs import dynamics as dynamics_configs  # noqa: E402
from configs import lam as lam_configs  # noqa: E402
from genie_audio import tasks  # noqa: E402
from genie_audio.data import manifest, pipelines  # noqa: E402
from genie_audio.editing.edit import Editor  # noqa: E402
from genie_audio.editing.render import make_inpaint_fn, window_keys  # noqa: E402
from genie_audio.eval import flops  # noqa: E402
from genie_audio.models.dynamics import DynamicsModel  # noqa: E402
from genie_audio.models.lam import lam_from_config  # noqa: E402
from genie_audio.tasks.dynamics import DynamicsTask  # noqa: E402
from genie_audio.training.task import Task  # noqa: E402

_WORKDIR = flags.DEFINE_string("workdir", "runs/demo/dynamics", "Dynamics run folder.")
_SECONDS = flags.DEFINE_float("seconds", 10.0, "Clip length.")
_SPAN = flags.DEFINE_float("span", 1.0, "Edited span, seconds (in the middle of the clip).")
_REPEATS = flags.DEFINE_integer("repeats", 3, "Timed edits and train steps.")
_FULL_BATCH = flags.DEFINE_integer("full_batch", 2, "Windows per train step of the full-size model.")
_FULL_PRESET = flags.DEFINE_string("full_preset", "", "Preset of configs/dynamics.py and configs/lam.py for the "
                                   "'full-size' rows ('': the full size; tiny: a quick smoke run).")

STAGES = ("encode", "inpaint", "decode")  # encode: the latent and its action timeline


class _BenchTask(DynamicsTask):
  """The dynamics task's loss for a given model, without an upstream run (random latents and actions)."""

  def __init__(self, config, model, lam_config):  # pylint: disable=super-init-not-called
    Task.__init__(self, config)
    self.model = model
    self.frames_per_action = lam_config.model.frames_per_action
    self.num_actions = lam_config.model.num_actions


def clip(editor: Editor) -> np.ndarray:
  """The middle --seconds of the first validation recording of the tokenizer's dataset."""
  dataset_dir = editor.tokenizer.config.data.dataset_dir
  recording = manifest.load_split(dataset_dir, "validation")[0]
  n = min(int(_SECONDS.value * manifest.SAMPLE_RATE), recording.frames)
  return pipelines.read_wave(str(manifest.shard_path(dataset_dir, recording)), (recording.frames - n) // 2, n)


def timed_edits(editor: Editor, wave: np.ndarray, **settings) -> tuple[float, list[dict], list[float]]:
  """(first edit's seconds, each timed edit's stage seconds, each timed edit's total seconds)."""
  middle = len(wave) / manifest.SAMPLE_RATE / 2
  start, end = middle - _SPAN.value / 2, middle + _SPAN.value / 2
  steps = editor.plan_span(len(wave), start, end).num_steps
  rng = np.random.default_rng(0)
  request = lambda: dict(actions=rng.integers(0, editor.num_actions, steps).tolist(), **settings)
  clock = time.perf_counter()
  editor.edit(wave, start, end, **request())  # compiles
  cold = time.perf_counter() - clock
  runs_, totals = [], []
  for seed in range(_REPEATS.value):
    clock = time.perf_counter()
    runs_.append(editor.edit(wave, start, end, seed=seed, **request()).info["seconds"])
    totals.append(time.perf_counter() - clock)
  return cold, runs_, totals


def edit_rows(editor: Editor, wave: np.ndarray) -> list[dict]:
  cold, runs_, totals = timed_edits(editor, wave)
  total = statistics.median(totals)
  rows = [dict(item=f"edit {len(wave) / manifest.SAMPLE_RATE:g} s clip: {s}",
               seconds=statistics.median(r[s] for r in runs_),
               share=statistics.median(r[s] for r in runs_) / total) for s in STAGES]
  rows.append(dict(item=f"edit {len(wave) / manifest.SAMPLE_RATE:g} s clip ({_SPAN.value:g} s span): total",
                   seconds=total, share=1.0))
  rows.append(dict(item="first edit (compiles)", seconds=cold))
  # What the LAM's pull costs: the same edits with action guidance off.
  _, plain_runs, _ = timed_edits(editor, wave, action_guidance=0.0)
  plain = statistics.median(r["inpaint"] for r in plain_runs)
  rows.append(dict(item="inpaint without action guidance", seconds=plain,
                   share=statistics.median(r["inpaint"] for r in runs_) / plain))
  return rows


def full_size_inpaint_rows(model: DynamicsModel, lam_config, window_frames: int, size: str = "full-size"
                           ) -> list[dict]:
  """One full-size window in-painted (random params, 16 steps, float32) without and with action guidance by a
  full-size LAM: what the LAM's pull costs where the models are big."""
  lam = lam_from_config(lam_config.model, latent_dim=lam_config.data.latent_dim)
  C, A, R = lam_config.data.latent_dim, lam_config.model.num_actions, lam_config.model.frames_per_action
  rng = np.random.default_rng(0)
  z = rng.normal(size=(1, window_frames, C)).astype(np.float32)
  mask = np.zeros((1, window_frames), bool)
  mask[:, window_frames // 3:2 * window_frames // 3] = True
  actions = np.repeat(rng.integers(0, A, (1, window_frames // R)), R, axis=1).astype(np.int32)
  params = model.init(jax.random.key(0), z, z, jnp.zeros((1,)), jnp.asarray(mask), jnp.asarray(actions))["params"]
  lam_params = lam.init(jax.random.key(2), z, jnp.asarray(mask))["params"]
  inpaint = make_inpaint_fn(model, lam)
  keys = window_keys([0], 0)
  rows, seconds = [], {}
  for name, pull in (("without", None), ("with", lam_params)):
    run = lambda: inpaint(params, z, mask, actions, keys, guidance_scale=np.float32(2.0),
                          guidance_max_t=np.float32(0.5), lam_params=pull, action_guidance_weight=np.float32(3.0),
                          num_steps=16, method="euler")
    seconds[name] = time_fn(run, warmup=1, repeats=_REPEATS.value)
    rows.append(dict(item=f"{size} in-painting, 1 x {window_frames} frames, 16 steps: {name} action guidance",
                     seconds=seconds[name], share=seconds[name] / seconds["without"]))
  return rows


def train_step_row(name: str, task: Task, batch: dict, peak: float) -> dict:
  seconds, step_flops, _ = time_train_step(task, batch, _REPEATS.value)
  B, T, _ = batch["latents"].shape
  return dict(item=f"train step: {name}, {B} x {T} frames", seconds=seconds, gflop=step_flops / 1e9,
              gflop_per_s=step_flops / seconds / 1e9, peak_fraction=flops.achieved_fraction(step_flops, seconds, peak))


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {argv[1:]}")
  editor = Editor.load(_WORKDIR.value)
  rows = edit_rows(editor, clip(editor))
  peak = flops.measure_matmul_peak(jnp.float32)
  task = tasks.load(_WORKDIR.value)
  batch = {k: np.asarray(v) for k, v in task.train_data(0, task.config.batch_size, 0, 1)[0].items()}
  rows.append(train_step_row("this run", task, batch, peak))
  full, full_lam = (dynamics_configs.get_config(_FULL_PRESET.value or None),
                    lam_configs.get_config(_FULL_PRESET.value or None))
  full.model.dtype = full_lam.model.dtype = "float32"  # bfloat16 matmuls are emulated on CPU
  C, A, R = full_lam.data.latent_dim, full_lam.model.num_actions, full_lam.model.frames_per_action
  model = DynamicsModel(latent_dim=C, num_actions=A, **{k: v for k, v in full.model.items() if k != "dtype"})
  T = full.data.window_frames
  rng = np.random.default_rng(0)
  full_batch = {"latents": rng.normal(size=(_FULL_BATCH.value, T, C)).astype(np.float32),
                "actions": np.repeat(rng.integers(0, A, (_FULL_BATCH.value, T // R)), R, axis=1).astype(np.int32)}
  size = _FULL_PRESET.value or "full-size"
  rows.append(train_step_row(f"{size} model (f32)", _BenchTask(full, model, full_lam), full_batch, peak))
  rows.extend(full_size_inpaint_rows(model, full_lam, T, size))
  rows.append(dict(item="matmul peak (f32, measured)", gflop_per_s=peak / 1e9))
  print_table(rows, title=f"Edit and dynamics train step on {jax.default_backend()} ({jax.device_count()} device)")


if __name__ == "__main__":
  app.run(main)
