"""Mesh construction, the logical-axis and shape rules for parameters, and each stage's compiled FSDP step."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.sharding import PartitionSpec as P

from genie_audio.testing import compiled_step
from genie_audio.training import sharding


def test_mesh_2x4_and_auto_data_axis():
  mesh = sharding.make_mesh(2, 4)
  assert dict(mesh.shape) == {"data": 2, "fsdp": 4}
  assert dict(sharding.make_mesh(-1, 2).shape) == {"data": 4, "fsdp": 2}


def test_mesh_errors_name_the_field():
  with pytest.raises(ValueError, match="config.mesh.fsdp=3"):
    sharding.make_mesh(-1, 3)
  with pytest.raises(ValueError, match="config.mesh.data"):
    sharding.make_mesh(3, 2)


@pytest.mark.parametrize("shape, expected", [
    ((64, 256), P(None, "fsdp")),     # largest divisible dimension
    ((256, 6), P("fsdp", None)),
    ((6, 10, 301), P()),              # nothing divisible by 4
    ((4,), P()),                      # below min_size: replicated
])
def test_fsdp_spec(shape, expected):
  assert sharding.fsdp_spec(shape, fsdp_size=4, min_size=64) == expected


def test_tree_shardings_really_partition_params():
  mesh = sharding.make_mesh(2, 4)
  params = {"kernel": jnp.ones((64, 32)), "bias": jnp.ones((32,))}
  shardings = sharding.tree_shardings(params, mesh, min_size=256)
  placed = jax.device_put(params, shardings)
  assert placed["kernel"].addressable_shards[0].data.shape == (16, 32)  # split 4 ways over fsdp
  assert placed["bias"].addressable_shards[0].data.shape == (32,)
  assert "kernel" in sharding.log_sharding_table(params, shardings)


def test_global_batch_splits_over_all_devices():
  mesh = sharding.make_mesh(2, 4)
  batch = sharding.global_batch({"wave": np.arange(16 * 3, dtype=np.float32).reshape(16, 3)}, mesh)
  assert batch["wave"].shape == (16, 3)
  assert {s.data.shape for s in batch["wave"].addressable_shards} == {(2, 3)}
  np.testing.assert_array_equal(np.asarray(batch["wave"]), np.arange(48).reshape(16, 3))


def test_a_batch_that_does_not_split_over_the_devices_names_the_field():
  sharding.check_batch(16, sharding.make_mesh(2, 4))
  with pytest.raises(ValueError, match=r"config.batch_size=12 must be divisible by the 8 devices"):
    sharding.check_batch(12, sharding.make_mesh(2, 4))


def test_put_split_gives_each_device_its_own_rows():
  mesh = sharding.make_mesh(2, 4)
  assert sharding.batch_axes_size(mesh) == 8 and sharding.whole_per_device(12, mesh) == 16
  x = np.arange(16 * 3, dtype=np.float32).reshape(16, 3)
  placed = sharding.put_split(x, mesh)
  assert {s.data.shape for s in placed.addressable_shards} == {(2, 3)}
  assert sorted(int(s.data[0, 0]) // 6 for s in placed.addressable_shards) == list(range(8))  # rows 2i, 2i+1
  np.testing.assert_array_equal(np.asarray(placed), x)


def test_named_spec_takes_the_first_rule_whose_axis_divides():
  mesh = sharding.make_mesh(2, 4)
  assert sharding.named_spec(("embed", "mlp"), (64, 256), mesh, 0) == P("fsdp", None)
  assert sharding.named_spec(("embed", "mlp"), (65, 256), mesh, 0) == P(None, "fsdp")  # 65: next rule
  assert sharding.named_spec(("conv", "embed", "mlp"), (3, 6, 10), mesh, 0) == P(None, None, None)
  assert sharding.named_spec(("embed", "mlp"), (64, 256), mesh, 10**6) == P(None, None)  # small: replicated


def test_optimizer_moments_and_ema_follow_their_params_names():
  mesh = sharding.make_mesh(2, 4)
  kernel = jnp.ones((8, 12))
  state = {"params": {"dense": {"kernel": kernel}}, "opt": {"mu": {"dense": {"kernel": kernel}}},
           "unnamed": kernel, "count": jnp.zeros(())}
  shardings = sharding.tree_shardings(state, mesh, 0, {"['dense']['kernel']": ("embed", "mlp")})
  assert shardings["params"]["dense"]["kernel"].spec == P("fsdp", None)  # named: the input features
  assert shardings["opt"]["mu"]["dense"]["kernel"].spec == P("fsdp", None)
  assert shardings["unnamed"].spec == P(None, "fsdp")  # the shape rule: the largest divisible dimension
  assert shardings["count"].spec == P()


# A batch no parameter dimension of the tiny models equals, so a gathered batch cannot pass for a parameter.
_BATCH = 56


# The tokenizer: the tests' micro model (far quicker to compile than `tiny`), with the flow on STFT frames (FFTs)
# and an attention block at the U-Net's bottom, as the full-size presets have.
_MICRO_TOKENIZER = dict(flow_space="stft", stft_hop=16, decoder_attn_depth=1, decoder_heads=2)


@pytest.mark.parametrize("spec", ["genie_audio/testing/tokenizer_config.py", "configs/lam.py:tiny",
                                  "configs/dynamics.py:tiny"])
def test_fsdp_keeps_the_batch_split_and_shards_the_state(spec):
  config = compiled_step.load_config(spec)
  if config.task == "tokenizer":
    config.model.update(_MICRO_TOKENIZER)
  # Tiny models' params are all small: shard every one, as the full-size defaults shard their large ones.
  config.update(dict(batch_size=_BATCH, shard_min_size=0))
  config.mesh.fsdp = 4
  _, parts = compiled_step.build(config, spec)
  compiled = parts.train_step.lower(parts.abstract_state, parts.abstract_batch).compile()
  assert compiled_step.batch_sized_gathers(compiled.as_text(), _BATCH, data=2) == []
  batch_bytes = sum(math.prod(v.sharding.shard_shape(v.shape)) * np.dtype(v.dtype).itemsize
                    for v in parts.abstract_batch.values())
  fsdp4 = compiled_step.memory_bytes(compiled)["argument_bytes"] - batch_bytes  # params, optimizer, EMA
  config.mesh.fsdp = 1
  _, unsharded = compiled_step.build(config, spec)
  fsdp1 = compiled_step.state_bytes_per_device(unsharded, trees=("params", "opt_state", "ema_params"))
  assert fsdp4 <= 0.3 * fsdp1, (fsdp4, fsdp1)
