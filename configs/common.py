"""Fields every stage shares, the `:preset` argument parser, and config validation.

A stage file builds on `base_config()` and `parse_arg()`:

    def get_config(arg=None):
      arg = common.parse_arg(arg, preset="default")
      config = common.base_config()
      ...
"""

from __future__ import annotations

import os
import re

import ml_collections

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEMO_DATASET = os.path.join(REPO_ROOT, "data", "demo")
PRESETS = ("default", "tiny")


def parse_arg(arg: str | None, **defaults) -> ml_collections.ConfigDict:
  """Parses `"tiny"` or `"preset=tiny,foo=3"` (big_vision style) over the given defaults."""
  parsed = ml_collections.ConfigDict(defaults)
  for item in filter(None, (arg or "").split(",")):
    key, _, value = item.partition("=")
    if not value:
      key, value = "preset", key
    if key not in parsed:
      raise ValueError(f"unknown config argument {key!r} in {arg!r}; known: {sorted(parsed.keys())}")
    parsed[key] = type(parsed[key])(value) if not isinstance(parsed[key], bool) else value == "True"
  if "preset" in parsed and parsed.preset not in PRESETS:
    raise ValueError(f"unknown preset {parsed.preset!r}; known: {PRESETS}")
  return parsed


def base_config() -> ml_collections.ConfigDict:
  c = ml_collections.ConfigDict()
  c.task = ""                    # a name in genie_audio.tasks.REGISTRY (or module:Class)
  c.seed = 0
  c.total_steps = 10_000
  c.batch_size = 32              # global, over all processes and devices
  c.mesh = ml_collections.ConfigDict(dict(data=-1, fsdp=1))
  c.shard_min_size = 2**14       # params smaller than this stay replicated
  c.optim = ml_collections.ConfigDict(dict(
      lr=3e-4, warmup_steps=1000, final_lr_fraction=0.1, clip_norm=1.0, b1=0.9, b2=0.99,
      weight_decay=0.01))
  c.ema_decay = 0.0              # 0 turns EMA off
  c.nonfinite = "stop"           # "stop": fail naming the step; "skip": drop such updates and go on
  c.log_every_steps = 50
  c.eval_every_steps = 1000
  c.checkpoint_every_steps = 1000
  c.keep_checkpoints = 3
  c.async_checkpoints = True
  # Reader processes; 0 reads in a background thread, as fast for cheap WAV crops (benchmarks/data_pipeline.py).
  c.data = ml_collections.ConfigDict(dict(dataset_dir=DEMO_DATASET, num_workers=0))
  # Joined before anything touches a device (launch/train.py); timeout_s: how long a process waits for the others.
  c.distributed = ml_collections.ConfigDict(dict(
      auto=False, coordinator_address="", num_processes=1, process_id=0, timeout_s=300))
  return c


def _check(condition: bool, field: str, value, requirement: str) -> None:
  if not condition:
    raise ValueError(f"config.{field}={value!r}: {requirement}")


def validate_distributed(c: ml_collections.ConfigDict) -> None:
  """The `config.distributed` fields alone: plain Python, so it runs before `jax.distributed` is joined."""
  d = c.distributed
  _check(d.num_processes >= 1, "distributed.num_processes", d.num_processes, "must be >= 1")
  _check(0 <= d.process_id < d.num_processes, "distributed.process_id", d.process_id,
         "must be in [0, num_processes)")
  _check(d.num_processes == 1 or d.auto or d.coordinator_address, "distributed.coordinator_address",
         d.coordinator_address, "is required when num_processes > 1 (e.g. 'localhost:12355')")
  _check(d.get("timeout_s", 300) > 0, "distributed.timeout_s", d.get("timeout_s"), "must be > 0 (seconds)")


def validate(c: ml_collections.ConfigDict) -> None:
  """Rejects invalid values before any work starts, naming the field; then the stage's own checks
  (`Task.validate_config` of the class that `config.task` names)."""
  for field in ("total_steps", "batch_size", "log_every_steps", "eval_every_steps", "checkpoint_every_steps",
                "keep_checkpoints"):
    _check(int(c[field]) >= 1, field, c[field], "must be >= 1")
  _check(c.optim.lr > 0, "optim.lr", c.optim.lr, "must be > 0")
  _check(c.optim.warmup_steps >= 0, "optim.warmup_steps", c.optim.warmup_steps, "must be >= 0")
  _check(0 <= c.optim.final_lr_fraction <= 1, "optim.final_lr_fraction", c.optim.final_lr_fraction,
         "must be in [0, 1]")
  _check(c.optim.clip_norm > 0, "optim.clip_norm", c.optim.clip_norm, "must be > 0")
  _check(0 <= c.ema_decay < 1, "ema_decay", c.ema_decay, "must be in [0, 1) (0 turns EMA off)")
  _check(c.nonfinite in ("stop", "skip"), "nonfinite", c.nonfinite, "must be 'stop' or 'skip'")
  _check(c.data.num_workers >= 0, "data.num_workers", c.data.num_workers, "must be >= 0")
  _check(c.mesh.fsdp >= 1, "mesh.fsdp", c.mesh.fsdp, "must be >= 1")
  _check(c.mesh.data == -1 or c.mesh.data >= 1, "mesh.data", c.mesh.data, "must be -1 (auto) or >= 1")
  validate_distributed(c)
  if "model" in c:
    from genie_audio.models import layers  # imported here, as the task registry below
    _check(c.model.get("attention", "auto") in layers.ATTENTION_KINDS, "model.attention",
           c.model.get("attention"), f"must be one of {layers.ATTENTION_KINDS}")
    _check(c.model.get("remat", "none") in layers.REMAT_POLICIES, "model.remat", c.model.get("remat"),
           f"must be one of {layers.REMAT_POLICIES}")
  if c.optim.get("trainable"):
    try:
      re.compile(c.optim.trainable)
    except re.error as e:
      _check(False, "optim.trainable", c.optim.trainable, f"is not a valid regular expression ({e})")
  from genie_audio import tasks  # imported here: the registry imports jax, configs stay light
  tasks.get(c.task).validate_config(c)


PATH_FIELDS = ("workdir", "dataset_dir", "latent_dir")


def absolutize_paths(c: ml_collections.ConfigDict) -> None:
  """Makes every non-empty path field absolute (in place), so the config.json a run writes names its data
  and upstream runs wherever a later stage or the editor is started from."""
  for key, value in c.items():
    if isinstance(value, ml_collections.ConfigDict):
      absolutize_paths(value)
    elif key in PATH_FIELDS and isinstance(value, str) and value:
      c[key] = os.path.abspath(os.path.expanduser(value))
