"""A trained run loaded from its workdir (config.json + checkpoint) as a frozen model: `TrainedRun`.

Later stages and the editor use upstream runs this way. A dynamics run names its latent action model run
(`config.init.lam.workdir`); the LAM run names its latents (its `data.latent_dir`, or its tokenizer run's
`latents/` folder); the latents record the tokenizer run and the checkpoint step that encoded them
(`latents.json`). Each run is rebuilt from its own config and gets its params only (EMA params where the run
kept them). Errors name the command that creates what is missing, and for an upstream run that is not where
its run recorded it (a moved runs folder), the override that names its new place.

A run's model is rebuilt from its config by `build_model`, with the same builders its stage's Task uses
(`models.tokenizer.tokenizer_from_config`, `models.lam.lam_from_config`, `models.dynamics.dynamics_from_config`).
"""

from __future__ import annotations

import dataclasses
import logging
import os
import re
from pathlib import Path
from typing import Any

import ml_collections

from genie_audio.data import latents as latent_store
from genie_audio.models.dynamics import dynamics_from_config
from genie_audio.models.lam import lam_from_config
from genie_audio.models.tokenizer import tokenizer_from_config
from genie_audio.runs import run
from genie_audio.training import checkpoint

log = logging.getLogger(__name__)

PyTree = Any

LAM_COMMAND = ("python launch/train.py --config configs/lam.py --workdir {workdir} "
               "--config.init.tokenizer.workdir=TOKENIZER_RUN")
TOKENIZER_COMMAND = "python launch/train.py --config configs/tokenizer.py --workdir {workdir}"
DYNAMICS_COMMAND = ("python launch/train.py --config configs/dynamics.py --workdir {workdir} "
                    "--config.init.lam.workdir=LAM_RUN")


@dataclasses.dataclass(frozen=True)
class TrainedRun:
  """A trained run: its folder, config, rebuilt model, params (host arrays) and checkpoint step."""
  workdir: str
  config: ml_collections.ConfigDict
  model: Any
  params: PyTree
  step: int


def check_run(workdir: str | os.PathLike | None, task: str, what: str, command: str,
              override: str | None = None) -> ml_collections.ConfigDict:
  """The config of a finished `task` run at `workdir`; errors say what is wrong and which command fixes it (for
  a folder that does not exist, also `override`, how to name it, by default read from `what`)."""
  fix = command.format(workdir=workdir or "RUN")
  if not workdir:
    raise ValueError(f"{what} is not set; train that run first ({fix}) and pass its folder")
  if not Path(workdir).exists():
    raise FileNotFoundError(f"{what}={str(workdir)!r} does not exist. {moved_hint(what, override)}; or train it: "
                            f"{fix}")
  if not (Path(workdir) / "config.json").exists():
    raise FileNotFoundError(f"{what}={str(workdir)!r} is not a training run (no config.json); train it first: "
                            f"{fix}")
  config = run.load_config(workdir)
  if config.task != task:
    raise ValueError(f"{what}={str(workdir)!r} is a {config.task!r} run, not a {task!r} run; train one: {fix}")
  has_checkpoint = (checkpoint.checkpoint_dir(workdir).exists()
                    and checkpoint.Checkpointer(workdir, read_only=True).latest_step() is not None)
  if not has_checkpoint:
    raise FileNotFoundError(f"{what}={str(workdir)!r} has no checkpoint yet; train it first: {fix}")
  return config


def moved_hint(what: str, override: str | None = None) -> str:
  """What to do when the upstream run `what` names is not where it was recorded (the runs were moved apart):
  move them together, or name its new folder (`override`; by default the config key in `what`)."""
  keep = ("If the runs moved, move them together: a run records its upstream runs relative to its own folder "
          "when they share its grandparent")
  key = re.search(r"config\.(\w+(?:\.\w+)*)", what)
  if override is None and key is not None:
    override = (f"--config.{key.group(1)}=NEW_PATH when training, {key.group(1)} in the run's config.json "
                f"otherwise")
  return keep if override is None else f"{keep}; or name the new folder: {override}"


def build_model(config: ml_collections.ConfigDict, workdir: str | os.PathLike | None = None) -> Any:
  """The model a run of `config.task` trains, rebuilt from its config (a dynamics run's also reads its LAM's);
  `workdir`, the run's folder, only names the run in errors."""
  if config.task == "tokenizer":
    return tokenizer_from_config(config.model)
  if config.task == "lam":
    return lam_from_config(config.model, config.data.latent_dim)
  if config.task == "dynamics":
    whose = "" if workdir is None else f"{workdir}'s "
    lam = check_run(config.init.lam.workdir, "lam", f"{whose}config.init.lam.workdir", LAM_COMMAND)
    return dynamics_from_config(config.model, lam.data.latent_dim, lam.model.num_actions)
  raise ValueError(f"config.task={config.task!r} has no model to load; known: dynamics, lam, tokenizer")


def load(workdir: str | os.PathLike, step: int | None = None) -> TrainedRun:
  """A run's model and its (EMA, if kept) params at `step` (default: latest)."""
  config = run.load_config(workdir)
  model = build_model(config, workdir)  # first: it checks the upstream runs a dynamics model needs
  params, ema_params, step = run.load_train_params(workdir, step)
  return TrainedRun(str(workdir), config, model, ema_params if ema_params is not None else params, step)


def load_lam(workdir: str | os.PathLike, what: str = "config.init.lam.workdir") -> TrainedRun:
  """The frozen latent action model of a run (checked to be a finished LAM run)."""
  check_run(workdir, "lam", what, LAM_COMMAND)
  return load(workdir)


def default_latent_dir(tokenizer_workdir: str | os.PathLike) -> str:
  """Where `launch/encode.py` writes a tokenizer run's latents by default: WORKDIR/latents."""
  return str(Path(tokenizer_workdir).absolute() / "latents")


def config_latent_dir(config: ml_collections.ConfigDict) -> str:
  """The latent folder a LAM config reads: `data.latent_dir`, else its tokenizer run's default (not checked)."""
  if config.data.latent_dir:
    return config.data.latent_dir
  if not config.init.tokenizer.workdir:
    raise ValueError("set config.init.tokenizer.workdir=TOKENIZER_RUN (or config.data.latent_dir=LATENTS)")
  return default_latent_dir(config.init.tokenizer.workdir)


def lam_latent_dir(lam: TrainedRun) -> str:
  """The latent folder the LAM run trained on, checked to be complete."""
  latent_dir = config_latent_dir(lam.config)
  if not Path(latent_dir).exists():
    key = "data.latent_dir" if lam.config.data.latent_dir else "init.tokenizer.workdir"
    raise FileNotFoundError(f"{latent_dir}, the latents of the LAM run {lam.workdir}, does not exist. "
                            f"{moved_hint(f'config.{key}')}")
  if latent_store.read_meta(latent_dir) is None:
    raise FileNotFoundError(f"{latent_dir} (the latents of the LAM run {lam.workdir}) holds no complete latents; "
                            f"run python launch/encode.py --workdir TOKENIZER_RUN first")
  return latent_dir


def load_tokenizer(latent_dir: str | os.PathLike) -> TrainedRun:
  """The tokenizer that encoded `latent_dir`, at the checkpoint step that encoded it where it still exists."""
  meta = latent_store.read_meta(latent_dir)
  if meta is None:
    raise FileNotFoundError(f"{latent_dir} holds no complete latents; run python launch/encode.py "
                            f"--workdir TOKENIZER_RUN first")
  workdir = meta.get("tokenizer_workdir", "")
  check_run(workdir, "tokenizer", f"the tokenizer run that encoded {latent_dir}", TOKENIZER_COMMAND,
            override=f"tokenizer_workdir in {Path(latent_dir) / latent_store.META}")
  step = meta.get("tokenizer_step")
  kept = checkpoint.Checkpointer(workdir, read_only=True).manager.all_steps()
  if step not in kept:
    log.warning("%s was encoded by step %s of %s, which is no longer kept; decoding with its latest step %d",
                latent_dir, step, workdir, max(kept))
    step = None
  return load(workdir, step)
