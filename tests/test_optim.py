"""Optimizer: `optim.trainable` freezes exactly the params whose path does not match."""

import re

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from configs import common
from genie_audio.training import optim

PARAMS = {"encoder": {"conv": {"kernel": jnp.ones((3, 2))}, "bias": jnp.ones(2)},
          "decoder": {"mid_attn0": {"kernel": jnp.ones((2, 2))}, "out": {"kernel": jnp.ones((2, 1))}}}


def _step(**overrides):
  """One optimizer step from PARAMS with constant positive gradients."""
  config = common.base_config().optim
  config.update(dict(warmup_steps=0, **overrides))
  opt = optim.make_optimizer(config, total_steps=10)
  grads = jax.tree.map(lambda p: jnp.full_like(p, 0.5), PARAMS)
  updates, _ = opt.update(grads, opt.init(PARAMS), PARAMS)
  return optax.apply_updates(PARAMS, updates)


def test_trainable_regex_freezes_the_rest():
  new = _step(trainable="^decoder/mid_attn")
  np.testing.assert_array_equal(new["encoder"]["conv"]["kernel"], 1.0)
  np.testing.assert_array_equal(new["encoder"]["bias"], 1.0)  # no weight decay on frozen params either
  np.testing.assert_array_equal(new["decoder"]["out"]["kernel"], 1.0)
  assert np.all(new["decoder"]["mid_attn0"]["kernel"] < 1)


def test_empty_trainable_trains_everything_like_no_field():
  new, plain = _step(trainable=""), _step()
  jax.tree.map(np.testing.assert_array_equal, new, plain)
  assert all(np.all(leaf < 1) for leaf in jax.tree.leaves(new))


def test_trainable_matching_nothing_names_the_field():
  with pytest.raises(ValueError, match=re.escape("config.optim.trainable='^nothing' matches no parameter")):
    _step(trainable="^nothing")


def test_param_path_format():
  path = tuple(jax.tree_util.DictKey(k) for k in ("decoder", "out", "kernel"))
  assert optim.param_path(path) == "decoder/out/kernel"
