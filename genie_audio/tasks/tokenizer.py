"""Stage 1: the diffusion tokenizer (`genie_audio.models.tokenizer`) as a `Task` for the shared loop.

Preparation (`prepare`, before training): the prepared dataset of `config.data.dataset_dir`; the demo corpus,
the default, is built first if missing.

Training: random waveform crops of `config.data.crop_seconds`, one flow-matching loss with DiTo's noise
synchronisation (a `config.noise_sync_prob` share of samples get a noised latent and a later decoder time).
Evaluation: fixed validation crops reconstructed (EMA params when present, a fixed seed) and scored with the
multi-scale mel distance, SI-SDR, LSD and the chroma scores, next to the baselines of `eval.baselines` (silence,
low-pass, an envelope vocoder and Opus at the latent's bitrate), with a spectrogram pair to look at.
"""

from __future__ import annotations

import logging
from typing import Any

import grain
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from genie_audio import codec
from genie_audio.archive import demo_corpus
from genie_audio.data import augment, pipelines
from genie_audio.data.manifest import SAMPLE_RATE
from genie_audio.diffusion import flow, samplers
from genie_audio.eval import plots, reconstruction
from genie_audio.models import spectral
from genie_audio.models.tokenizer import Tokenizer, tokenizer_from_config
from genie_audio.training import checkpoint, distributed, sharding
from genie_audio.training.task import Batch, PyTree, Task

log = logging.getLogger(__name__)


def _fail(field: str, value: Any, requirement: str) -> None:
  raise ValueError(f"config.{field}={value!r}: {requirement}")


def seconds_to_samples(config: ml_collections.ConfigDict, field: str, model: Tokenizer) -> int:
  """`config.<field>` (seconds) as a sample count the model can encode and decode, or a ValueError naming it."""
  node = config
  for part in field.split("."):
    node = node[part]
  seconds, multiple = float(node), codec.sample_multiple(model)
  samples = int(round(seconds * SAMPLE_RATE))
  if seconds <= 0 or abs(samples - seconds * SAMPLE_RATE) > 1e-6 or samples % multiple:
    _fail(field, node, f"must be a positive multiple of {multiple / SAMPLE_RATE:g} s ({multiple} samples: "
                       f"the tokenizer's stride {model.total_stride} and the decoder's patch down-sampling)")
  return samples


def measure_flow_band_rms(model: Tokenizer, dataset_dir: str, num_bands: int, crop_frames: int,
                          num_crops: int = 128) -> list[float]:
  """RMS of `model`'s compressed STFT flow coefficients (before any band scaling) in `num_bands` equal-width
  bands, over `num_crops` crops spread evenly through the training split (deterministic: a resumed run
  measures the same profile)."""
  if model.flow_space != "stft":
    _fail("flow_band_norm", num_bands, f"needs config.model.flow_space 'stft', not {model.flow_space!r}")
  unscaled = model.clone(flow_band_rms=())
  crops = reconstruction.fixed_crops(dataset_dir, "train", num_crops, crop_frames, align=model.total_stride)
  to_flow = jax.jit(unscaled.to_flow)  # one compiled program for every equal-sized part
  coefficients = np.concatenate([np.asarray(to_flow(jnp.asarray(part)))
                                 for part in np.array_split(crops, max(1, num_crops // 32))])
  rms = spectral.band_rms(coefficients, num_bands)
  # A band with nothing in it (audio band-limited below Nyquist) keeps unit scale instead of a huge gain.
  return [float(v) if v > 1e-3 * rms.max() else 1.0 for v in rms]


def flow_loss_weight(band_weights: tuple[float, ...], hop: int) -> np.ndarray | None:
  """(2F,) weight of each compressed STFT coefficient's squared error (real parts, then imaginary parts), from
  weights of equal-width bands 0 Hz to Nyquist (linear between band centres, `spectral.band_profile`), scaled to
  mean 1 so the loss keeps its scale; None for () (every coefficient alike)."""
  if not band_weights:
    return None
  per_coefficient = spectral.coefficient_profile(tuple(band_weights), hop)
  return (per_coefficient / per_coefficient.mean()).astype(np.float32)


class TokenizerTask(Task):
  name = "tokenizer"

  def __init__(self, config: ml_collections.ConfigDict, workdir: str | None = None):
    super().__init__(config, workdir)
    self.model = tokenizer_from_config(config.model)
    self.crop_frames = seconds_to_samples(config, "data.crop_seconds", self.model)
    self.frame_rate = SAMPLE_RATE / self.model.total_stride
    self.augment = augment.from_config(config.data.get("augment", {}))  # runs from before augmentation: none
    self._dataset_dir: str | None = None
    self._reconstruct_fns: dict[tuple, Any] = {}  # compiled once per (steps, method)
    self._eval_clips: np.ndarray | None = None
    self._eval_baselines: dict[str, dict[str, float]] | None = None
    self._baseline_notes = reconstruction.baseline_notes(self.frame_rate, self.model.latent_dim)
    self._loss_weight = flow_loss_weight(config.get("flow_loss_band_weights", ()), self.model.stft_hop)

  @classmethod
  def validate_config(cls, config: ml_collections.ConfigDict) -> None:
    model = tokenizer_from_config(config.model)  # names unknown or missing config.model keys
    for field in ("data.crop_seconds", "eval.clip_seconds", "eval.chunk_seconds"):
      seconds_to_samples(config, field, model)
    augment.from_config(config.data.get("augment", {}))  # names the bad field
    if config.get("time_power", 1.0) <= 0:
      _fail("time_power", config.time_power, "must be > 0 (1 = uniform diffusion times)")
    bands = config.get("flow_band_norm", 0)
    if bands and (bands < 1 or model.flow_space != "stft"):
      _fail("flow_band_norm", bands, f"must be 0 (off) or a number of bands >= 1, with config.model.flow_space "
                                     f"'stft' (it is {model.flow_space!r})")
    weights = tuple(config.get("flow_loss_band_weights", ()))
    if weights and (min(weights) <= 0 or model.flow_space != "stft"):
      _fail("flow_loss_band_weights", weights, f"must be () (off) or positive weights, one per equal-width band, "
                                               f"with config.model.flow_space 'stft' (it is {model.flow_space!r})")
    if not 0 <= config.noise_sync_prob <= 1:
      _fail("noise_sync_prob", config.noise_sync_prob, "must be in [0, 1]")
    if config.eval.num_clips < 1:
      _fail("eval.num_clips", config.eval.num_clips, "must be >= 1")
    if config.eval.sampler_steps < 1:
      _fail("eval.sampler_steps", config.eval.sampler_steps, "must be >= 1")
    if config.eval.method not in samplers.SAMPLERS:
      _fail("eval.method", config.eval.method, f"must be one of {sorted(samplers.SAMPLERS)}")
    if not 0 <= config.eval.overlap_seconds < config.eval.chunk_seconds:
      _fail("eval.overlap_seconds", config.eval.overlap_seconds, "must be in [0, eval.chunk_seconds)")
    upstream = config.init.workdir
    if upstream and not (checkpoint.checkpoint_dir(upstream).exists()
                         and checkpoint.Checkpointer(upstream, read_only=True).latest_step() is not None):
      _fail("init.workdir", upstream, "has no checkpoint to start from; train that run first "
                                      f"(python launch/train.py ... --workdir {upstream})")

  # ------------------------------------------------------------------------------------------------ training

  def prepare(self) -> None:
    """Finds the prepared dataset, building the demo corpus first when it is the default folder and missing
    (`demo_corpus.build_demo_corpus`: processes on one machine take turns, one builds and the others find it)."""
    self._dataset_dir = demo_corpus.ensure_if_default(self.config.data.dataset_dir)
    log.info("tokenizer: reading the prepared dataset in %s", self._dataset_dir)
    bands = self.config.get("flow_band_norm", 0)
    if bands and not self.config.model.get("flow_band_rms"):
      # Written into the run's config (config.json), so the decoder of every later stage divides alike.
      self.config.model.flow_band_rms = tuple(measure_flow_band_rms(self.model, self._dataset_dir, bands,
                                                                    self.crop_frames))
      self.model = tokenizer_from_config(self.config.model)
      log.info("tokenizer: flow band RMS over the training crops: %s",
               " ".join(f"{v:.2f}" for v in self.config.model.flow_band_rms))

  @property
  def dataset_dir(self) -> str:
    """The prepared dataset this run reads (found by `prepare`)."""
    if self._dataset_dir is None:
      raise RuntimeError("TokenizerTask.prepare() has not run: it finds (or builds) the dataset this run reads")
    return self._dataset_dir

  def train_data(self, seed: int, batch_size: int, shard_index: int, shard_count: int) -> grain.MapDataset:
    return pipelines.waveform_crops(self.dataset_dir, "train", self.crop_frames, batch_size=batch_size,
                                    seed=seed, align=self.model.total_stride, shard_index=shard_index,
                                    shard_count=shard_count,
                                    augment=self.augment if self.augment.active else None)

  def batch_shapes(self, batch_size: int) -> dict[str, jax.ShapeDtypeStruct]:
    return {"wave": jax.ShapeDtypeStruct((batch_size, self.crop_frames), jnp.float32)}

  def init_params(self, rng: jax.Array, batch: Batch) -> PyTree:
    wave = jnp.zeros(batch["wave"].shape, jnp.float32)
    noise = jnp.zeros((wave.shape[0], *self.model.flow_shape(wave.shape[1])), jnp.float32)
    return self.model.init(rng, wave, noise, jnp.zeros(wave.shape[:1]))["params"]

  def loss(self, params: PyTree, batch: Batch, rng: jax.Array, step: jax.Array
           ) -> tuple[jax.Array, dict[str, jax.Array], PyTree]:
    del step
    wave_BT = batch["wave"].astype(jnp.float32)
    k_t, k_sync, k_noise, k_latent = jax.random.split(rng, 4)
    t_B = flow.sample_time(k_t, wave_BT.shape[0], self.config.get("time_power", 1.0))
    tau_B, t_B = flow.sample_sync(k_sync, t_B, self.config.noise_sync_prob)
    noise = jax.random.normal(k_noise, (wave_BT.shape[0], *self.model.flow_shape(wave_BT.shape[1])), jnp.float32)
    v, aux = self.model.apply({"params": params}, wave_BT, noise, t_B, tau_B, rngs={"noise": k_latent})
    loss = flow.flow_matching_loss(v, aux["v_target"], weight=self._loss_weight)
    metrics = {"train/synced_fraction": jnp.mean((tau_B > 0).astype(jnp.float32)),
               "train/wave_rms": jnp.sqrt(jnp.mean(jnp.square(wave_BT)))}
    if "envelope_nll" in aux:  # the envelope head's own objective (model.envelope_bands)
      metrics["train/flow_loss"], metrics["train/envelope_nll"] = loss, aux["envelope_nll"]
      loss = loss + self.config.envelope_loss_weight * aux["envelope_nll"]  # configs/tokenizer.py
    return loss, metrics, {}

  def upstream_params(self, abstract_params: PyTree) -> PyTree | None:
    """`config.init.workdir`'s latest params (progressive training on longer crops), else None."""
    upstream = self.config.init.workdir
    if not upstream:
      return None
    log.info("starting from the params of %s", upstream)
    # Raw params, not EMA: the longer-crop run continues the optimisation; it keeps its own EMA.
    return checkpoint.Checkpointer(upstream, read_only=True).restore_params(abstract_params)

  # ---------------------------------------------------------------------------------------------- evaluation

  def reconstruct(self, params: PyTree, wave_BT: np.ndarray, num_steps: int, method: str = "euler",
                  seed: int = 0) -> np.ndarray:
    """Encode + decode a batch of crops (each normalised on its own, as in training); fixed seed."""
    key = (num_steps, method)
    mesh = sharding.mesh_of(params)
    if key not in self._reconstruct_fns:
      def fn(params, wave_BT, rng):
        z_BTC = self.model.apply({"params": params}, wave_BT, method="encode")
        return samplers.decode(self.model.apply, {"params": params}, z_BTC, rng,
                               flow_shape=self.model.flow_shape(wave_BT.shape[1]), num_steps=num_steps,
                               method=method, s_min=self.model.s_min, from_flow=self.model.from_flow)
      # Replicated output, so every process can read the waveforms (params may be FSDP-sharded).
      out = sharding.replicated(mesh) if mesh is not None else None
      self._reconstruct_fns[key] = jax.jit(fn, out_shardings=out)
    wave_BT, rng = np.asarray(wave_BT, np.float32), jax.random.key(seed)
    count = len(wave_BT)
    if mesh is not None:  # each device decodes its share of the crops (the last one repeated to even them out)
      padding = sharding.whole_per_device(count, mesh) - count
      wave_BT = np.concatenate([wave_BT, np.repeat(wave_BT[-1:], padding, axis=0)])
      wave_BT, rng = sharding.put_split(wave_BT, mesh), sharding.put_replicated(rng, sharding.replicated(mesh))
    return np.asarray(self._reconstruct_fns[key](params, wave_BT, rng))[:count]

  def eval_clips(self) -> np.ndarray:
    """The fixed validation crops (config.eval.num_clips x clip_seconds), read once."""
    if self._eval_clips is None:
      clip = seconds_to_samples(self.config, "eval.clip_seconds", self.model)
      self._eval_clips = reconstruction.fixed_crops(self.dataset_dir, "validation", self.config.eval.num_clips,
                                                    clip, align=self.model.total_stride)
      self._eval_baselines = reconstruction.baseline_metrics(self._eval_clips, self.frame_rate,
                                                             self.model.latent_dim)
      for note in self._baseline_notes:
        log.warning("%s", note)
    return self._eval_clips

  def evaluate(self, params: PyTree, ema_params: PyTree | None, step: int
               ) -> tuple[dict[str, float], dict[str, Any]]:
    del step
    e = self.config.eval
    clips = self.eval_clips()
    recon = self.reconstruct(ema_params if ema_params is not None else params, clips, e.sampler_steps, e.method,
                             e.seed)
    metrics = {f"eval/recon/{k}": v for k, v in reconstruction.mean_metrics(clips, recon).items()}
    for name, values in self._eval_baselines.items():
      metrics.update({f"eval/baseline_{name}/{k}": v for k, v in values.items()})
    spectrograms = plots.stft_figure({"original": clips[0], "reconstruction": recon[0]})
    return metrics, {"eval/original": clips[0], "eval/reconstruction": recon[0], "eval/spectrogram": spectrograms}

  def report(self, params: PyTree, ema_params: PyTree | None, audio_paths: list[str] | None = None, *,
             steps: int | None = None, method: str | None = None, seed: int | None = None) -> dict[str, Any]:
    """Metrics and baselines averaged over the fixed validation crops, or over whole `audio_paths` files
    (any format, rate and channels; encoded and decoded in overlapping chunks by `codec`; with several processes
    each does its share of the files and the scores are gathered)."""
    e = self.config.eval
    steps, method, seed = steps or e.sampler_steps, method or e.method, e.seed if seed is None else seed
    params = jax.device_put(ema_params if ema_params is not None else params)  # one transfer, many calls
    if audio_paths is None:
      clips = self.eval_clips()  # one batched call: every process makes the same (cheap) reconstruction
      recon = self.reconstruct(params, clips, steps, method, seed)
      scores, baselines = reconstruction.mean_metrics(clips, recon), self._eval_baselines
      source = {"validation_clips": len(clips), "clip_seconds": e.clip_seconds}
    else:
      chunk = codec.seconds_to_frames(self.model, e.chunk_seconds)
      overlap = codec.seconds_to_frames(self.model, e.overlap_seconds)
      scored = {}  # this process's share of the files, then everyone's
      for index in distributed.my_share(list(range(len(audio_paths)))):
        wave = codec.load_audio(audio_paths[index])
        recon = codec.reconstruct(self.model, params, wave, seed, num_steps=steps, method=method,
                                  chunk_frames=chunk, overlap_frames=overlap)
        scored[index] = (reconstruction.mean_metrics(wave, recon),
                         reconstruction.baseline_metrics(wave, self.frame_rate, self.model.latent_dim))
      scored = {i: s for share in distributed.gather_objects(scored) for i, s in share.items()}
      per_file = [scored[i][0] for i in range(len(audio_paths))]
      per_baseline = [scored[i][1] for i in range(len(audio_paths))]
      scores = reconstruction.average(per_file)
      baselines = {name: reconstruction.average([b[name] for b in per_baseline]) for name in per_baseline[0]}
      source = {"files": [str(p) for p in audio_paths],
                "per_file": [dict(m, file=str(p), baselines=b)
                             for m, b, p in zip(per_file, per_baseline, audio_paths)]}
    notes = {"baseline_notes": self._baseline_notes} if self._baseline_notes else {}
    return dict(scores, sampler_steps=steps, method=method, seed=seed, baselines=baselines, **notes, **source)
