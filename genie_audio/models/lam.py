"""The latent action model (LAM): one discrete action per R latent frames, learnt by in-painting.

Genie's LAM (arXiv 2402.15391) made non-causal for audio latents (DESIGN.md section 3):
  encoder: latents (B, T, C) -> the encoder's view of them (`encoder_view`) -> input projection + within-step phase embedding -> bidirectional
           TransformerBlocks (RoPE) over the whole window -> mean over the R frames of each action step
           -> (B, S, D) -> projection to the code dim -> VQ (A = num_actions codes) -> action embeddings
           (B, S, E).
  decoder: the same window with the hidden frames replaced by a learned mask token -> bidirectional
           TransformerBlocks with adaLN-Zero conditioning per frame on the action embedding of the frame's
           step -> predicted latents (B, T, C). Training scores the hidden frames only (see
           `masking.py`), and hidden frames are whole action steps, so the decoder can rebuild them only from
           their actions: the actions must carry what the context does not.

Methods (flax `apply(..., method=...)`):
  __call__(latents, mask, drop_actions=None) -> (prediction_BTC, aux)   training forward
  infer_actions(latents) -> codes (B, S)                               encoder + VQ only
  code_distances(latents) -> (B, S, A)                                 encoder + distance to every code
  decode(latents, mask, codes) -> prediction_BTC                       codes < 0 mean "no action"
Encoder views (`encoder_view`): "window", the latents as they are; "window_norm", each channel standardised
over the window (mean 0, std 1), so the encoder cannot see the window's absolute level or colour, only how its
steps differ from one another; "delta", the frame-to-frame change of each channel (standardised over the
window), the plainest "what moves" view; "step_delta", each frame minus the frame one step (R frames) earlier
(standardised), whose mean over a step is that step's mean minus the previous one's: what changed since the
last step, without the frame-to-frame detail; "norm_and_step_delta", the two side by side; "residual", each
frame minus the decoder's context-only prediction of it (`context_prediction`: its step hidden, its neighbour
steps visible, the null action everywhere; no gradient through it), standardised: what the steps either side
do not predict, the part of a step the actions must carry; "norm_and_residual", "window_norm" and "residual"
side by side. The decoder always sees the latents as they are. With `decoder_level_input` the decoder also
gets every step's level (`step_level`: the mean over its frames of the latent's projection on
`level_direction`, a fixed unit vector the task sets to the first principal component of the training
latents, which tracks the step's loudness with r = 0.92 on the demo validation split), hidden steps included,
so the actions need not carry it. Encoder attention (`encoder_attention`): "bidirectional" over the window, or
"step_causal", each step seeing only itself and the steps before it (Genie's LAM encoder, made per step).
"No action" is a learned null-action embedding. Training swaps it in for a random fraction of windows
(`drop_actions`), so decoding without actions is a trained, fair baseline for the actions' value.

Dimension keys:
  B batch, T latent frames, S action steps, R latent frames per action step (T = S * R),
  C latent channels, D model dim, E action-embedding dim (= D), V code dim, A codebook size (num_actions).
"""

from __future__ import annotations

from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import ml_collections

from genie_audio.models.axes import Dense, Embed, constrain_batch
from genie_audio.models.layers import RMSNorm, TransformerBlock, remat_block
from genie_audio.models.vq import VectorQuantizer

_F32 = jnp.float32
ENCODER_VIEWS = ("window", "window_norm", "delta", "step_delta", "norm_and_step_delta", "residual",
                 "norm_and_residual")
RESIDUAL_VIEWS = ("residual", "norm_and_residual")   # the views that need the decoder's context prediction
ENCODER_ATTENTIONS = ("bidirectional", "step_causal")
_STD_FLOOR = 1e-3   # a channel that is constant over the window is centred, not blown up


def standardize_over_time(x_BTC: jax.Array) -> jax.Array:
  """Each channel of each window to mean 0 and std 1 over the frames."""
  mean_B1C = jnp.mean(x_BTC, axis=1, keepdims=True)
  std_B1C = jnp.std(x_BTC, axis=1, keepdims=True)
  return (x_BTC - mean_B1C) / jnp.maximum(std_B1C, _STD_FLOOR)


def encoder_view(latents_BTC: jax.Array, view: str, frames_per_action: int,
                 context_BTC: jax.Array | None = None) -> jax.Array:
  """What the LAM encoder sees of a window (see the module docstring); the RESIDUAL_VIEWS need `context_BTC`,
  the context-only prediction of every frame."""
  if view in RESIDUAL_VIEWS and context_BTC is None:
    raise ValueError(f"encoder_view={view!r} needs the context-only prediction (context_BTC)")
  if view == "residual":
    return standardize_over_time(latents_BTC - context_BTC)
  if view == "norm_and_residual":  # where the step sits in the window, and what its neighbours do not predict
    return jnp.concatenate([standardize_over_time(latents_BTC), standardize_over_time(latents_BTC - context_BTC)],
                           axis=-1)
  if view == "window":
    return latents_BTC
  if view == "window_norm":
    return standardize_over_time(latents_BTC)
  if view == "delta":
    change_BTC = jnp.diff(latents_BTC, axis=1, prepend=latents_BTC[:, :1])
    return standardize_over_time(change_BTC)
  if view == "step_delta":  # z_t - z_{t-R}: averaged over a step, its mean minus the previous step's
    R = frames_per_action
    change_BTC = latents_BTC - jnp.concatenate([latents_BTC[:, :R], latents_BTC[:, :-R]], axis=1)
    return standardize_over_time(change_BTC)
  if view == "norm_and_step_delta":  # both, side by side: where the step sits in the window and what it changed
    return jnp.concatenate([encoder_view(latents_BTC, "window_norm", frames_per_action),
                            encoder_view(latents_BTC, "step_delta", frames_per_action)], axis=-1)
  raise ValueError(f"LatentActionModel: encoder_view={view!r}, expected one of {ENCODER_VIEWS}")


def alternate_step_masks(num_steps: int, frames_per_action: int) -> jax.Array:
  """(2, T) frame masks, True = hidden: the even steps hidden, then the odd ones. Together they hide every step
  once, each with the steps either side of it visible."""
  odd_S = jnp.arange(num_steps) % 2 == 1
  return jnp.repeat(jnp.stack([~odd_S, odd_S]), frames_per_action, axis=1)


def step_level(latents_BTC: jax.Array, direction_C: jax.Array, frames_per_action: int) -> jax.Array:
  """(B, S) the level of every step: the mean over its frames of the projection on `direction_C` (normalised to
  unit length here, so only the direction counts)."""
  B, T, _ = latents_BTC.shape
  unit_C = direction_C / jnp.maximum(jnp.linalg.norm(direction_C), 1e-6)
  level_BT = jnp.einsum("btc,c->bt", latents_BTC.astype(_F32), unit_C.astype(_F32))
  return jnp.mean(level_BT.reshape(B, T // frames_per_action, frames_per_action), axis=2)


class LatentActionModel(nn.Module):
  latent_dim: int                 # C
  frames_per_action: int = 10     # R: the action granularity
  num_actions: int = 8            # A
  model_dim: int = 256            # D
  encoder_depth: int = 4
  decoder_depth: int = 4
  num_heads: int = 4
  mlp_ratio: int = 4
  code_dim: int = 32              # V
  beta: float = 0.25              # commitment weight
  normalize_codes: bool = True    # cosine-similarity codebook, see vq.py
  encoder_view: str = "window"    # ENCODER_VIEWS: what the encoder sees of the latents
  encoder_attention: str = "bidirectional"  # ENCODER_ATTENTIONS: "step_causal" = a step sees only its past
  decoder_level_input: bool = False  # the decoder gets every step's level (step_level) beside its action
  attention: str = "auto"         # layers.ATTENTION_KINDS: the attention kernel
  remat: str = "none"             # layers.REMAT_POLICIES: recompute blocks in the backward pass
  dtype: Any = _F32               # compute dtype; params, VQ and losses stay float32

  def setup(self):
    D, dt = self.model_dim, self.dtype
    block = lambda name: remat_block(TransformerBlock, self.remat)(self.num_heads, self.mlp_ratio,
                                                                    attention=self.attention, dtype=dt, name=name)
    dense = lambda features, name, **kw: Dense(features, dtype=dt, param_dtype=_F32, name=name, **kw)
    # The phase (frame index within its step) tells both transformers where the step boundaries are.
    self.enc_in = dense(D, "enc_in")
    self.enc_phase = Embed(self.frames_per_action, D, param_dtype=_F32, name="enc_phase")
    self.enc_blocks = [block(f"enc_block{i}") for i in range(self.encoder_depth)]
    self.enc_norm = RMSNorm(dtype=_F32, name="enc_norm")
    self.to_code = dense(self.code_dim, "to_code")
    self.vq = VectorQuantizer(self.num_actions, self.code_dim, self.beta, self.normalize_codes, name="vq")
    self.action_embed = dense(D, "action_embed")
    self.null_action = self.param("null_action", nn.initializers.normal(0.02), (D,), _F32)
    self.dec_in = dense(D, "dec_in")
    self.dec_phase = Embed(self.frames_per_action, D, param_dtype=_F32, name="dec_phase")
    self.mask_token = self.param("mask_token", nn.initializers.normal(0.02), (D,), _F32)
    self.dec_blocks = [block(f"dec_block{i}") for i in range(self.decoder_depth)]
    self.dec_norm = RMSNorm(dtype=_F32, name="dec_norm")
    self.dec_out = Dense(self.latent_dim, dtype=_F32, param_dtype=_F32, name="dec_out")
    if self.decoder_level_input:
      # A constant, not learnt (stop_gradient in `_decode_frames`): the task sets it to the training latents'
      # first principal component. Learnt, it would be a one-number side channel from the hidden frames.
      self.level_direction = self.param("level_direction", nn.initializers.normal(1.0), (self.latent_dim,), _F32)
      self.level_embed = dense(D, "level_embed")

  def _steps(self, latents_BTC: jax.Array) -> int:
    T, R = latents_BTC.shape[1], self.frames_per_action
    if T % R:
      raise ValueError(f"LatentActionModel: {T} latent frames is not a multiple of frames_per_action={R}")
    if latents_BTC.shape[-1] != self.latent_dim:
      raise ValueError(f"LatentActionModel: latents have {latents_BTC.shape[-1]} channels, "
                       f"latent_dim is {self.latent_dim}")
    return T // R

  def _phase(self, table: nn.Embed, T: int) -> jax.Array:
    return table(jnp.arange(T) % self.frames_per_action)[None].astype(self.dtype)  # (1, T, D)

  def encode(self, latents_BTC: jax.Array) -> jax.Array:
    """Continuous per-step vectors (B, S, V), before quantisation."""
    B, T, _ = latents_BTC.shape
    S = self._steps(latents_BTC)
    context_BTC = self.context_prediction(latents_BTC) if self.encoder_view in RESIDUAL_VIEWS else None
    view_BTC = encoder_view(latents_BTC.astype(_F32), self.encoder_view, self.frames_per_action, context_BTC)
    h_BTD = constrain_batch(self.enc_in(view_BTC.astype(self.dtype)) + self._phase(self.enc_phase, T))
    mask_BTT = self._encoder_mask(B, T)
    for block in self.enc_blocks:
      h_BTD = block(h_BTD, None, mask_BTT)  # positional: remat wraps the call
    h_BTD = self.enc_norm(h_BTD)
    # Mean over each step's R frames: every frame has seen the whole window, pooling only aligns.
    h_BSD = jnp.mean(h_BTD.reshape(B, S, self.frames_per_action, -1), axis=2)
    return self.to_code(h_BSD).astype(_F32)

  def context_prediction(self, latents_BTC: jax.Array) -> jax.Array:
    """Every frame as the decoder predicts it with its step hidden, the steps either side visible and the null
    action everywhere (two passes: even steps hidden, then odd ones), (B, T, C) float32, without gradient: what
    the context alone predicts. Training hides steps the same way at times (spans of one step), and decodes a
    share of windows with the null action, so this prediction is in the decoder's training distribution."""
    B, T, _ = latents_BTC.shape
    S = self._steps(latents_BTC)
    masks_2T = alternate_step_masks(S, self.frames_per_action)
    mask_2BT = jnp.repeat(masks_2T, B, axis=0)           # rows [0, B): even steps hidden; [B, 2B): odd ones
    null_2BSE = jnp.broadcast_to(self.null_action, (2 * B, S, self.model_dim))
    both_2BTC = self._decode_frames(jnp.concatenate([latents_BTC, latents_BTC]), mask_2BT, null_2BSE)
    even_BTC, odd_BTC = jnp.split(both_2BTC.astype(_F32), 2)
    return jax.lax.stop_gradient(jnp.where(masks_2T[0][None, :, None], even_BTC, odd_BTC))

  def _encoder_mask(self, B: int, T: int) -> jax.Array | None:
    """None (every frame sees the window), or for "step_causal" Genie's LAM encoder: the frames of a step
    attend to their own step and the earlier ones, so its code must carry what the step adds to its past."""
    if self.encoder_attention == "bidirectional":
      return None
    if self.encoder_attention != "step_causal":
      raise ValueError(f"LatentActionModel: encoder_attention={self.encoder_attention!r}, "
                       f"expected one of {ENCODER_ATTENTIONS}")
    step_T = jnp.arange(T) // self.frames_per_action
    return jnp.broadcast_to(step_T[None, :] <= step_T[:, None], (B, T, T))

  def _decode_frames(self, latents_BTC: jax.Array, mask_BT: jax.Array, action_BSE: jax.Array) -> jax.Array:
    """Decoder: visible latents + mask tokens, adaLN-conditioned per frame on its step's action."""
    T = latents_BTC.shape[1]
    self._steps(latents_BTC)
    x_BTD = self.dec_in(latents_BTC.astype(self.dtype))
    x_BTD = jnp.where(mask_BT[..., None], self.mask_token.astype(self.dtype), x_BTD)
    x_BTD = constrain_batch(x_BTD + self._phase(self.dec_phase, T))
    if self.decoder_level_input:  # every step's level, read from the whole window (hidden frames included)
      level_BS = step_level(latents_BTC, jax.lax.stop_gradient(self.level_direction), self.frames_per_action)
      action_BSE = action_BSE + self.level_embed(level_BS[..., None].astype(self.dtype)).astype(_F32)
    cond_BTE = constrain_batch(jnp.repeat(action_BSE, self.frames_per_action, axis=1).astype(self.dtype))
    for block in self.dec_blocks:
      x_BTD = block(x_BTD, cond_BTE)
    return self.dec_out(self.dec_norm(x_BTD))

  def _embed_codes(self, codes_BS: jax.Array) -> jax.Array:
    """Action embeddings (B, S, E) of integer codes; negative codes get the null action."""
    vectors_BSV = self.vq.lookup(jnp.maximum(codes_BS, 0))
    emb_BSE = self.action_embed(vectors_BSV.astype(self.dtype)).astype(_F32)
    return jnp.where((codes_BS < 0)[..., None], self.null_action, emb_BSE)

  def __call__(self, latents_BTC: jax.Array, mask_BT: jax.Array, drop_actions_B: jax.Array | None = None
               ) -> tuple[jax.Array, dict[str, Any]]:
    """Training forward. mask_BT: True = hidden frame. drop_actions_B: True = decode that window with the
    null action. Returns (prediction_BTC in float32, aux with codes (B, S) and the VQ outputs)."""
    z_BSV = self.encode(latents_BTC)
    q_BSV, aux = self.vq(z_BSV)
    action_BSE = self.action_embed(q_BSV.astype(self.dtype)).astype(_F32)
    if drop_actions_B is not None:
      action_BSE = jnp.where(drop_actions_B[:, None, None], self.null_action, action_BSE)
    prediction_BTC = self._decode_frames(latents_BTC, mask_BT, action_BSE).astype(_F32)
    aux["mask"] = mask_BT
    return prediction_BTC, aux

  def infer_actions(self, latents_BTC: jax.Array) -> jax.Array:
    """The action code (B, S) of every step of the window (encoder + VQ, no decoder)."""
    _, aux = self.vq(self.encode(latents_BTC))
    return aux["codes"]

  def code_distances(self, latents_BTC: jax.Array) -> jax.Array:
    """(B, S, A) squared distance of every step's encoding to every code: `infer_actions` is its argmin, and
    it is differentiable in the latents (action guidance, editing/action_guidance.py)."""
    return self.vq.distances(self.encode(latents_BTC))

  def decode(self, latents_BTC: jax.Array, mask_BT: jax.Array, codes_BS: jax.Array) -> jax.Array:
    """Predicts the latents (B, T, C) from the visible frames and the given codes (< 0: no action)."""
    return self._decode_frames(latents_BTC, mask_BT, self._embed_codes(codes_BS)).astype(_F32)


def lam_from_config(model: ml_collections.ConfigDict, latent_dim: int) -> LatentActionModel:
  """Builds the model from `config.model` (keyword hyperparameters, never the whole ConfigDict)."""
  kwargs = dict(model)
  kwargs["dtype"] = jnp.dtype(kwargs.pop("dtype", "float32"))
  return LatentActionModel(latent_dim=latent_dim, **kwargs)
