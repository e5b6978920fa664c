"""Tests for the masked dynamics model, its loss, the edit-span masks and action dropping."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.sharding import NamedSharding, PartitionSpec as P

from genie_audio.models import spans
from genie_audio.models.dynamics import NULL_ACTION, DynamicsModel, dynamics_loss, step_mean_error
from genie_audio.training import sharding

TINY = dict(latent_dim=4, dim=32, depth=2, num_heads=4, num_actions=5)


def _inputs(B=2, T=12, C=4, A=5, seed=0):
  k1, k2, k3 = jax.random.split(jax.random.key(seed), 3)
  x = jax.random.normal(k1, (B, T, C))
  ctx = jax.random.normal(k2, (B, T, C))
  actions = jax.random.randint(k3, (B, T), 0, A)
  return x, ctx, actions


@pytest.fixture(scope="module")
def tiny():
  """(model, fresh variables, variables with every param randomised). adaLN-Zero and the zero output layer
  make a fresh model a constant (v = 0), which would hide every dependency these tests look for."""
  model = DynamicsModel(**TINY)
  x, ctx, actions = _inputs()

  @jax.jit  # one compilation (eager per-leaf random draws would compile once per shape)
  def init(rng):
    variables = model.init(rng, x, jnp.zeros(2), ctx, jnp.ones((2, 12), bool), actions, method="velocity")
    leaves, treedef = jax.tree.flatten(variables)
    keys = jax.random.split(jax.random.fold_in(rng, 1), len(leaves))
    return variables, jax.tree.unflatten(treedef, [p + 0.3 * jax.random.normal(k, p.shape)
                                                   for p, k in zip(leaves, keys)])

  return model, *init(jax.random.key(0))


def test_full_size_eval_shape():
  model = DynamicsModel(latent_dim=64, dim=512, depth=8, num_heads=8, num_actions=8, dtype=jnp.bfloat16)
  B, T, C = 2, 250, 64
  x = jax.ShapeDtypeStruct((B, T, C), jnp.float32)
  t = jax.ShapeDtypeStruct((B,), jnp.float32)
  m = jax.ShapeDtypeStruct((B, T), jnp.bool_)
  a = jax.ShapeDtypeStruct((B, T), jnp.int32)
  variables = jax.eval_shape(model.init, jax.random.key(0), x, x, t, m, a)
  n_params = sum(math.prod(p.shape) for p in jax.tree.leaves(variables))
  assert 30e6 < n_params < 50e6, n_params
  assert all(p.dtype == jnp.float32 for p in jax.tree.leaves(variables))  # params f32, compute bf16
  assert variables["params"]["action_embed"]["embedding"].shape == (9, 512)  # A + 1 rows
  v, aux = jax.eval_shape(model.apply, variables, x, x, t, m, a)
  assert v.shape == (B, T, C) and v.dtype == jnp.float32
  assert aux["v_target"].shape == aux["x0_pred"].shape == aux["x_t"].shape == (B, T, C)
  v = jax.eval_shape(lambda *args: model.apply(*args, method="velocity"), variables, x, t, x, m, a)
  assert v.shape == (B, T, C)


def test_tiny_forward_and_fresh_model_is_zero(tiny):
  model, variables, _ = tiny
  x, ctx, actions = _inputs()
  mask = jnp.ones((2, 12), bool)
  v, aux = jax.jit(model.apply)(variables, ctx, x, jnp.full((2,), 0.5), mask, actions)
  assert v.shape == (2, 12, 4) and bool(jnp.all(jnp.isfinite(v)))
  np.testing.assert_array_equal(v, 0.0)  # zero-init output layer: training starts from v = 0
  np.testing.assert_allclose(aux["x_t"], 0.5 * ctx + 0.5 * x, rtol=1e-6)
  np.testing.assert_allclose(aux["v_target"], x - ctx, rtol=1e-6)


def test_context_inputs_ignored_masked_inputs_matter_bidirectional(tiny):
  model, _, params = tiny
  x, ctx, actions = _inputs()
  T = x.shape[1]
  mask = jnp.zeros((2, T), bool).at[:, 3:7].set(True).at[:, -1].set(True)
  t = jnp.array([0.7, 0.3])
  vel = jax.jit(lambda x: model.apply(params, x, t, ctx, mask, actions, method="velocity"))
  v0 = vel(x)
  # The noisy input at a context frame is never read: the clean context replaces it.
  np.testing.assert_array_equal(vel(x.at[:, 0].add(5.0)), v0)
  # The noisy input at a masked frame matters, everywhere, including the first frame (bidirectional).
  v1 = vel(x.at[:, -1].add(1.0))
  assert np.abs(np.asarray(v1 - v0)[:, 0]).max() > 1e-4
  assert np.abs(np.asarray(v1 - v0)[:, 4]).max() > 1e-4
  # And the clean context matters too (the last context frame, seen from the first masked frame).
  v2 = jax.jit(model.apply, static_argnames="method")(params, x, t, ctx.at[:, -2].add(1.0), mask, actions,
                                                       method="velocity")
  assert np.abs(np.asarray(v2 - v0)[:, 3]).max() > 1e-4


def test_context_frames_are_at_time_zero(tiny):
  """Per-frame time: with nothing masked every frame sees t = 0, so the sample's t has no effect."""
  model, _, params = tiny
  x, ctx, actions = _inputs()
  none = jnp.zeros((2, 12), bool)
  vel = jax.jit(lambda t, m: model.apply(params, x, t, ctx, m, actions, method="velocity"))
  np.testing.assert_array_equal(vel(jnp.array([0.9, 0.2]), none), vel(jnp.array([0.1, 0.6]), none))
  some = none.at[:, 5].set(True)
  assert not np.allclose(vel(jnp.array([0.9, 0.2]), some), vel(jnp.array([0.1, 0.6]), some))


def test_actions_condition_and_null_ids(tiny):
  model, _, params = tiny
  x, ctx, actions = _inputs()
  mask = jnp.zeros((2, 12), bool).at[:, 4:9].set(True)
  t = jnp.array([0.5, 0.5])
  vel = jax.jit(lambda a: model.apply(params, x, t, ctx, mask, a, method="velocity"))
  v0 = vel(actions)
  changed = actions.at[:, 10].set((actions[:, 10] + 1) % TINY["num_actions"])
  assert np.abs(np.asarray(vel(changed) - v0)[:, 5]).max() > 1e-4  # another frame's action is read
  # NULL_ACTION (any negative id) is the table's last row, id A.
  A = TINY["num_actions"]
  np.testing.assert_array_equal(vel(jnp.full_like(actions, NULL_ACTION)), vel(jnp.full_like(actions, A)))
  np.testing.assert_array_equal(vel(jnp.full_like(actions, -7)), vel(jnp.full_like(actions, A)))
  assert not np.allclose(vel(jnp.full_like(actions, A)), v0)


def test_dynamics_loss_counts_masked_frames_only():
  B, T, C = 3, 10, 2
  latents = jax.random.normal(jax.random.key(0), (B, T, C))
  actions = jnp.zeros((B, T), jnp.int32)
  mask = jnp.zeros((B, T), bool).at[:, 2:5].set(True)

  def exact_on_mask(params, latents, noise, t, mask_BT, actions_BT):
    """A fake model: the exact velocity on masked frames, garbage on context frames."""
    target = noise - latents
    return jnp.where(mask_BT[..., None], target, 1e3), {"v_target": target}

  loss, metrics = dynamics_loss(exact_on_mask, None, latents, actions, jax.random.key(1), mask_BT=mask)
  assert float(loss) == 0.0
  np.testing.assert_allclose(metrics["train/mask_fraction"], 0.3)
  off = lambda *a: (exact_on_mask(*a)[0] + 1.0, exact_on_mask(*a)[1])
  np.testing.assert_allclose(dynamics_loss(off, None, latents, actions, jax.random.key(1), mask_BT=mask)[0], 1.0)


def test_step_mean_error_sees_each_steps_mean_of_masked_frames():
  B, T, C, R = 1, 6, 1, 3
  zeros = jnp.zeros((B, T, C))
  every_frame = jnp.ones((B, T), bool)
  steady = jnp.ones((B, T, C))                                                  # step means 1
  wobbling = jnp.asarray([1.0, -1.0, 0.0, 2.0, -2.0, 0.0]).reshape(B, T, C)  # step means 0
  np.testing.assert_allclose(step_mean_error(steady, zeros, every_frame, R), 1.0)
  np.testing.assert_allclose(step_mean_error(wobbling, zeros, every_frame, R), 0.0, atol=1e-7)
  # Only masked frames count, and only steps with one: frame 1 alone in step 0 gives a mean of 1/3 there.
  one_frame = jnp.zeros((B, T), bool).at[0, 1].set(True)
  np.testing.assert_allclose(step_mean_error(steady, zeros, one_frame, R), 1 / 9, rtol=1e-6)


def test_dynamics_loss_adds_the_weighted_step_mean_error():
  B, T, C, R = 2, 6, 2, 3
  latents = jax.random.normal(jax.random.key(0), (B, T, C))
  actions = jnp.zeros((B, T), jnp.int32)
  mask = jnp.ones((B, T), bool)
  off_by_one = lambda params, x, noise, *a: (noise - x + 1.0, {"v_target": noise - x})
  loss, metrics = dynamics_loss(off_by_one, None, latents, actions, jax.random.key(1), mask_BT=mask,
                                step_mean_weight=2.0, frames_per_action=R)
  np.testing.assert_allclose(metrics["train/step_mean_error"], 1.0, rtol=1e-6)
  np.testing.assert_allclose(loss, 1.0 + 2.0 * 1.0, rtol=1e-6)


def test_dynamics_loss_sharded_matches_single_device(tiny):
  model, _, params = tiny
  B, T = 8, 12
  latents = jax.random.normal(jax.random.key(3), (B, T, 4))
  actions = jax.random.randint(jax.random.key(4), (B, T), 0, TINY["num_actions"])
  loss_fn = jax.jit(lambda p, z, a, k: dynamics_loss(model.apply, p, z, a, k, drop_prob=0.5, min_frac=0.2))
  rng = jax.random.key(5)
  loss, metrics = loss_fn(params, latents, actions, rng)
  mesh = sharding.make_mesh(2, 4)
  batch = NamedSharding(mesh, P(sharding.BATCH_AXES))
  loss_sh, _ = loss_fn(jax.device_put(params, sharding.replicated(mesh)), jax.device_put(latents, batch),
                       jax.device_put(actions, batch), rng)
  assert np.isfinite(float(loss)) and float(loss) > 0
  np.testing.assert_allclose(loss_sh, loss, rtol=1e-5)
  assert 0.2 - 1e-6 <= float(metrics["train/mask_fraction"]) <= 0.6 + 1e-6
  assert 0.0 <= float(metrics["train/actions_dropped"]) <= 1.0


def _runs(row):
  """(start, length) of each run of True in a 1-D bool array."""
  row = np.concatenate([[False], row, [False]]).astype(np.int8)
  d = np.diff(row)
  starts, ends = np.flatnonzero(d == 1), np.flatnonzero(d == -1)
  return list(zip(starts, ends - starts))


def test_sample_edit_mask_single_span_statistics():
  B, T = 4000, 50
  mask = np.asarray(jax.jit(lambda k: spans.sample_edit_mask(k, B, T, multi_prob=0.0))(jax.random.key(0)))
  assert mask.shape == (B, T) and mask.dtype == bool
  runs = [_runs(r) for r in mask]
  assert all(len(r) == 1 for r in runs)  # one contiguous span
  starts = np.array([r[0][0] for r in runs])
  lengths = np.array([r[0][1] for r in runs])
  assert lengths.min() == 5 and lengths.max() == 30  # 10% .. 60% of T, both ends reached
  # Edge spans: 20% are snapped, half to each side (a uniform start adds a few percent more).
  assert 0.08 < np.mean(starts == 0) < 0.2
  assert 0.08 < np.mean(starts + lengths == T) < 0.2
  interior = (starts > 0) & (starts + lengths < T)
  assert np.mean(interior) > 0.65
  # Interior starts cover the window (no position bias beyond what the length allows).
  assert len(np.unique(starts[interior])) > 40


def test_sample_edit_mask_several_spans():
  B, T = 2000, 60
  mask = np.asarray(spans.sample_edit_mask(jax.random.key(1), B, T, multi_prob=1.0, max_spans=3))
  n_runs = np.array([len(_runs(r)) for r in mask])
  assert set(np.unique(n_runs)) >= {2, 3}  # overlapping/adjacent spans can merge into fewer runs
  assert mask.any(axis=1).all()
  assert mask.sum(axis=1).max() <= int(0.6 * T)  # the union stays within max_frac
  # Defaults: mostly one span, some multi-span samples.
  mask = np.asarray(spans.sample_edit_mask(jax.random.key(2), B, T))
  multi = np.mean([len(_runs(r)) > 1 for r in mask])
  assert 0.1 < multi < 0.3
  with pytest.raises(ValueError):
    spans.sample_edit_mask(jax.random.key(0), 2, 10, min_frac=0.7, max_frac=0.5)


def test_span_mask():
  np.testing.assert_array_equal(spans.span_mask(6, 2, 4), [False, False, True, True, False, False])


def test_drop_actions_rate():
  B, T = 20000, 6
  actions = jax.random.randint(jax.random.key(0), (B, T), 0, 8)
  out = np.asarray(spans.drop_actions(jax.random.key(1), actions, 0.3, NULL_ACTION))
  dropped = (out == NULL_ACTION).all(axis=1)
  assert abs(dropped.mean() - 0.3) < 0.015
  np.testing.assert_array_equal(out[~dropped], np.asarray(actions)[~dropped])  # others untouched
  assert not (out[~dropped] == NULL_ACTION).any()  # whole samples, never single frames
  np.testing.assert_array_equal(spans.drop_actions(jax.random.key(1), actions, 0.0, -1), actions)
