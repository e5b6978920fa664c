"""Optimizer: AdamW with linear warm-up, cosine decay and global-norm clipping (optax).

`optim.trainable` (a regex searched in each param path such as 'decoder/mid_attn0/MLP_0/Dense_0/kernel')
limits training to the matching params; the others get zero updates (used to tune only the middle layers of
a model on long crops). Empty means everything trains. `value_and_trainable_grad` differentiates the loss with
respect to the trainable params only, so the backward pass neither computes nor keeps activations for frozen
ones (the 5 s progressive tokenizer recipe needs ~5x less memory than when all params are differentiated).
"""

from __future__ import annotations

import re
from typing import Any, Callable

import jax
import jax.numpy as jnp
import ml_collections
import optax

TRAINABLE, FROZEN = "trainable", "frozen"


def learning_rate_schedule(optim: ml_collections.ConfigDict, total_steps: int) -> optax.Schedule:
  warmup = min(optim.warmup_steps, max(total_steps - 1, 0))
  return optax.warmup_cosine_decay_schedule(
      init_value=0.0, peak_value=optim.lr, warmup_steps=warmup,
      decay_steps=max(total_steps, warmup + 1), end_value=optim.lr * optim.final_lr_fraction)


def param_path(path: tuple) -> str:
  """'encoder/down0/Conv_0/kernel' for a pytree key path."""
  return "/".join(str(getattr(k, "key", getattr(k, "name", getattr(k, "idx", k)))) for k in path)


def trainable_labels(params, pattern: str):
  """A pytree of TRAINABLE / FROZEN labels: a param trains iff `pattern` is found in its path."""
  regex = re.compile(pattern)
  labels = jax.tree_util.tree_map_with_path(
      lambda path, _: TRAINABLE if regex.search(param_path(path)) else FROZEN, params)
  if TRAINABLE not in jax.tree.leaves(labels):
    examples = [param_path(p) for p, _ in jax.tree_util.tree_flatten_with_path(params)[0][:3]]
    raise ValueError(f"config.optim.trainable={pattern!r} matches no parameter; paths look like {examples}")
  return labels


def make_optimizer(optim: ml_collections.ConfigDict, total_steps: int) -> optax.GradientTransformation:
  update = optax.chain(
      optax.clip_by_global_norm(optim.clip_norm),
      optax.adamw(learning_rate_schedule(optim, total_steps), b1=optim.b1, b2=optim.b2,
                  weight_decay=optim.weight_decay))
  pattern = optim.get("trainable", "")
  if not pattern:
    return update
  # Frozen params get exactly zero updates (no weight decay either); clipping sees only trainable grads,
  # and Adam keeps no moments for frozen params.
  return optax.multi_transform({TRAINABLE: update, FROZEN: optax.set_to_zero()},
                               lambda params: trainable_labels(params, pattern))


def value_and_trainable_grad(fn: Callable[[Any], tuple[jax.Array, Any]], params: Any, pattern: str
                             ) -> tuple[tuple[jax.Array, Any], Any]:
  """`jax.value_and_grad(fn, has_aux=True)(params)`, differentiated only w.r.t. the params `pattern` matches.

  Frozen params enter `fn` as constants; their gradients are zeros (not computed, and dropped by the optimizer
  of `make_optimizer`), so the grads keep the params' structure and their norm is the trainable params' norm.
  An empty pattern differentiates everything.
  """
  if not pattern:
    return jax.value_and_grad(fn, has_aux=True)(params)
  leaves, treedef = jax.tree.flatten(params)
  labels = jax.tree.leaves(trainable_labels(params, pattern))
  trained = [i for i, label in enumerate(labels) if label == TRAINABLE]

  def on_trainable(trainable_leaves):
    merged = list(leaves)
    for i, leaf in zip(trained, trainable_leaves):
      merged[i] = leaf
    return fn(jax.tree.unflatten(treedef, merged))

  value, trainable_grads = jax.value_and_grad(on_trainable, has_aux=True)([leaves[i] for i in trained])
  grads = [jnp.zeros_like(leaf) for leaf in leaves]
  for i, grad in zip(trained, trainable_grads):
    grads[i] = grad
  return value, jax.tree.unflatten(treedef, grads)
