"""Stage 3: the masked dynamics model, trained to in-paint spans of latent windows given the LAM's actions.

Upstream: `config.init.lam.workdir` names a finished LAM run. Its config gives the latent folder, the latent
width C, the number of actions A and R (latent frames per action); the dynamics model is built from those, so
a run cannot disagree with its LAM. Before training (`prepare`), the frozen LAM is loaded and every recording
of its latent folder is labelled with the LAM's action timeline (`editing.actions.label_dataset`, once: cached
in WORKDIR/action_labels.npz), and each frame of a training window carries its step's action: exactly what
the editor feeds the model.

Loss (`models.dynamics.dynamics_loss`): flow matching on the frames of a random edit mask
(`models.spans.sample_edit_mask` with `config.mask`), actions dropped for whole windows with probability
`config.cfg_drop_prob` (classifier-free guidance). EMA on (`config.ema_decay`).

Evaluation (`genie_audio.eval.dynamics_eval`): in-painting error, action accuracy per guidance scale versus
chance, and (in `report`, or in training with `eval.audio_in_training`) seam distances of decoded edits, whose
audio (one window: original, edits per guidance scale, unedited re-generation) training logs to TensorBoard.
`report` adds `edit_music` (`genie_audio.eval.edit_music`): is the span an edit writes music, on the audio.
"""

from __future__ import annotations

import copy
import dataclasses
import logging
import math
from pathlib import Path
from typing import Any

import grain
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from genie_audio import codec
from genie_audio.data import action_labels, manifest
from genie_audio.data.manifest import SAMPLE_RATE
from genie_audio.editing import actions as actions_lib
from genie_audio.editing import requests
from genie_audio.editing.edit import Editor
from genie_audio.eval import edit_music, plots
from genie_audio.eval.dynamics_eval import DynamicsEvaluator
from genie_audio.models import spans
from genie_audio.models.dynamics import dynamics_from_config, dynamics_loss
from genie_audio.runs import trained_run
from genie_audio.training import distributed
from genie_audio.training.task import Batch, PyTree, Task

log = logging.getLogger(__name__)

LABELS = "action_labels.npz"


def _fail(field: str, value: Any, requirement: str) -> None:
  raise ValueError(f"config.{field}={value!r}: {requirement}")


@dataclasses.dataclass(frozen=True)
class Upstream:
  """What `DynamicsTask.prepare` makes ready: the frozen LAM, its latent folder, every recording's actions."""
  lam: trained_run.TrainedRun
  latent_dir: str
  labels: action_labels.Labels


def upstream_lam_config(config: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
  """The LAM run's config, after checking that `config.init.lam.workdir` is a finished LAM run."""
  return trained_run.check_run(config.init.lam.workdir, "lam", "config.init.lam.workdir", trained_run.LAM_COMMAND)


class DynamicsTask(Task):
  name = "dynamics"

  def __init__(self, config: ml_collections.ConfigDict, workdir: str | None = None):
    super().__init__(config, workdir)
    self.validate_config(config)
    self.lam_config = upstream_lam_config(config)
    self.frames_per_action = self.lam_config.model.frames_per_action
    self.num_actions = self.lam_config.model.num_actions
    self.model = dynamics_from_config(config.model, self.lam_config.data.latent_dim, self.num_actions)
    self._upstream: Upstream | None = None
    self._tokenizer: trained_run.TrainedRun | None = None
    self._evaluator: DynamicsEvaluator | None = None

  @classmethod
  def validate_config(cls, config: ml_collections.ConfigDict) -> None:
    lam = upstream_lam_config(config)
    R = lam.model.frames_per_action
    if config.data.window_frames < R or config.data.window_frames % R:
      _fail("data.window_frames", config.data.window_frames,
            f"must be a positive multiple of the LAM's frames_per_action={R} ({config.init.lam.workdir})")
    if config.model.dim % config.model.num_heads:
      _fail("model.dim", config.model.dim, f"must be divisible by model.num_heads={config.model.num_heads}")
    if not 0 <= config.cfg_drop_prob < 1:
      _fail("cfg_drop_prob", config.cfg_drop_prob, "must be in [0, 1)")
    if config.get("step_mean_weight", 0.0) < 0:
      _fail("step_mean_weight", config.step_mean_weight, "must be >= 0")
    if config.get("time_power", 1.0) <= 0:
      _fail("time_power", config.time_power, "must be > 0 (1 = uniform diffusion times)")
    if config.edit.get("retrieval_match", "chroma") not in requests.RETRIEVAL_MATCHES:
      _fail("edit.retrieval_match", config.edit.retrieval_match, f"must be one of {requests.RETRIEVAL_MATCHES}")
    if not 0 < config.edit.get("start_t", 1.0) <= 1:
      _fail("edit.start_t", config.edit.start_t, "must be in (0, 1] (1 = start from pure noise)")
    if config.edit.num_steps < 1:
      _fail("edit.num_steps", config.edit.num_steps, "must be >= 1")
    if not 0 < config.eval.span_fraction < 1:
      _fail("eval.span_fraction", config.eval.span_fraction, "must be in (0, 1)")
    if config.eval.num_windows < 1 or config.eval.batch_size < 1:
      _fail("eval.num_windows", config.eval.num_windows, "eval.num_windows and eval.batch_size must be >= 1")
    if config.eval.get("report_windows", 1) < 1:
      _fail("eval.report_windows", config.eval.report_windows, "must be >= 1")
    max_t = requests.run_guidance_max_t(config.edit)
    if not 0 <= max_t <= 1:
      _fail("edit.guidance_max_t", max_t, "must be in [0, 1] (a noise level)")
    pull = requests.run_action_guidance(config.edit)
    if not (math.isfinite(pull) and pull >= 0):
      _fail("edit.action_guidance", pull, "must be a finite number >= 0 (0 = no action guidance)")
    try:  # traced, not run: unknown keys and bad ranges fail in Python, nothing is compiled
      jax.eval_shape(lambda key: spans.sample_edit_mask(key, 1, config.data.window_frames, **config.mask),
                     jax.random.key(0))
    except (TypeError, ValueError) as e:
      raise ValueError(f"config.mask: {e}") from None

  # ---------------------------------------------------------------------------------------------- upstream

  def prepare(self) -> None:
    """Loads the frozen LAM, finds its latents, and labels every recording with the LAM's action timeline
    (once: cached in WORKDIR/action_labels.npz; process 0 labels, the others wait for that file)."""
    lam = trained_run.load_lam(self.config.init.lam.workdir)
    latent_dir = trained_run.lam_latent_dir(lam)
    self._upstream = Upstream(lam, latent_dir, self._label(lam, latent_dir))

  def _label(self, lam: trained_run.TrainedRun, latent_dir: str) -> action_labels.Labels:
    """Every recording's actions: read from the cache, else each process labels its share of the recordings,
    the shares are gathered, and process 0 writes the cache."""
    source = {"lam_workdir": str(Path(lam.workdir).absolute()), "lam_step": lam.step}
    window_steps = self.lam_config.data.window_frames // self.frames_per_action
    key = actions_lib.labels_key(latent_dir, source, self.frames_per_action, window_steps)
    cache = Path(self.workdir) / LABELS if self.workdir else None
    if cache is not None:
      log.info("dynamics: action labels of %s by the LAM run %s (step %d), cached in %s", latent_dir,
               lam.workdir, lam.step, cache)
      cached = action_labels.read_labels(cache, key)
      if cached is not None:
        return cached
    mine = actions_lib.label_dataset(
        latent_dir, actions_lib.make_infer_fn(lam.model), jax.device_put(lam.params), self.frames_per_action,
        window_steps, source, None, batch_size=self.config.label_batch_size, progress=jax.process_index() == 0,
        take_share=distributed.my_share)
    labels = {name: codes for share in distributed.gather_objects(mine) for name, codes in share.items()}
    if cache is not None and jax.process_index() == 0:
      action_labels.write_labels(cache, key, labels)
    return labels

  @property
  def upstream(self) -> Upstream:
    if self._upstream is None:
      raise RuntimeError("DynamicsTask.prepare() has not run: it loads the LAM and labels the recordings")
    return self._upstream

  @property
  def lam(self) -> trained_run.TrainedRun:
    """The frozen LAM (params on the host)."""
    return self.upstream.lam

  @property
  def latent_dir(self) -> str:
    return self.upstream.latent_dir

  @property
  def labels(self) -> action_labels.Labels:
    """Every recording's action timeline from the frozen LAM."""
    return self.upstream.labels

  @property
  def tokenizer(self) -> trained_run.TrainedRun:
    """The tokenizer that encoded the latents (for decoding edits); loaded on first use."""
    if self._tokenizer is None:
      self._tokenizer = trained_run.load_tokenizer(self.latent_dir)
    return self._tokenizer


  # ---------------------------------------------------------------------------------------------- training

  def train_data(self, seed: int, batch_size: int, shard_index: int, shard_count: int) -> grain.MapDataset:
    return action_labels.labelled_windows(self.latent_dir, "train", self.labels, self.frames_per_action,
                                          self.config.data.window_frames, batch_size=batch_size, seed=seed,
                                          shard_index=shard_index, shard_count=shard_count)

  def batch_shapes(self, batch_size: int) -> dict[str, jax.ShapeDtypeStruct]:
    shape_BT = (batch_size, self.config.data.window_frames)
    return {"latents": jax.ShapeDtypeStruct(shape_BT + (self.lam_config.data.latent_dim,), jnp.float32),
            "actions": jax.ShapeDtypeStruct(shape_BT, jnp.int32)}

  def init_params(self, rng: jax.Array, batch: Batch) -> PyTree:
    z_BTC = jnp.zeros(batch["latents"].shape, jnp.float32)
    B, T = z_BTC.shape[:2]
    return self.model.init(rng, z_BTC, z_BTC, jnp.zeros((B,)), jnp.ones((B, T), bool),
                           jnp.zeros((B, T), jnp.int32))["params"]

  def loss(self, params: PyTree, batch: Batch, rng: jax.Array, step: jax.Array
           ) -> tuple[jax.Array, dict[str, jax.Array], PyTree]:
    del step
    loss, metrics = dynamics_loss(self.model.apply, {"params": params}, batch["latents"], batch["actions"], rng,
                                  drop_prob=self.config.cfg_drop_prob,
                                  step_mean_weight=self.config.get("step_mean_weight", 0.0),
                                  time_power=self.config.get("time_power", 1.0),
                                  frames_per_action=self.frames_per_action, **self.config.mask)
    return loss, metrics, {}

  # -------------------------------------------------------------------------------------------- evaluation

  def evaluator(self, num_windows: int | None = None, method: str | None = None,
                action_guidance: float | None = None) -> DynamicsEvaluator:
    """The evaluator over `num_windows` fixed windows (default `config.eval.num_windows`) sampling with `method`
    (default `config.edit.method`) and `action_guidance` (default `config.edit.action_guidance`), built once per
    setting. The run's config is never changed."""
    config = copy.deepcopy(self.config)
    config.unlock()  # a run from before action guidance has no config.edit.action_guidance
    config.edit.method = method or config.edit.method
    config.edit.action_guidance = (requests.run_action_guidance(config.edit) if action_guidance is None
                                   else float(action_guidance))
    cached = self._evaluator
    if (cached is None or (num_windows and len(cached.windows.latents) != num_windows)
        or cached.config.edit.method != config.edit.method
        or requests.run_action_guidance(cached.config.edit) != config.edit.action_guidance):
      self._evaluator = DynamicsEvaluator(config, self.model, self.lam, self.latent_dir, self.labels,
                                          lambda: self.tokenizer, num_windows)
    return self._evaluator

  def evaluate(self, params: PyTree, ema_params: PyTree | None, step: int
               ) -> tuple[dict[str, float], dict[str, Any]]:
    del step
    try:
      evaluator = self.evaluator()
    except ValueError as e:  # e.g. no validation split: train on, but say so
      log.warning("dynamics evaluation skipped: %s", e)
      return {}, {}
    audio = self.config.eval.audio_in_training
    params = ema_params if ema_params is not None else params
    metrics = evaluator(params, audio=audio)
    if not audio:
      return {f"eval/dyn/{k}": v for k, v in metrics.items()}, {}
    # The first window's original, edits and re-generations as TensorBoard audio, and spectrograms of one edited
    # validation span (original / reconstruction / resample / random actions): harmonic lines are notes.
    return {f"eval/dyn/{k}": v for k, v in metrics.items()}, {**evaluator.audio_samples,
                                                              "eval/dyn/span_spectrograms": self.span_figure(params)}

  def span_figure(self, params: PyTree) -> Any:
    """Spectrograms of the first music span of the first validation recording, edited with these params."""
    e, editor = self.config.eval, self.editor(params)
    wave = next(iter(self.evaluation_waves(first_only=True).values()))
    span_s = float(e.get("music_span_seconds", 2.0))
    case = edit_music.span_cases({"wave": len(wave) / SAMPLE_RATE}, tuple(e.get("music_starts_s", (10.0,))), span_s)
    start_s = case[0].start_s if case else 0.0
    end_s = min(start_s + span_s, len(wave) / SAMPLE_RATE)
    steps = editor.plan_span(len(wave), start_s, end_s).num_steps
    random = np.random.default_rng(e.seed).integers(0, editor.num_actions, steps).tolist()
    panels = edit_music.span_panels(editor, wave, start_s, end_s,
                                    {"resample": dict(resample=True), "random actions": dict(actions=random)})
    return plots.stft_figure(panels, max_hz=4000.0, panel_width=3.2, title=f"{start_s:g}-{end_s:g} s edited")

  def report(self, params: PyTree, ema_params: PyTree | None, audio_paths: list[str] | None = None, *,
             steps: int | None = None, method: str | None = None, seed: int | None = None,
             action_guidance: float | None = None) -> dict[str, Any]:
    """Edits of the fixed validation windows (launch/evaluate.py); `steps` = in-painting steps.

    Headline numbers are at the edit default guidance (`config.edit.guidance_scale`, extrapolating at
    t <= `config.edit.guidance_max_t`); `per_guidance` has action accuracy and seam distance at every evaluated
    scale. Runs over `config.eval.report_windows` windows (more than training's periodic evaluation uses, so
    the accuracies are tighter).
    """
    evaluator = self.evaluator(self.config.eval.get("report_windows"), method, action_guidance)
    params = jax.device_put(ema_params if ema_params is not None else params)
    m = evaluator(params, audio=True, num_steps=steps, seed=seed)
    music = self.music_report(params, audio_paths, steps, seed, action_guidance)
    headline = float(self.config.edit.guidance_scale)
    per_guidance = {f"{g:g}": {"action_accuracy": m[f"action_accuracy_g{g:g}"],
                               "level_move_r": m[f"level_move_r_g{g:g}"],
                               "seam_mel_distance": m[f"seam_mel_distance_g{g:g}"]}
                    for g in evaluator.guidance_scales()}
    w = evaluator.windows
    return {"action_accuracy": m[f"action_accuracy_g{headline:g}"], "chance": m["chance"],
            "guidance_scale": headline, "guidance_max_t": requests.run_guidance_max_t(self.config.edit),
            "action_guidance": requests.run_action_guidance(evaluator.config.edit),
            "level_move_r": m[f"level_move_r_g{headline:g}"], "level_move_r_own": m["level_move_r_own"],
            "level_move_r_original": m["level_move_r_original"],
            "seam_mel_distance": m[f"seam_mel_distance_g{headline:g}"],
            "seam_mel_distance_unedited": m["seam_mel_distance_unedited"],
            "seam_mel_distance_reconstruction": m["seam_mel_distance_reconstruction"],
            "inpaint_error": m["inpaint_error"], "inpaint_error_unconditional": m["inpaint_error_unconditional"],
            "action_accuracy_own": m["action_accuracy_own"], "action_accuracy_original": m["action_accuracy_original"],
            "per_guidance": per_guidance,
            "eval_windows": len(w.latents), "audio_windows": min(self.config.eval.audio_windows, len(w.latents)),
            "span_seconds": w.span_steps * self.frames_per_action / self.lam_config.data.frame_rate,
            "inpaint_steps": int(steps or self.config.edit.num_steps), "method": evaluator.config.edit.method,
            "start_t": requests.run_start_t(self.config.edit), "edit_music": music}

  def editor(self, params: PyTree) -> Editor:
    """The editor of these params with the run's LAM and tokenizer (what launch/edit.py loads from disk)."""
    return Editor(trained_run.TrainedRun(str(self.workdir or ""), self.config, self.model, params, 0), self.lam,
                  self.tokenizer)

  def evaluation_waves(self, first_only: bool = False) -> dict[str, Any]:
    """The `eval.split` recordings of the corpus the tokenizer trained on, 16 kHz mono, by source name (the
    first one only with `first_only`)."""
    dataset_dir = self.tokenizer.config.data.dataset_dir
    recordings = manifest.load_split(dataset_dir, self.config.eval.split)
    return {r.source: codec.load_audio(str(manifest.shard_path(dataset_dir, r)))
            for r in (recordings[:1] if first_only else recordings)}

  def music_report(self, params: PyTree, audio_paths: list[str] | None, steps: int | None, seed: int | None,
                   action_guidance: float | None) -> dict[str, Any]:
    """Edits that are music (`eval.edit_music`): span measures of resample and random-action edits through the
    editor, beside the reconstruction, envelope noise, loop and retrieval fills of the same spans, on the
    validation recordings and (`audio_paths`, e.g. music unlike the corpus) on the given files; per fill, the
    mean over the spans."""
    e = self.config.eval
    sets = {"validation": self.evaluation_waves()}
    if audio_paths:
      sets["audio"] = {Path(p).name: codec.load_audio(p) for p in audio_paths}
    settings = {k: v for k, v in dict(num_steps=steps, action_guidance=action_guidance).items() if v is not None}
    editor = self.editor(params)
    found = {}
    for name, waves in sets.items():
      rows = edit_music.evaluate(editor, waves, starts_s=tuple(e.get("music_starts_s", (10.0, 30.0, 50.0))),
                                 span_seconds=float(e.get("music_span_seconds", 2.0)),
                                 seed=e.seed if seed is None else int(seed), edit_settings=settings)
      found[name] = edit_music.summarise(rows)
    return found
