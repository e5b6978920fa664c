"""Per-model options: the attention kernel `auto` picks, and block remat (same params, same gradients)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from configs import common, lam as lam_config
from genie_audio.models.layers import TransformerBlock, attention_implementation, remat_block


@pytest.mark.parametrize("platform, dtype, head_dim, masked, expected", [
    ("gpu", jnp.bfloat16, 64, False, "cudnn"),
    ("gpu", jnp.float16, 128, False, "cudnn"),
    ("gpu", jnp.float32, 64, False, "xla"),    # cuDNN's flash attention takes bf16/fp16 only
    ("gpu", jnp.bfloat16, 12, False, "xla"),   # head dim not a multiple of 8
    ("gpu", jnp.bfloat16, 64, True, "xla"),    # a mask
    ("cpu", jnp.bfloat16, 64, False, "xla"),
    ("tpu", jnp.bfloat16, 64, False, "xla"),
])
def test_auto_attention_takes_cudnn_only_where_it_runs(platform, dtype, head_dim, masked, expected):
  assert attention_implementation("auto", dtype, head_dim, masked, platform) == expected
  assert attention_implementation("xla", dtype, head_dim, masked, platform) == "xla"


def test_the_cpu_tests_run_xla_attention():
  assert attention_implementation("auto", jnp.bfloat16, 64, False) == "xla"


def test_bad_options_name_the_field():
  for field, value in (("attention", "flash"), ("remat", "some")):
    config = lam_config.get_config("tiny")
    config.model[field] = value
    with pytest.raises(ValueError, match=f"config.model.{field}='{value}'"):
      common.validate(config)


def test_remat_keeps_param_names_and_gradients():
  x = jax.random.normal(jax.random.key(0), (2, 6, 16))
  cond = jax.random.normal(jax.random.key(1), (2, 16))
  plain = TransformerBlock(2)
  params = jax.jit(plain.init)(jax.random.key(2), x, cond)
  grad = lambda block: jax.jit(jax.grad(lambda p: jnp.sum(block.apply(p, x, cond) ** 2)))(params)  # one compile
  want = grad(plain)
  for policy in ("full", "dots"):
    block = remat_block(TransformerBlock, policy)(2)
    assert jax.tree.structure(jax.eval_shape(block.init, jax.random.key(2), x, cond)) == jax.tree.structure(params)
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6), grad(block), want)
