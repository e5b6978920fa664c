"""Mesh construction and the FSDP parameter rule."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.sharding import PartitionSpec as P

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
