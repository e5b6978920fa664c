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


def _two_layer_loss(params):
  h = jnp.tanh(jnp.ones((4, 3)) @ params["first"]["kernel"])
  return jnp.mean(jnp.square(h @ params["second"]["kernel"])), {"h": h}


TWO_LAYERS = {"first": {"kernel": jnp.linspace(-1, 1, 15).reshape(3, 5)},
              "second": {"kernel": jnp.linspace(-1, 1, 10).reshape(5, 2)}}


def test_frozen_params_are_not_differentiated():
  def matmuls(pattern):
    jaxpr = jax.make_jaxpr(lambda p: optim.value_and_trainable_grad(_two_layer_loss, p, pattern))(TWO_LAYERS)
    return str(jaxpr).count("dot_general")
  # All trainable: 2 forward + dW2, dh, dW1. Only the second layer: 2 forward + dW2, no pass through the first.
  assert (matmuls(""), matmuls("^second")) == (5, 3)


def test_trainable_grads_and_updates_equal_those_of_differentiating_everything():
  (loss_all, _), grads_all = optim.value_and_trainable_grad(_two_layer_loss, TWO_LAYERS, "")
  (loss, aux), grads = optim.value_and_trainable_grad(_two_layer_loss, TWO_LAYERS, "^second")
  assert loss == loss_all and aux["h"].shape == (4, 5)
  np.testing.assert_array_equal(grads["first"]["kernel"], 0.0)
  np.testing.assert_allclose(grads["second"]["kernel"], grads_all["second"]["kernel"], rtol=1e-6)
  # The optimizer only ever read the trainable grads: its updates are those of the all-params gradient.
  config = common.base_config().optim
  config.update(dict(warmup_steps=0, trainable="^second"))
  opt = optim.make_optimizer(config, total_steps=10)
  state = opt.init(TWO_LAYERS)
  jax.tree.map(np.testing.assert_allclose, opt.update(grads, state, TWO_LAYERS)[0],
               opt.update(grads_all, state, TWO_LAYERS)[0])
  assert float(optax.tree.norm(grads)) == pytest.approx(float(optax.tree.norm(grads_all["second"])))
