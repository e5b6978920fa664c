"""The train state: one pytree holding everything a resumed run needs (data-iterator state aside).

`params` are what the optimizer trains (with `opt_state`, and `ema_params` when EMA is on); `stats` are
non-trainable statistics the task advances itself in `post_update` (e.g. the VQ's code-usage EMA): checkpointed
with the rest, but with no gradient, no optimizer state and no EMA.
"""

from __future__ import annotations

from typing import Any

import flax.struct
import jax
import jax.numpy as jnp


@flax.struct.dataclass
class TrainState:
  step: jax.Array                 # int32 scalar: optimizer steps taken
  params: Any
  opt_state: Any
  ema_params: Any                 # None when EMA is off
  stats: Any                      # the task's non-trainable statistics, {} when it keeps none
  nonfinite_steps: jax.Array      # int32: steps whose update was dropped for a non-finite loss/grad
  first_nonfinite_step: jax.Array  # int32: the first such step, -1 if none


def create(params: Any, optimizer, use_ema: bool, stats: Any = None) -> TrainState:
  return TrainState(
      step=jnp.zeros((), jnp.int32), params=params, opt_state=optimizer.init(params),
      ema_params=jax.tree.map(jnp.copy, params) if use_ema else None, stats={} if stats is None else stats,
      nonfinite_steps=jnp.zeros((), jnp.int32), first_nonfinite_step=jnp.full((), -1, jnp.int32))


def ema_update(ema: Any, params: Any, decay: float) -> Any:
  return jax.tree.map(lambda e, p: e * decay + (1.0 - decay) * p.astype(e.dtype), ema, params)
