"""Generation and rendering for edits, as pure functions of models, params and latents: the jitted in-painting
of latent windows (one noise key per variation, optionally guided by the LAM), a whole recording encoded at
the tokenizer's training loudness, and re-generated latent frames decoded and spliced into the original audio.
`edit.Editor` strings them together; `eval/dynamics_eval.py` uses the same functions, so its numbers are the
editor's.
"""

from __future__ import annotations

import functools
from typing import Any, Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from genie_audio import codec
from genie_audio.editing import action_guidance, inpainting, splice
from genie_audio.editing.requests import DecodeSettings, Span
from genie_audio.models.dynamics import DynamicsModel
from genie_audio.models.lam import LatentActionModel
from genie_audio.runs import trained_run

PyTree = Any


def inpaint_window(model: DynamicsModel, params: PyTree, z_BTC: jax.Array, mask_BT: jax.Array,
                   actions_BT: jax.Array, rng: jax.Array, guidance_scale: jax.Array, guidance_max_t: jax.Array,
                   *, num_steps: int, method: str, action_guide: action_guidance.ActionGuide | None = None
                   ) -> jax.Array:
  """In-paints the masked frames of latent windows with per-frame actions (pure; jit it)."""
  return inpainting.inpaint(model.apply, {"params": params}, z_BTC, mask_BT, actions_BT, rng,
                            num_steps=num_steps, guidance_scale=guidance_scale, guidance_max_t=guidance_max_t,
                            method=method, action_guide=action_guide)


def inpaint_examples(model: DynamicsModel, lam: LatentActionModel | None, params: PyTree, z_BTC: jax.Array,
                     mask_BT: jax.Array, actions_BT: jax.Array, keys_B: jax.Array, guidance_scale: jax.Array,
                     guidance_max_t: jax.Array, lam_params: PyTree | None = None,
                     action_guidance_weight: jax.Array | float = 0.0, start_BTC: jax.Array | None = None, *,
                     num_steps: int, method: str, start_t: float = 1.0) -> jax.Array:
  """`inpaint_window` with one key per example: example b's start noise comes from keys_B[b] alone, so a
  variation is the same whether it is generated alone or among others (up to float rounding). With `lam` and
  `lam_params` (None: none), the sampler also follows the LAM towards the requested actions (`action_guidance`)
  with the given weight; the windows must then start on a step boundary and be whole steps long. With
  `start_BTC` the masked frames start from it noised to `start_t` (`inpainting.inpaint`)."""
  noise_BTC = jax.vmap(lambda key: jax.random.normal(key, z_BTC.shape[1:], jnp.float32))(keys_B)
  guide = None if lam is None or lam_params is None else action_guidance.ActionGuide(lam, lam_params,
                                                                                     action_guidance_weight)
  return inpainting.inpaint(model.apply, {"params": params}, z_BTC, mask_BT, actions_BT, keys_B[0],
                            num_steps=num_steps, guidance_scale=guidance_scale, guidance_max_t=guidance_max_t,
                            method=method, noise_BTC=noise_BTC, action_guide=guide, start_BTC=start_BTC,
                            start_t=start_t, s_min=model.s_min)


def make_inpaint_fn(model: DynamicsModel, lam: LatentActionModel | None = None) -> Callable[..., jax.Array]:
  """Jitted `inpaint_examples` for one model (and the LAM that guides it, if any); num_steps, method and start_t
  static.

  The guidance scales and interval are traced (one compiled program for every setting; the sampler then always
  runs the conditional and unconditional passes as one doubled batch); passing `lam_params=None` compiles a
  program without action guidance.
  """
  return jax.jit(functools.partial(inpaint_examples, model, lam), static_argnames=("num_steps", "method", "start_t"))


def window_keys(seeds: Sequence[int], index: int) -> jax.Array:
  """(B,) keys of window `index` for each seed: fold_in(key(seed), index), as a single edit draws them."""
  return jax.vmap(lambda seed: jax.random.fold_in(jax.random.key(seed), index))(jnp.asarray(seeds, jnp.int32))


def encode_at_training_level(tokenizer: trained_run.TrainedRun, wave: np.ndarray) -> tuple[np.ndarray, float]:
  """(normalised latent (T, C), gain): `wave` encoded whole at the loudness of the tokenizer's training data
  (times `gain = codec.training_level_gain(wave)`); audio decoded from it, divided by `gain`, is back at the
  recording's own level."""
  gain = codec.training_level_gain(wave)
  encoded = codec.encode_long(tokenizer.model, tokenizer.params, np.asarray(wave, np.float32) * np.float32(gain))
  return encoded.latents, gain


MAX_LEVEL_MATCH_DB = 12.0


def margin_level_gain(original_T: np.ndarray, decoded_N: np.ndarray, offset: int, inner: tuple[int, int]) -> float:
  """The gain that brings `decoded_N` (audio from sample `offset` of the recording on) to the original's level
  where both are known: outside the re-generated samples `inner`, i.e. on the decoded context margins. 1 when
  there is no margin or either side is silent; within +-MAX_LEVEL_MATCH_DB."""
  positions = offset + np.arange(len(decoded_N))
  known = ((positions < inner[0]) | (positions >= inner[1])) & (positions < len(original_T))
  if not np.any(known):
    return 1.0
  reference = np.mean(np.square(np.asarray(original_T, np.float64)[positions[known]]))
  decoded = np.mean(np.square(np.asarray(decoded_N, np.float64)[known]))
  if reference <= 1e-12 or decoded <= 1e-12:
    return 1.0
  limit = 10.0 ** (MAX_LEVEL_MATCH_DB / 20.0)
  return float(np.clip(np.sqrt(reference / decoded), 1.0 / limit, limit))


def render(tokenizer: trained_run.TrainedRun, settings: DecodeSettings, original_T: np.ndarray, latents_TC: np.ndarray,
           span: Span, frames: tuple[int, int], margin_frames: int, fade: int, seed: int,
           gain: float = 1.0, level_match: bool = False) -> np.ndarray:
  """Decodes latent frames [frames) plus `margin_frames` each side, divides them by the `gain` the latents
  were encoded at, and splices [span.start, span.end) of the result into `original_T`; every sample outside
  the span is the original's. With `level_match`, the decoded audio is first scaled by `margin_level_gain`:
  the decoder's own level error, measured on the margins (audio both the original and the decode have), is
  taken out of the re-generated frames too (the demo tokenizer renders everything ~3.5 dB quiet, most of it the
  upper spectrum it does not yet carry). One gain for the whole decode, so the level moves an edit makes inside
  the span are kept."""
  stride = tokenizer.model.total_stride
  r0, r1 = max(0, frames[0] - margin_frames), min(latents_TC.shape[0], frames[1] + margin_frames)
  decoded = codec.decode_long(tokenizer.model, tokenizer.params, latents_TC[r0:r1], seed,
                              num_steps=settings.num_steps, method=settings.method,
                              chunk_frames=settings.chunk_frames, overlap_frames=settings.overlap_frames)
  decoded = decoded / np.float32(gain)
  if level_match:
    decoded = decoded * np.float32(margin_level_gain(original_T, decoded, r0 * stride,
                                                     (frames[0] * stride, frames[1] * stride)))
  return splice.splice(original_T, decoded, span.start, span.end, fade, generated_offset=r0 * stride)
