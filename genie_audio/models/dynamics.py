"""The masked dynamics model: an action-conditioned flow-matching transformer that in-paints latent frames.

A bidirectional transformer over a window of tokenizer latents (B, T, C). Frames where `mask_BT` is True are
generated: the model sees their noisy value x_t. Frames where it is False are context: the model sees their
clean value, whatever x_t holds there. The output is a velocity for every frame; only the masked frames are
trained (the loss ignores the rest) and only they move in the sampler (`genie_audio.editing.inpainting`).

Per-frame tokens: Dense([x_t where masked else the clean latent, 1 if masked else 0]) + action embedding.
Per-frame conditioning (adaLN-Zero in every block), (B, T, D):
  time:    TimeEmbedding(t) on masked frames and TimeEmbedding(0) on context frames. A context frame is a
           clean sample, i.e. a point at t = 0 of the same path, so giving it t = 0 keeps the conditioning
           truthful frame by frame (Diffusion-Forcing style per-frame noise levels use the same idea).
  actions: the same embedding, from a table of A + 1 rows; row A is "no action" (dropped for classifier-free
           guidance). Any negative id (`NULL_ACTION`) also selects row A, so callers need not know A to ask
           for the unconditional model. In the tokens attention can gather the actions of other frames (the
           motion over a span integrates them); in the conditioning they modulate every block per frame.
Positions come from RoPE inside attention (relative, so windows of any length work).

Training (`dynamics_loss` below, pure):
  mask ~ spans.sample_edit_mask; actions ~ spans.drop_actions(prob); t ~ U[0, 1]; e ~ N(0, I)
  x_t = (1 - t) x + (s_min + t (1 - s_min)) e;  loss = mean over masked frames of |v_pred - ((1 - s_min) e - x)|^2

Dimension keys:
  B batch, T latent frames, C latent channels, D model dim, A number of actions.
"""

from __future__ import annotations

from typing import Any, Callable

import flax.linen as nn
import jax
import jax.numpy as jnp
import ml_collections

from genie_audio.diffusion import flow
from genie_audio.models import spans
from genie_audio.models.axes import Dense, Embed, constrain_batch
from genie_audio.models.layers import (AdaLNModulation, RMSNorm, TimeEmbedding, TransformerBlock, modulate,
                                       remat_block)

Dtype = Any

NULL_ACTION = -1  # any negative action id means "no action" (the table's last row)


class DynamicsModel(nn.Module):
  """Action-conditioned masked flow-matching transformer; see the module docstring.

  Fields (frozen hyperparameters):
    latent_dim: latent channels C. dim: model width D. depth: transformer blocks. num_heads: attention heads.
    num_actions: A (the action table has A + 1 rows, the last one = no action). mlp_ratio: MLP width / D.
    s_min: flow-matching noise floor at t = 0 (training path, `__call__`). dtype: compute dtype.
    attention, remat: `layers.ATTENTION_KINDS` and `layers.REMAT_POLICIES` (the attention kernel; recomputing
    blocks in the backward pass).
  """
  latent_dim: int = 64
  dim: int = 512
  depth: int = 8
  num_heads: int = 8
  num_actions: int = 8
  mlp_ratio: int = 4
  s_min: float = 0.0
  attention: str = "auto"
  remat: str = "none"
  dtype: Dtype = jnp.float32

  def setup(self):
    f32 = jnp.float32
    self.in_proj = Dense(self.dim, dtype=self.dtype, param_dtype=f32)
    self.time_embed = TimeEmbedding(self.dim, dtype=self.dtype)
    self.action_embed = Embed(self.num_actions + 1, self.dim, dtype=self.dtype, param_dtype=f32)
    block_cls = remat_block(TransformerBlock, self.remat)
    self.blocks = [block_cls(self.num_heads, self.mlp_ratio, attention=self.attention, dtype=self.dtype,
                             name=f"block{i}") for i in range(self.depth)]
    self.out_mod = AdaLNModulation(self.dim, 2, dtype=self.dtype)
    self.out_norm = RMSNorm(use_scale=False, dtype=self.dtype)
    # Zero-init output: the untrained model predicts v = 0 (DiT's final layer).
    self.out_proj = Dense(self.latent_dim, dtype=self.dtype, param_dtype=f32,
                          kernel_init=nn.initializers.zeros)

  def action_ids(self, actions_BT: jax.Array) -> jax.Array:
    """Maps negative ids to the null row A; ids above A are clipped to it too (they cannot raise under jit)."""
    actions_BT = jnp.asarray(actions_BT, jnp.int32)
    return jnp.clip(jnp.where(actions_BT < 0, self.num_actions, actions_BT), 0, self.num_actions)

  def velocity(self, x_BTC: jax.Array, t_B: jax.Array, context_BTC: jax.Array, mask_BT: jax.Array,
               actions_BT: jax.Array) -> jax.Array:
    """Predicted velocity (B, T, C), float32, for noisy x at time t_B (B,); True in mask_BT = generated.

    Context frames (mask False) are read from context_BTC; x_BTC there is ignored.
    """
    B, T, _ = x_BTC.shape
    mask_BT = jnp.asarray(mask_BT, bool)
    x_in_BTC = jnp.where(mask_BT[..., None], x_BTC, context_BTC.astype(x_BTC.dtype))
    tokens = jnp.concatenate([x_in_BTC, mask_BT[..., None].astype(x_in_BTC.dtype)], axis=-1)
    a_BTD = self.action_embed(self.action_ids(actions_BT))
    # Actions enter twice: in the tokens, so attention can gather the actions of other frames (motion over a
    # span integrates them), and in the per-frame adaLN conditioning, which modulates every block.
    h_BTD = constrain_batch(self.in_proj(tokens.astype(self.dtype)) + a_BTD)

    # Per-frame time: context frames are clean, i.e. at t = 0.
    t_BT = jnp.where(mask_BT, jnp.broadcast_to(jnp.asarray(t_B, jnp.float32)[:, None], (B, T)), 0.0)
    temb_BTD = self.time_embed(t_BT.reshape(B * T)).reshape(B, T, self.dim)
    cond_BTD = constrain_batch(temb_BTD + a_BTD)

    for block in self.blocks:
      h_BTD = block(h_BTD, cond_BTD)
    shift, scale = self.out_mod(cond_BTD)
    h_BTD = modulate(self.out_norm(h_BTD), shift, scale)
    return self.out_proj(h_BTD).astype(jnp.float32)

  def __call__(self, latents_BTC: jax.Array, noise_BTC: jax.Array, t_B: jax.Array, mask_BT: jax.Array,
               actions_BT: jax.Array) -> tuple[jax.Array, dict[str, jax.Array]]:
    """Training forward: noises the masked frames to t_B and returns (predicted velocity (B, T, C), aux).

    aux: x_t, v_target, x0_pred (the clean estimate implied by the prediction), t, mask.
    The loss must count masked frames only (`flow.flow_matching_loss(v, aux['v_target'], mask_BT)`).
    """
    x_t_BTC = flow.interpolate(latents_BTC, noise_BTC, t_B, self.s_min)
    v_BTC = self.velocity(x_t_BTC, t_B, latents_BTC, mask_BT, actions_BT)
    aux = dict(x_t=x_t_BTC, v_target=flow.target_velocity(latents_BTC, noise_BTC, self.s_min),
               x0_pred=flow.predict_x0(x_t_BTC, v_BTC, t_B, self.s_min), t=t_B, mask=mask_BT)
    return v_BTC, aux


def dynamics_from_config(model: ml_collections.ConfigDict, latent_dim: int, num_actions: int) -> DynamicsModel:
  """Builds the model from `config.model`; the latent width C and the action count A come from the LAM run."""
  return DynamicsModel(latent_dim=latent_dim, dim=model.dim, depth=model.depth, num_heads=model.num_heads,
                       num_actions=num_actions, mlp_ratio=model.mlp_ratio, s_min=model.s_min,
                       attention=model.get("attention", "auto"), remat=model.get("remat", "none"),
                       dtype=jnp.dtype(model.dtype))


def dynamics_loss(model_apply: Callable[..., Any], params: Any, latents_BTC: jax.Array, actions_BT: jax.Array,
                  rng: jax.Array, *, drop_prob: float = 0.1, mask_BT: jax.Array | None = None,
                  step_mean_weight: float = 0.0, frames_per_action: int = 1, time_power: float = 1.0,
                  **mask_kwargs: Any) -> tuple[jax.Array, dict[str, jax.Array]]:
  """Flow-matching MSE on the masked frames of a batch of latent windows: returns (loss, metrics).

  `model_apply` is `DynamicsModel.apply` (bound to a model, e.g. `model.apply`) and `params` the variables
  dict it takes first ({'params': ...}). The edit mask is `mask_BT` if given, else drawn by
  `spans.sample_edit_mask(rng, B, T, **mask_kwargs)`; every sample's actions are replaced by the null action
  with probability `drop_prob` (classifier-free guidance). Diffusion times are u^time_power, u ~ U[0, 1] (> 1:
  more training at low noise, where the fine detail is decided). Jit with drop_prob and mask_kwargs static.

  `step_mean_weight` > 0 adds that weight times the same error on each action step's mean over its
  `frames_per_action` frames (`step_mean_error`): the actions say how a step moves, which its mean carries, while
  the frame-level error is mostly detail no action explains. A linear view of the same target, so the optimum
  is unchanged; only how strongly the step-level motion is learnt.
  """
  B, T, _ = latents_BTC.shape
  k_mask, k_drop, k_t, k_noise = jax.random.split(rng, 4)
  if mask_BT is None:
    mask_BT = spans.sample_edit_mask(k_mask, B, T, **mask_kwargs)
  actions_BT = spans.drop_actions(k_drop, actions_BT, drop_prob, NULL_ACTION)
  t_B = flow.sample_time(k_t, B, time_power)
  noise_BTC = jax.random.normal(k_noise, latents_BTC.shape, jnp.float32)
  v_BTC, aux = model_apply(params, latents_BTC.astype(jnp.float32), noise_BTC, t_B, mask_BT, actions_BT)
  loss = flow.flow_matching_loss(v_BTC, aux["v_target"], mask_BT)
  metrics = {"train/flow_loss": loss}
  if step_mean_weight > 0:
    step_error = step_mean_error(v_BTC, aux["v_target"], mask_BT, frames_per_action)
    loss = loss + step_mean_weight * step_error
    metrics["train/step_mean_error"] = step_error
  metrics.update({
      "train/mask_fraction": jnp.mean(mask_BT.astype(jnp.float32)),
      "train/actions_dropped": jnp.mean(jnp.all(actions_BT < 0, axis=1).astype(jnp.float32)),
  })
  return loss, metrics


def step_mean_error(pred_BTC: jax.Array, target_BTC: jax.Array, mask_BT: jax.Array, R: int) -> jax.Array:
  """Mean squared error of the per-step means (over each step's R frames, masked frames only, the others
  counted as no error), averaged over the steps with a masked frame; T must be a multiple of R."""
  C = pred_BTC.shape[-1]
  mask_BT1 = jnp.asarray(mask_BT, jnp.float32)[..., None]
  residual_BTC = (pred_BTC.astype(jnp.float32) - target_BTC.astype(jnp.float32)) * mask_BT1
  stepped_BS = (spans.step_means(mask_BT1, R)[..., 0] > 0).astype(jnp.float32)
  squared_BSC = jnp.square(spans.step_means(residual_BTC, R))
  return jnp.sum(squared_BSC * stepped_BS[..., None]) / jnp.maximum(jnp.sum(stepped_BS) * C, 1.0)
