"""The latent action model task's loss terms and evaluation reductions, as pure functions.

`LamTask.evaluate` reports, on fixed validation windows with fixed masks:
  eval/lam/hidden_error_{inferred,random,none}: MSE on the hidden frames when the decoder gets the actions
      the encoder inferred from the window, uniformly random actions, or the null action. The same masks
      for all three.
  eval/lam/controllability_gap: hidden_error_random / hidden_error_inferred (> 1: the actions matter).
  eval/lam/step_error_{inferred,random,none}, eval/lam/step_controllability_gap: the same on each hidden step's
      mean latent (the "step_means" loss space), whatever space the run trained in.
  eval/lam/codebook_usage, eval/lam/perplexity: fraction of codes used, exp(entropy) of their distribution,
      over the whole eval set.
  eval/lam/stability: each eval window is read one latent frame longer, and its actions are inferred on
      frames [0, T) and on frames [1, T + 1). Step s of the shifted window shares R - 1 of its R frames with
      step s of the first one; stability is the fraction of such step pairs with the same code (for R = 1,
      the steps covering the same frame are compared instead). eval/lam/stability_chance = sum_k p_k^2 is
      what independent draws from the same code distribution would score.
  media: lam/action_timeline, the inferred actions of one validation clip over its spectrogram (a figure,
      `eval/timeline_media.py`; `eval.timeline_seconds` long, default 8).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

_F32 = jnp.float32


def hidden_squared_error(prediction_BTC: jax.Array, target_BTC: jax.Array, mask_BT: jax.Array,
                         channel_weights_B1C: jax.Array | None = None) -> tuple[jax.Array, jax.Array]:
  """Per window: (sum of squared errors over hidden frames and channels, number of such values), (B,)."""
  weight_BT = mask_BT.astype(_F32)
  squared_BTC = jnp.square(prediction_BTC.astype(_F32) - target_BTC.astype(_F32))
  if channel_weights_B1C is not None:
    squared_BTC = squared_BTC * channel_weights_B1C
  err_BT = jnp.sum(squared_BTC, axis=-1)
  return jnp.sum(err_BT * weight_BT, axis=1), jnp.sum(weight_BT, axis=1) * target_BTC.shape[-1]


LOSS_WEIGHTINGS = ("none", "window_std")
LOSS_SPACES = ("frames", "step_means")


def window_channel_weights(target_BTC: jax.Array, weighting: str) -> jax.Array | None:
  """Per-window, per-channel error weights (B, 1, C) for `loss_weighting`, None for "none"."""
  if weighting == "none":
    return None
  if weighting == "window_std":
    variance_B1C = jnp.var(target_BTC.astype(_F32), axis=1, keepdims=True)
    return jax.lax.stop_gradient(1.0 / jnp.maximum(variance_B1C, 1e-4))
  raise ValueError(f"loss_weighting={weighting!r}, expected one of {LOSS_WEIGHTINGS}")


def error_metrics(errors: dict[str, np.ndarray], counts_N: np.ndarray, error_name: str, gap_name: str
                  ) -> dict[str, float]:
  """{eval/lam/{error_name}_{candidate}: mean squared error, eval/lam/{gap_name}: random / inferred} from
  per-window error sums and value counts."""
  total = max(float(counts_N.sum()), 1.0)
  metrics = {f"eval/lam/{error_name}_{name}": float(err.sum()) / total for name, err in errors.items()}
  metrics[f"eval/lam/{gap_name}"] = (metrics[f"eval/lam/{error_name}_random"]
                                     / max(metrics[f"eval/lam/{error_name}_inferred"], 1e-12))
  return metrics


def lam_eval_metrics(codes_NS: np.ndarray, shifted_codes_NS: np.ndarray, errors: dict[str, np.ndarray],
                     counts_N: np.ndarray, num_actions: int, frames_per_action: int) -> dict[str, float]:
  """Host-side reduction of the per-window eval outputs into the `eval/lam/...` scalars."""
  metrics = error_metrics(errors, counts_N, "hidden_error", "controllability_gap")
  code_counts = np.bincount(codes_NS.reshape(-1), minlength=num_actions).astype(np.float64)
  p = code_counts / max(code_counts.sum(), 1.0)
  metrics["eval/lam/codebook_usage"] = float(np.mean(code_counts > 0))
  metrics["eval/lam/perplexity"] = float(np.exp(-np.sum(p[p > 0] * np.log(p[p > 0]))))
  if frames_per_action > 1:  # step s of the shifted window shares R - 1 frames with step s of the window
    same = shifted_codes_NS == codes_NS
  else:  # R = 1: shifted step s is frame s + 1, i.e. step s + 1 of the window
    same = shifted_codes_NS[:, :-1] == codes_NS[:, 1:]
  metrics["eval/lam/stability"] = float(np.mean(same))
  metrics["eval/lam/stability_chance"] = float(np.sum(p ** 2))
  return metrics
