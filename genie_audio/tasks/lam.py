"""Stage 2: the latent action model, trained by in-painting hidden action steps of latent windows.

Preparation (`prepare`, before training): the latents named by `data.latent_dir` or the tokenizer run's
`latents/`, encoded there first if missing (`prepare_latents`), checked against the config's width and rate.
With `model.decoder_level_input`, also the direction of the decoder's level input (`level_direction`: the
training latents' first principal component), which `init_params` writes into the params (a constant there).

loss = MSE on the hidden frames + vq.loss_weight * (codebook + beta * commitment). `loss_weighting`:
"none" scores the latents as they are; "window_std" divides each channel's error by that channel's variance
over the window, so a window's level (constant over it) weighs no more than what moves within it.
`loss_space`: "frames" scores every hidden latent frame; "step_means" scores the mean of each hidden step's R
frames, so the actions answer for what a step does as a whole rather than its frame-to-frame detail (most of the
latents' variance, which a few bits per step cannot carry). After each optimizer step, `post_update` advances
the VQ's usage EMA (non-trainable: the train state's `stats`, see models/vq.py), counts the codes below
`vq.dead_threshold` (train/dead_codes) and restarts them from the batch's encodings.

Evaluation (`evaluate`) on fixed validation windows, with fixed masks: hidden-span errors with inferred, random
and no actions, codebook usage and stability (the metrics are listed in `lam_metrics.py`), and a timeline figure.
`report` (launch/evaluate.py on a finished run) adds, over the whole recordings of the eval split
(`eval/action_analysis.measure`): eta_squared {"state": {descriptor: value}, "move": {...}}, the share of
each step descriptor's variance the action explains, and gain_invariance {"-10dB": x, "+6dB": y}, the share
of steps whose action (inferred as the editor does, coded at the training loudness) is unchanged when the
recording is played at that gain; gain_invariance_raw is the same with the tokenizer seeing the played level.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from genie_audio.data import latents as latent_store
from genie_audio.data import pipelines
from genie_audio.data.manifest import SAMPLE_RATE
from genie_audio.editing import action_reader
from genie_audio.eval import action_analysis, edit_metrics
from genie_audio.eval.timeline_media import TimelineFigure
from genie_audio.models import masking
from genie_audio.models import vq as vq_lib
from genie_audio.models.lam import ENCODER_ATTENTIONS, ENCODER_VIEWS, LatentActionModel, lam_from_config
from genie_audio.models.spans import step_means
from genie_audio.runs import encoding, trained_run
from genie_audio.tasks.lam_metrics import (LOSS_SPACES, LOSS_WEIGHTINGS, error_metrics, hidden_squared_error,
                                           lam_eval_metrics, window_channel_weights)
from genie_audio.training import sharding as sharding_lib
from genie_audio.training.task import Task

log = logging.getLogger(__name__)

_F32 = jnp.float32


def _tokenizer_command(frame_rate: float) -> str:
  config = "configs/tokenizer_8hz.py" if round(frame_rate) == 8 else "configs/tokenizer.py"
  return f"python launch/train.py --config {config} --workdir TOKENIZER_RUN"


def _check_latents(where: str, latent_dim: int, frame_rate: float, config: ml_collections.ConfigDict) -> None:
  if int(latent_dim) != config.data.latent_dim or not math.isclose(float(frame_rate), config.data.frame_rate,
                                                                   rel_tol=1e-3):
    raise ValueError(
        f"{where} has latent_dim={latent_dim} at {frame_rate} frames/s, this config expects "
        f"latent_dim={config.data.latent_dim} at {config.data.frame_rate} frames/s: use the matching LAM "
        f"config (configs/lam.py for 50 frames/s, configs/lam_8hz.py for 8; tiny tokenizers have other "
        f"widths: --config.data.latent_dim=...), or point config.init.tokenizer.workdir at the matching "
        f"tokenizer run ({_tokenizer_command(config.data.frame_rate)}) and encode it with "
        f"python launch/encode.py --workdir TOKENIZER_RUN")


def prepare_latents(config: ml_collections.ConfigDict) -> str:
  """The folder of encoded latents this run reads, checked against the config; errors name the fix.

  `data.latent_dir` if set, else `init.tokenizer.workdir`/latents, which is encoded here when it is missing
  (with `runs.encoding.encode_dataset`, the function behind launch/encode.py), after checking that the
  tokenizer run's latent width and rate match this config. The processes share the encoding out.
  """
  latent_dir = trained_run.config_latent_dir(config)
  if not config.data.latent_dir and latent_store.read_meta(latent_dir) is None:
    _encode(config.init.tokenizer.workdir, latent_dir, config)
  meta = latent_store.read_meta(latent_dir)
  if meta is None:
    raise FileNotFoundError(
        f"{Path(latent_dir) / latent_store.META} does not exist: the latents are not (fully) encoded; run "
        f"python launch/encode.py --workdir TOKENIZER_RUN first")
  _check_latents(f"the latent folder {latent_dir}", meta["latent_dim"], meta["frame_rate"], config)
  log.info("lam: reading the latents in %s (encoded by %s at step %s)", latent_dir,
           meta.get("tokenizer_workdir", "?"), meta.get("tokenizer_step", "?"))
  return latent_dir


def _encode(tokenizer_dir: str, latent_dir: str, config: ml_collections.ConfigDict) -> None:
  if not (Path(tokenizer_dir) / "checkpoints").is_dir():
    raise FileNotFoundError(
        f"config.init.tokenizer.workdir={tokenizer_dir!r} has no tokenizer checkpoints; train the tokenizer "
        f"first: {_tokenizer_command(config.data.frame_rate)} (and pass that folder here)")
  command = f"python launch/encode.py --workdir {tokenizer_dir}"
  # Check the widths before spending time on encoding.
  tokenizer = trained_run.build_model(trained_run.check_run(
      tokenizer_dir, "tokenizer", "config.init.tokenizer.workdir", _tokenizer_command(config.data.frame_rate)))
  _check_latents(f"the tokenizer run {tokenizer_dir}", tokenizer.latent_dim,
                 SAMPLE_RATE / tokenizer.total_stride, config)
  log.warning("lam: encoding the dataset with the tokenizer in %s into %s (once; same as `%s`)", tokenizer_dir,
              latent_dir, command)
  # Every process encodes its share of the recordings; process 0 completes the folder (runs/encoding.py).
  encoding.encode_dataset(tokenizer_dir, output_dir=latent_dir)  # its bar shows process 0's share


def level_direction(latent_dir: str, max_frames: int = 200_000) -> np.ndarray:
  """(C,) the first principal component of the training split's latent frames (up to `max_frames` of them,
  evenly from every recording), unit length: the direction of the decoder's level input
  (`models.lam.step_level`). On the demo latents a step's mean projection on it tracks the step's loudness
  with r = 0.92 (experiments/lam_level_scalar.py); its sign does not matter to the decoder."""
  entries = latent_store.load_split(latent_dir, "train")
  per_recording = max(1, max_frames // len(entries))
  frames = []
  for entry in entries:
    z_TC = pipelines.read_latent(str(Path(latent_dir) / entry.shard), 0, entry.frames)
    frames.append(z_TC[np.linspace(0, len(z_TC) - 1, min(per_recording, len(z_TC))).astype(int)])
  return edit_metrics.first_component(np.concatenate(frames)[None]).astype(np.float32)


class LamTask(Task):
  name = "lam"

  def __init__(self, config: ml_collections.ConfigDict, workdir: str | None = None):
    super().__init__(config, workdir)
    self.validate_config(config)
    self.model: LatentActionModel = lam_from_config(config.model, config.data.latent_dim)
    self.mask_config = masking.MaskConfig(**config.mask)
    self.frames_per_action = config.model.frames_per_action
    self.num_steps = config.data.window_frames // self.frames_per_action
    self._latent_dir: str | None = None
    self._level_direction: np.ndarray | None = None
    self._eval_windows: np.ndarray | None = None
    self._eval_step = None
    self._timeline: TimelineFigure | None = None

  @classmethod
  def validate_config(cls, config: ml_collections.ConfigDict) -> None:
    def check(ok: bool, field: str, value, requirement: str):
      if not ok:
        raise ValueError(f"config.{field}={value!r}: {requirement}")
    R = config.model.frames_per_action
    check(R >= 1, "model.frames_per_action", R, "must be >= 1")
    check(config.data.window_frames % R == 0 and config.data.window_frames >= 2 * R, "data.window_frames",
          config.data.window_frames, f"must be a multiple of model.frames_per_action={R}, at least 2 steps")
    check(config.model.num_actions >= 2, "model.num_actions", config.model.num_actions, "must be >= 2")
    check(config.model.model_dim % config.model.num_heads == 0, "model.model_dim", config.model.model_dim,
          f"must be divisible by model.num_heads={config.model.num_heads}")
    check(config.model.get("encoder_view", "window") in ENCODER_VIEWS, "model.encoder_view",
          config.model.get("encoder_view"), f"must be one of {ENCODER_VIEWS}")
    check(config.model.get("encoder_attention", "bidirectional") in ENCODER_ATTENTIONS, "model.encoder_attention",
          config.model.get("encoder_attention"), f"must be one of {ENCODER_ATTENTIONS}")
    check(isinstance(config.model.get("decoder_level_input", False), bool), "model.decoder_level_input",
          config.model.get("decoder_level_input"), "must be True or False")
    check(config.get("loss_weighting", "none") in LOSS_WEIGHTINGS, "loss_weighting",
          config.get("loss_weighting"), f"must be one of {LOSS_WEIGHTINGS}")
    check(config.get("loss_space", "frames") in LOSS_SPACES, "loss_space", config.get("loss_space"),
          f"must be one of {LOSS_SPACES}")
    check(0 <= config.action_dropout < 1, "action_dropout", config.action_dropout, "must be in [0, 1)")
    check(0 < config.vq.usage_decay < 1, "vq.usage_decay", config.vq.usage_decay, "must be in (0, 1)")
    check(0 <= config.vq.dead_threshold < 1 / config.model.num_actions, "vq.dead_threshold",
          config.vq.dead_threshold, "must be in [0, 1/num_actions): restarted codes start at 1/num_actions")
    check(config.eval.num_windows >= 1 and config.eval.batch_size >= 1, "eval.num_windows",
          config.eval.num_windows, "eval.num_windows and eval.batch_size must be >= 1")
    try:
      masking.MaskConfig(**config.mask)
    except ValueError as e:
      raise ValueError(f"config.mask: {e}") from None

  def prepare(self) -> None:
    """Finds the encoded latents this run reads, encoding its tokenizer run's dataset first if they are missing."""
    self._latent_dir = prepare_latents(self.config)
    if self.config.model.get("decoder_level_input", False):
      self._level_direction = level_direction(self._latent_dir)

  @property
  def latent_dir(self) -> str:
    """The encoded latents this run reads (found by `prepare`)."""
    if self._latent_dir is None:
      raise RuntimeError("LamTask.prepare() has not run: it finds (or encodes) the latents this run reads")
    return self._latent_dir

  def train_data(self, seed, batch_size, shard_index, shard_count):
    ds = pipelines.latent_windows(self.latent_dir, "train", self.config.data.window_frames,
                                  batch_size=batch_size, seed=seed, shard_index=shard_index,
                                  shard_count=shard_count)
    # Read the eval windows now, before the loop's reader thread starts: np.load parses .npy headers with
    # ast.literal_eval, which is not thread-safe in CPython 3.11 (python/cpython#106905: "AST constructor
    # recursion depth mismatch"), so loading them at the first evaluation could crash the run.
    self.eval_windows()
    return ds

  def batch_shapes(self, batch_size):
    return {"latents": jax.ShapeDtypeStruct((batch_size, self.config.data.window_frames,
                                             self.config.data.latent_dim), _F32)}

  def init_params(self, rng, batch):
    z_BTC = jnp.zeros(batch["latents"].shape, _F32)
    params = self.model.init(rng, z_BTC, jnp.zeros(z_BTC.shape[:2], bool))["params"]
    if self._level_direction is not None:  # the decoder's level input: the training latents' first PC
      params = {**params, "level_direction": jnp.asarray(self._level_direction, _F32)}
    return params

  def init_stats(self):
    return {"vq": {"usage_ema": vq_lib.init_usage(self.config.model.num_actions)}}

  def sample_mask(self, rng: jax.Array, batch: int) -> jax.Array:
    """(B, T) frame mask, True = hidden, aligned to action steps."""
    mask_BS = masking.sample_step_mask(rng, batch, self.num_steps, self.mask_config)
    return masking.steps_to_frames(mask_BS, self.frames_per_action)

  def loss(self, params, batch, rng, step):
    del step
    z_BTC = batch["latents"].astype(_F32)
    mask_rng, drop_rng = jax.random.split(rng)
    mask_BT = self.sample_mask(mask_rng, z_BTC.shape[0])
    drop_B = jax.random.bernoulli(drop_rng, self.config.action_dropout, (z_BTC.shape[0],))
    prediction_BTC, aux = self.model.apply({"params": params}, z_BTC, mask_BT, drop_B)
    target_BTC, scored_BTC, scored_mask_BT = z_BTC, prediction_BTC, mask_BT
    if self.config.get("loss_space", "frames") == "step_means":
      R = self.frames_per_action  # masks hide whole steps, so a step's first frame says whether it is hidden
      target_BTC, scored_BTC = step_means(z_BTC, R), step_means(prediction_BTC, R)
      scored_mask_BT = mask_BT[:, ::R]
    weights_B1C = window_channel_weights(target_BTC, self.config.get("loss_weighting", "none"))
    err_B, count_B = hidden_squared_error(scored_BTC, target_BTC, scored_mask_BT, weights_B1C)
    recon = jnp.sum(err_B) / jnp.maximum(jnp.sum(count_B), 1.0)
    loss = recon + self.config.vq.loss_weight * aux["loss"]
    metrics = {
        "train/recon_loss": recon,
        "train/commitment": aux["commitment_loss"],
        "train/codebook_loss": aux["codebook_loss"],
        "train/codebook_usage": aux["usage"],
        "train/perplexity": aux["perplexity"],
        "train/hidden_fraction": jnp.mean(mask_BT.astype(_F32)),
    }
    restart_aux = {k: aux[k] for k in ("encodings", "counts")}
    return loss, metrics, restart_aux

  def post_update(self, params, stats, aux, rng):
    """Advances the usage EMA with the batch's code counts, then restarts the dead codes."""
    usage_A = stats["vq"]["usage_ema"]
    metrics = {"train/dead_codes": jnp.sum(usage_A < self.config.vq.dead_threshold).astype(_F32)}
    usage_A = vq_lib.update_usage(usage_A, aux["counts"], self.config.vq.usage_decay)
    encodings_ND = aux["encodings"].reshape(-1, aux["encodings"].shape[-1])
    codebook_AD, usage_A = vq_lib.restart_dead_codes(
        params["vq"]["codebook"], usage_A, encodings_ND, rng, self.config.vq.dead_threshold,
        noise_scale=self.config.vq.restart_noise)
    return ({**params, "vq": {**params["vq"], "codebook": codebook_AD}}, {**stats, "vq": {"usage_ema": usage_A}},
            metrics)

  # --- evaluation -------------------------------------------------------------------------------------------

  def eval_windows(self) -> np.ndarray | None:
    """Fixed validation windows (N, T + 1, C) (one frame longer, for the stability metric); None if none."""
    if self._eval_windows is None:
      cfg = self.config.eval
      try:
        ds = pipelines.latent_windows(self.latent_dir, cfg.split, self.config.data.window_frames + 1,
                                      batch_size=1, seed=cfg.seed)
      except ValueError as e:  # e.g. no validation split: train on, but say so
        log.warning("LAM evaluation skipped: %s", e)
        self._eval_windows = np.zeros((0,), np.float32)
        return None
      # The first num_windows crops of a seeded, repeating pipeline: the same windows at every evaluation
      # (a small split gives several crops of a recording, at different offsets).
      self._eval_windows = np.concatenate([ds[i]["latents"] for i in range(cfg.num_windows)], axis=0)
    return self._eval_windows if self._eval_windows.size else None

  def _make_eval_step(self, params):
    model, T, S, A = self.model, self.config.data.window_frames, self.num_steps, self.config.model.num_actions
    base = jax.random.key(self.config.eval.seed)

    def eval_step(params, x_BUC, index):
      # U = T + 1 frames: the window and its copy shifted by one frame. Both encoder passes and the three
      # decoder passes run as one batch each (one trace apiece: faster to compile).
      variables = {"params": params}
      z_BTC = x_BUC[:, :T]
      B = z_BTC.shape[0]
      both_BTC = jnp.concatenate([z_BTC, x_BUC[:, 1:]])
      codes_BS, shifted_codes_BS = jnp.split(
          model.apply(variables, both_BTC, method=LatentActionModel.infer_actions), 2)
      mask_rng, random_rng = jax.random.split(jax.random.fold_in(base, index))
      mask_BT = self.sample_mask(mask_rng, B)
      candidates = {"inferred": codes_BS, "random": jax.random.randint(random_rng, (B, S), 0, A),
                    "none": jnp.full((B, S), -1, jnp.int32)}
      n = len(candidates)
      z3_BTC, mask3_BT = jnp.tile(z_BTC, (n, 1, 1)), jnp.tile(mask_BT, (n, 1))
      prediction_BTC = model.apply(variables, z3_BTC, mask3_BT, jnp.concatenate(list(candidates.values())),
                                   method=LatentActionModel.decode)
      err_B, count_B = hidden_squared_error(prediction_BTC, z3_BTC, mask3_BT)
      R = self.frames_per_action
      step_err_B, step_count_B = hidden_squared_error(step_means(prediction_BTC, R), step_means(z3_BTC, R),
                                                      mask3_BT[:, ::R])
      errors = dict(zip(candidates, jnp.split(err_B, n)))
      errors.update({f"step_{name}": e for name, e in zip(candidates, jnp.split(step_err_B, n))})
      return codes_BS, shifted_codes_BS, errors, jnp.stack([count_B[:B], step_count_B[:B]], axis=-1)

    mesh = sharding_lib.mesh_of(params)
    if mesh is not None:
      # On the params' mesh each device evaluates its share of the windows (so several processes split the
      # work); the small results come back whole on every device.
      return jax.jit(eval_step, out_shardings=sharding_lib.replicated(mesh)), mesh
    return jax.jit(eval_step), None

  def evaluate(self, params, ema_params, step):
    del step
    windows = self.eval_windows()
    if windows is None:
      return {}, {}
    params = ema_params if ema_params is not None else params
    if self._eval_step is None:
      self._eval_step = self._make_eval_step(params)
    eval_step, mesh = self._eval_step
    batch_size, n = self.config.eval.batch_size, len(windows)
    if mesh is not None:
      batch_size = sharding_lib.whole_per_device(batch_size, mesh)
    codes, shifted, counts = [], [], []
    errors = {f"{prefix}{name}": [] for prefix in ("", "step_") for name in ("inferred", "random", "none")}
    for index, start in enumerate(range(0, n, batch_size)):
      x = windows[start:start + batch_size]
      valid = len(x)
      if valid < batch_size:  # pad the last batch (one compiled shape), drop the padding after
        x = np.concatenate([x, np.repeat(x[-1:], batch_size - valid, axis=0)])
      inputs = (x, np.int32(index))
      if mesh is not None:  # the windows split over the devices, the batch index on every one
        inputs = (sharding_lib.put_split(x, mesh),
                  sharding_lib.put_replicated(inputs[1], sharding_lib.replicated(mesh)))
      out = jax.device_get(eval_step(params, *inputs))
      codes.append(out[0][:valid])
      shifted.append(out[1][:valid])
      for name in errors:
        errors[name].append(out[2][name][:valid])
      counts.append(out[3][:valid])
    errors = {k: np.concatenate(v) for k, v in errors.items()}
    counts_N2 = np.concatenate(counts)
    metrics = lam_eval_metrics(np.concatenate(codes), np.concatenate(shifted),
                               {k: v for k, v in errors.items() if not k.startswith("step_")}, counts_N2[:, 0],
                               self.config.model.num_actions, self.frames_per_action)
    metrics.update(error_metrics({k.removeprefix("step_"): v for k, v in errors.items() if k.startswith("step_")},
                                 counts_N2[:, 1], "step_error", "step_controllability_gap"))
    return metrics, self.timeline_figure(params)

  def timeline_figure(self, params) -> dict:
    """{"lam/action_timeline": the actions of one validation clip over its spectrogram} for TensorBoard."""
    if self._timeline is None:
      self._timeline = TimelineFigure(self.model, self.latent_dir, frames_per_action=self.frames_per_action,
                                      window_steps=self.num_steps, num_actions=self.config.model.num_actions,
                                      split=self.config.eval.split,
                                      seconds=self.config.eval.get("timeline_seconds", 8.0))
    return self._timeline(params)

  def report(self, params, ema_params, audio_paths=None, **options):
    """The evaluation of a finished run (launch/evaluate.py): `evaluate` on the fixed validation windows."""
    del options
    if audio_paths:
      raise ValueError("the lam stage is evaluated on encoded latents (its config's validation split), not "
                       "on audio files")
    metrics, _ = self.evaluate(params, ema_params, step=-1)
    windows = self.eval_windows()
    try:
      measures = self.action_measures(ema_params if ema_params is not None else params)
    except FileNotFoundError as e:  # e.g. the audio or the tokenizer run is gone: the rest still holds
      measures = {"measures_note": f"eta_squared and gain_invariance not measured: {e}"}
    # The command's interface keys are the metric names without the `eval/lam/` namespace.
    return {"eval_windows": 0 if windows is None else len(windows),
            **{name.removeprefix("eval/lam/"): value for name, value in metrics.items()}, **measures}

  def action_measures(self, params) -> dict:
    """Eta squared and gain invariance of the eval split's recordings (`action_analysis.measure`)."""
    lam = trained_run.TrainedRun(str(self.workdir), self.config, self.model, params, step=-1)
    reader = action_reader.ActionReader(lam, self.latent_dir)
    return action_analysis.measure(action_analysis.analyze(reader, self.config.eval.split), reader)
