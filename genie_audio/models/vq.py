"""Vector-quantisation bottleneck: nearest code, straight-through gradients, VQ losses, dead-code restart.

Used by the latent action model to turn one continuous vector per action step into one of A codes (its actions).

Codes are compared by L2 distance on L2-normalised vectors by default (`normalize=True`): the encodings and
the codebook rows both live on the unit sphere, so the squared distance is 2 - 2 cos(z, c) and the nearest
code is the one with the highest cosine similarity. Such cosine codebooks are much less prone to collapse
(ViT-VQGAN, arXiv 2110.04627): an encoding cannot win a code by its norm alone, and no code drifts away
from the encoder's outputs by growing or shrinking. `normalize=False` gives the plain VQ-VAE codebook.

Losses (VQ-VAE, arXiv 1711.00937), each the squared L2 distance between an encoding and its code summed
over D and averaged over the N vectors:
  codebook_loss   = mean_N |sg(z) - q|^2    moves the codes towards the encodings;
  commitment_loss = mean_N |z - sg(q)|^2    keeps the encoder close to its codes, weighted by `beta`;
  loss            = codebook_loss + beta * commitment_loss.

The per-code usage EMA that drives the dead-code restart (the EMA of the fraction of vectors assigned to each
code, `init_usage`, `update_usage`) is not part of the module: it is a statistic, not a parameter, so it lives
in the train state's non-trainable `stats` (no gradient, no optimizer state, no weight decay) and the LAM
task's `post_update` advances it from each batch's `counts` and restarts dead codes with it.

Dimension keys: N vectors (flattened batch positions), D code dim, A codebook size (the LAM's actions).
"""

from __future__ import annotations

from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

_F32 = jnp.float32


def l2_normalize(x: jax.Array, axis: int = -1, eps: float = 1e-6) -> jax.Array:
  return x * jax.lax.rsqrt(jnp.sum(jnp.square(x), axis=axis, keepdims=True) + eps)


def nearest_codes(z_ND: jax.Array, codebook_AD: jax.Array) -> jax.Array:
  """Index (N,) of the codebook row nearest to each vector in L2 distance (ties: the lowest index)."""
  # |z - c|^2 = |z|^2 - 2 z.c + |c|^2; |z|^2 is the same for every code, so it is left out.
  dist_NA = -2.0 * jnp.einsum("ND,AD->NA", z_ND, codebook_AD) + jnp.sum(jnp.square(codebook_AD), -1)[None]
  return jnp.argmin(dist_NA, axis=-1)


def squared_distances(z_ND: jax.Array, codebook_AD: jax.Array, normalize: bool = True) -> jax.Array:
  """(N, A) squared L2 distance of every vector to every code (both L2-normalised first if `normalize`, as
  `quantize` compares them): its argmin is the code `quantize` picks, and minus it over a temperature gives
  logits of a soft assignment, differentiable in z."""
  z_ND, codebook_AD = z_ND.astype(_F32), codebook_AD.astype(_F32)
  if normalize:
    z_ND, codebook_AD = l2_normalize(z_ND), l2_normalize(codebook_AD)
  return (jnp.sum(jnp.square(z_ND), -1, keepdims=True) - 2.0 * jnp.einsum("ND,AD->NA", z_ND, codebook_AD)
          + jnp.sum(jnp.square(codebook_AD), -1)[None])


def code_counts(codes_N: jax.Array, num_codes: int) -> jax.Array:
  """How many vectors picked each code, float32 (A,)."""
  return jnp.sum(jax.nn.one_hot(codes_N, num_codes, dtype=_F32), axis=0)


def perplexity(counts_A: jax.Array) -> jax.Array:
  """exp(entropy) of the code distribution given by `counts_A`: 1 = one code, A = all codes equally."""
  p_A = counts_A / jnp.maximum(jnp.sum(counts_A), 1e-9)
  entropy = -jnp.sum(jnp.where(p_A > 0, p_A * jnp.log(jnp.where(p_A > 0, p_A, 1.0)), 0.0))
  return jnp.exp(entropy)


def quantize(z_ND: jax.Array, codebook_AD: jax.Array, beta: float = 0.25, normalize: bool = True
             ) -> tuple[jax.Array, dict[str, jax.Array]]:
  """Quantises each vector to its nearest code; returns (straight-through quantized (N, D), aux).

  With `normalize`, both z and the codebook are L2-normalised first and the returned vectors are unit
  vectors. The forward value is the code; the backward pass copies the gradient of the output onto z.
  """
  z_ND = z_ND.astype(_F32)
  codebook_AD = codebook_AD.astype(_F32)
  if normalize:
    z_ND, codebook_AD = l2_normalize(z_ND), l2_normalize(codebook_AD)
  codes_N = nearest_codes(z_ND, codebook_AD)
  q_ND = codebook_AD[codes_N]
  codebook_loss = jnp.mean(jnp.sum(jnp.square(jax.lax.stop_gradient(z_ND) - q_ND), axis=-1))
  commitment_loss = jnp.mean(jnp.sum(jnp.square(z_ND - jax.lax.stop_gradient(q_ND)), axis=-1))
  # Straight-through estimator: forward q, backward identity onto z.
  q_st_ND = z_ND + jax.lax.stop_gradient(q_ND - z_ND)
  counts_A = code_counts(codes_N, codebook_AD.shape[0])
  aux = {
      "codes": codes_N,
      "encodings": jax.lax.stop_gradient(z_ND),  # what a dead code is restarted from
      "codebook_loss": codebook_loss,
      "commitment_loss": commitment_loss,
      "loss": codebook_loss + beta * commitment_loss,
      "counts": counts_A,
      "usage": jnp.mean((counts_A > 0).astype(_F32)),  # fraction of codes used by this batch
      "perplexity": perplexity(counts_A),
  }
  return q_st_ND, aux


def init_usage(num_codes: int) -> jax.Array:
  """The usage EMA before any batch: every code at a fair share, 1/A."""
  return jnp.full((num_codes,), 1.0 / num_codes, _F32)


def update_usage(usage_ema_A: jax.Array, counts_A: jax.Array, decay: float) -> jax.Array:
  """EMA of each code's share of the vectors (the shares of one batch sum to 1)."""
  share_A = counts_A / jnp.maximum(jnp.sum(counts_A), 1.0)
  return decay * usage_ema_A + (1.0 - decay) * share_A


def restart_dead_codes(codebook_AD: jax.Array, usage_ema_A: jax.Array, encodings_ND: jax.Array,
                       rng: jax.Array, threshold: float, noise_scale: float = 0.01,
                       reset_usage: float | None = None) -> tuple[jax.Array, jax.Array]:
  """Replaces every code whose usage EMA is below `threshold` by a random encoding of the batch.

  Each dead code gets a different encoding (drawn without replacement when N >= A) plus Gaussian noise of
  `noise_scale` times the encodings' RMS, so two codes restarted from near-identical encodings still
  separate. The restarted codes' usage is set to `reset_usage` (default 1/A, a fair share) so that they
  get time to win vectors before they can be declared dead again; keep `threshold` well below 1/A.
  Live codes and their usage are returned unchanged. Pure, so it runs inside the jitted train step.
  """
  A, D = codebook_AD.shape
  N = encodings_ND.shape[0]
  pick_rng, noise_rng = jax.random.split(rng)
  if N >= A:
    index_A = jax.random.permutation(pick_rng, N)[:A]
  else:
    index_A = jax.random.randint(pick_rng, (A,), 0, N)
  encodings_ND = encodings_ND.astype(codebook_AD.dtype)
  rms = jnp.sqrt(jnp.mean(jnp.square(encodings_ND)))
  fresh_AD = encodings_ND[index_A] + noise_scale * rms * jax.random.normal(noise_rng, (A, D), codebook_AD.dtype)
  dead_A = usage_ema_A < threshold
  new_codebook_AD = jnp.where(dead_A[:, None], fresh_AD, codebook_AD)
  reset = 1.0 / A if reset_usage is None else reset_usage
  new_usage_A = jnp.where(dead_A, jnp.asarray(reset, usage_ema_A.dtype), usage_ema_A)
  return new_codebook_AD, new_usage_A


class VectorQuantizer(nn.Module):
  """VQ bottleneck over the last axis of z (..., D) -> (quantized (..., D), aux).

  aux: codes (...,), encodings (..., D) (normalised if `normalize`), codebook_loss, commitment_loss, loss,
  counts (A,), usage (fraction of codes used), perplexity. The usage EMA is kept outside (module docstring).
  """
  num_codes: int
  code_dim: int
  beta: float = 0.25
  normalize: bool = True

  def setup(self):
    self.codebook = self.param("codebook", nn.initializers.normal(1.0), (self.num_codes, self.code_dim), _F32)

  def __call__(self, z: jax.Array) -> tuple[jax.Array, dict[str, Any]]:
    if z.shape[-1] != self.code_dim:
      raise ValueError(f"VectorQuantizer: input has {z.shape[-1]} channels, code_dim is {self.code_dim}")
    lead = z.shape[:-1]
    q_ND, aux = quantize(z.reshape(-1, self.code_dim), self.codebook, self.beta, self.normalize)
    aux["codes"] = aux["codes"].reshape(lead)
    aux["encodings"] = aux["encodings"].reshape(*lead, self.code_dim)
    return q_ND.reshape(*lead, self.code_dim), aux

  def distances(self, z: jax.Array) -> jax.Array:
    """(..., A) squared distance of each vector of z (..., D) to every code (`squared_distances`)."""
    lead = z.shape[:-1]
    dist_NA = squared_distances(z.reshape(-1, self.code_dim), self.codebook, self.normalize)
    return dist_NA.reshape(*lead, self.num_codes)

  def lookup(self, codes: jax.Array) -> jax.Array:
    """The code vectors (..., D) of integer codes in [0, A) (normalised if `normalize`)."""
    codebook_AD = self.codebook.astype(_F32)
    if self.normalize:
      codebook_AD = l2_normalize(codebook_AD)
    return codebook_AD[codes]
