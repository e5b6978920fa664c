"""Logical axis names of parameters and activations, and the flax layers that carry them.

Models say what each axis *is*; only `genie_audio/training/sharding.py` (`LOGICAL_RULES`) says which mesh axis
splits it, so the sharding plan lives in one table (MaxText's logical axis rules).

Parameter axes (`nn.with_logical_partitioning` on the initialisers; only inside `boxing_param_names` does `init`
return params boxed with their names, which the loop reads there: everywhere else params are plain arrays):
  embed      a layer's input features (a transformer's model dim)
  mlp        a layer's output features (an MLP's hidden dim)
  heads, kv  attention heads and the head dim;  qkv  the query/key/value index
  conv       kernel taps along time;  conv_freq  along frequency (2D convs)
  vocab      rows of an embedding table
Activation axes (`constrain`, a `nn.with_logical_constraint` under the rules that `activation_rules` puts in
context while the training step is traced; elsewhere, as in evaluation, it does nothing):
  batch      examples;  length  time steps or frames;  freq  frequency positions;  features  channels
"""

from __future__ import annotations

import contextlib
import contextvars
from typing import Any, Callable, Iterator

import flax.linen as nn
import jax
import jax.numpy as jnp

_F32 = jnp.float32
Initializer = Callable[..., jax.Array]


_BOX_PARAM_NAMES: contextvars.ContextVar[bool] = contextvars.ContextVar("box_param_names", default=False)


@contextlib.contextmanager
def boxing_param_names() -> Iterator[None]:
  """Inside, `init` returns params boxed with their logical axis names (`nn.Partitioned`)."""
  token = _BOX_PARAM_NAMES.set(True)
  try:
    yield
  finally:
    _BOX_PARAM_NAMES.reset(token)


def named(init: Initializer, *names: str | None) -> Initializer:
  """`init` whose params carry the logical axis `names` (boxed inside `boxing_param_names`)."""
  boxed = nn.with_logical_partitioning(init, names)

  def init_maybe_boxed(*args, **kwargs):
    return boxed(*args, **kwargs) if _BOX_PARAM_NAMES.get() else init(*args, **kwargs)

  return init_maybe_boxed


def Dense(features: int, *, axes: tuple[str, str] = ("embed", "mlp"),
          kernel_init: Initializer = nn.linear.default_kernel_init, **kwargs: Any) -> nn.Dense:
  """flax Dense with float32 params whose kernel is named (input, output) = `axes`."""
  kwargs.setdefault("param_dtype", _F32)
  return nn.Dense(features, kernel_init=named(kernel_init, *axes), **kwargs)


def Conv(features: int, kernel_size: tuple[int, ...], *, kernel_init: Initializer = nn.linear.default_kernel_init,
         **kwargs: Any) -> nn.Conv:
  """flax Conv (1D or 2D) with float32 params; kernel named (conv[, conv_freq], embed, mlp)."""
  taps = ("conv",) if len(kernel_size) == 1 else ("conv", "conv_freq")
  kwargs.setdefault("param_dtype", _F32)
  return nn.Conv(features, kernel_size, kernel_init=named(kernel_init, *taps, "embed", "mlp"), **kwargs)


def Embed(num_embeddings: int, features: int, **kwargs: Any) -> nn.Embed:
  """flax Embed with float32 params; table named (vocab, embed)."""
  kwargs.setdefault("param_dtype", _F32)
  return nn.Embed(num_embeddings, features, embedding_init=named(nn.linear.default_embed_init, "vocab", "embed"),
                  **kwargs)


# Kept apart from flax's global rules: with those set, flax also constrains every boxed param it unboxes, which
# fails for DenseGeneral kernels (unboxed once in their flat 2D shape).
_ACTIVATION_RULES: contextvars.ContextVar[tuple | None] = contextvars.ContextVar("activation_rules", default=None)


@contextlib.contextmanager
def activation_rules(rules: tuple) -> Iterator[None]:
  """`constrain` maps names through `rules` ((logical name, mesh axes) pairs) inside this context."""
  token = _ACTIVATION_RULES.set(tuple(rules))
  try:
    yield
  finally:
    _ACTIVATION_RULES.reset(token)


def constrain(x: jax.Array, *names: str | None) -> jax.Array:
  """Pins an activation's axes to their logical names' mesh axes (inside `activation_rules`)."""
  if len(names) != x.ndim:
    raise ValueError(f"constrain: {len(names)} axis names {names} for an array of shape {x.shape}")
  rules = _ACTIVATION_RULES.get()
  return x if rules is None else nn.with_logical_constraint(x, names, rules=rules)


def per_example(fn: Callable[..., Any]) -> Callable[..., Any]:
  """`fn`, whose arrays all lead with the batch axis, run on each device's own examples inside a training step.

  For ops the compiler cannot split over the batch by itself: it would gather the whole batch onto every
  device first (XLA's FFT does). Outside `activation_rules` it is `fn` itself.
  """
  def on_own_examples(*args):
    rules = _ACTIVATION_RULES.get()
    if rules is None:
      return fn(*args)
    spec = jax.sharding.PartitionSpec(dict(rules)["batch"])
    return jax.shard_map(fn, in_specs=spec, out_specs=spec)(*args)  # the mesh of the step's context
  return on_own_examples


_BATCH_MAJOR = {1: ("batch",), 2: ("batch", "features"), 3: ("batch", "length", "features"),
                4: ("batch", "length", "freq", "features")}


def constrain_batch(x: jax.Array) -> jax.Array:
  """Keeps a (B[, T[, F]], C) activation split over the batch and whole along its other axes."""
  return constrain(x, *_BATCH_MAJOR[x.ndim])
