"""Latent action model: full-size shapes, method consistency, learning actions on synthetic latents, encoder
views and options. The stage's sharded run (save, SIGKILL, resume, evaluate) is in tests/test_multiprocess.py."""

import types

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from configs import lam as lam_config
from configs import lam_8hz
from genie_audio.data import latents as latent_store
from genie_audio.models.lam import (LatentActionModel, alternate_step_masks, encoder_view, standardize_over_time,
                                    step_level)
from genie_audio.tasks import lam as lam_task
from genie_audio.tasks.lam import LamTask, level_direction, prepare_latents, step_means
from genie_audio.tasks.lam_metrics import hidden_squared_error, lam_eval_metrics, window_channel_weights
from genie_audio.training import checkpoint, optim

# Synthetic latents: every action step (R frames) is one of 4 "moves", a ramp away from the window's offset
# along +-e0 or +-e1. A hidden step cannot be told from its context; its code can carry it.
R, S, C = 4, 8, 4
MOVES = np.array([[1, 0, 0, 0], [-1, 0, 0, 0], [0, 1, 0, 0], [0, -1, 0, 0]], np.float32)


def synthetic_latents(rng: np.random.Generator, batch: int) -> tuple[np.ndarray, np.ndarray]:
  moves_BS = rng.integers(0, len(MOVES), (batch, S))
  ramp_R = 0.5 * (np.arange(R) + 1)
  z = MOVES[moves_BS][:, :, None, :] * ramp_R[None, None, :, None]
  z = z.reshape(batch, S * R, C) + rng.normal(size=(batch, 1, C)) + 0.05 * rng.normal(size=(batch, S * R, C))
  return z.astype(np.float32), moves_BS


def synthetic_config():
  c = lam_config.get_config("tiny")
  c.data.latent_dim, c.data.window_frames, c.model.frames_per_action = C, S * R, R
  # The synthetic moves are patterns of each step against the window's offset, which the standardised window
  # shows as they are (the default step_delta view shows each one minus the previous step's).
  c.model.encoder_view = "window_norm"
  c.optim.update(dict(lr=3e-3, warmup_steps=10, final_lr_fraction=1.0))
  return c


@pytest.mark.parametrize("config_module", [lam_config, lam_8hz])
def test_full_size_shapes(config_module):
  config = config_module.get_config()
  task = LamTask(config)
  B, T, Cz = config.batch_size, config.data.window_frames, config.data.latent_dim
  steps = T // config.model.frames_per_action
  batch = {"latents": jax.ShapeDtypeStruct((B, T, Cz), jnp.float32)}
  params = jax.eval_shape(task.init_params, jax.random.key(0), batch)
  assert params["vq"]["codebook"].shape == (8, config.model.code_dim)
  assert list(params["vq"]) == ["codebook"]  # the usage EMA is a statistic of the train state, not a param
  assert jax.eval_shape(task.init_stats)["vq"]["usage_ema"].shape == (8,)
  n_params = sum(int(np.prod(x.shape)) for x in jax.tree.leaves(params))
  assert 20e6 < n_params < 100e6
  loss, metrics, aux = jax.eval_shape(task.loss, params, batch, jax.random.key(1), 0)
  assert loss.shape == () and metrics["train/recon_loss"].shape == ()
  assert aux["encodings"].shape == (B, steps, config.model.code_dim)
  variables = {"params": params}
  codes = jax.eval_shape(lambda v, z: task.model.apply(v, z, method=LatentActionModel.infer_actions),
                         variables, batch["latents"])
  assert codes.shape == (B, steps) and codes.dtype == jnp.int32
  mask = jax.ShapeDtypeStruct((B, T), jnp.bool_)
  prediction = jax.eval_shape(lambda v, z, m, c: task.model.apply(v, z, m, c, method=LatentActionModel.decode),
                              variables, batch["latents"], mask, codes)
  assert prediction.shape == (B, T, Cz) and prediction.dtype == jnp.float32


def test_methods_agree_and_null_action_differs():
  task = LamTask(synthetic_config())
  z, _ = synthetic_latents(np.random.default_rng(0), 4)
  params = jax.jit(task.init_params)(jax.random.key(0), {"latents": z})
  # Perturb the params so that the adaLN conditioning (zero at init) actually depends on the actions.
  noise = np.random.default_rng(1)
  params = jax.tree.map(lambda p: p + 0.05 * noise.normal(size=p.shape).astype(np.float32), params)
  v, model = {"params": params}, task.model
  mask = task.sample_mask(jax.random.key(2), 4)

  @jax.jit  # one compiled program: eager flax applies are slow on CPU
  def outputs(v, z, mask):
    prediction, aux = model.apply(v, z, mask)
    codes = model.apply(v, z, method=LatentActionModel.infer_actions)
    decoded = model.apply(v, z, mask, codes, method=LatentActionModel.decode)
    no_action = model.apply(v, z, mask, jnp.full_like(codes, -1), method=LatentActionModel.decode)
    dropped, _ = model.apply(v, z, mask, jnp.ones((4,), bool))
    return prediction, aux, codes, decoded, no_action, dropped

  prediction, aux, codes, decoded, no_action, dropped = jax.device_get(outputs(v, z, mask))
  assert codes.shape == (4, S) and 0 <= int(codes.min()) and int(codes.max()) < 8
  np.testing.assert_array_equal(aux["codes"], codes)
  np.testing.assert_array_equal(aux["mask"], mask)
  np.testing.assert_allclose(decoded, prediction, atol=1e-5)  # decode(inferred codes) == forward
  np.testing.assert_allclose(no_action, dropped, atol=1e-5)  # -1 codes == training's dropped actions
  assert np.abs(no_action - prediction).max() > 1e-3
  with pytest.raises(ValueError, match="multiple of frames_per_action"):
    model.apply(v, z[:, :-1], method=LatentActionModel.infer_actions)


def test_actions_carry_the_hidden_steps():
  """~150 Adam steps on synthetic moves: inferred actions rebuild hidden steps far better than random ones."""
  config = synthetic_config()
  steps = 150
  task = LamTask(config)
  optimizer = optim.make_optimizer(config.optim, steps)
  rng = np.random.default_rng(0)
  params = jax.jit(task.init_params)(jax.random.key(0), {"latents": synthetic_latents(rng, 32)[0]})
  stats, opt_state = task.init_stats(), optimizer.init(params)

  @jax.jit
  def train_step(params, stats, opt_state, z, step):
    loss_rng, post_rng = jax.random.split(jax.random.fold_in(jax.random.key(1), step))
    def loss_fn(p):
      loss, metrics, aux = task.loss(p, {"latents": z}, loss_rng, step)
      return loss, (metrics, aux)
    (_, (metrics, aux)), grads = jax.value_and_grad(loss_fn, has_aux=True)(params)
    updates, opt_state = optimizer.update(grads, opt_state, params)
    params, stats, post_metrics = task.post_update(optax.apply_updates(params, updates), stats, aux, post_rng)
    return params, stats, opt_state, {**metrics, **post_metrics}

  # Its 150 steps outweigh the compile: optimised code generation (tests/conftest.py turns it off).
  example = synthetic_latents(np.random.default_rng(1), 32)[0]  # its shape only: `rng` feeds the training
  train_step = train_step.lower(params, stats, opt_state, example, 0).compile(
      compiler_options={"xla_backend_optimization_level": 2})
  for step in range(steps):
    params, stats, opt_state, metrics = train_step(params, stats, opt_state, synthetic_latents(rng, 32)[0], step)
  assert np.isfinite(float(metrics["train/recon_loss"]))

  @jax.jit
  def hidden_errors(params, z):
    v, model = {"params": params}, task.model
    mask = task.sample_mask(jax.random.key(5), z.shape[0])
    codes = model.apply(v, z, method=LatentActionModel.infer_actions)
    candidates = {"inferred": codes, "random": jax.random.randint(jax.random.key(6), codes.shape, 0, 8),
                  "none": jnp.full_like(codes, -1)}
    errors = {}
    for name, c in candidates.items():
      err, count = hidden_squared_error(model.apply(v, z, mask, c, method=LatentActionModel.decode), z, mask)
      errors[name] = jnp.sum(err) / jnp.sum(count)
    return errors, codes

  z, moves = synthetic_latents(np.random.default_rng(99), 128)
  errors, codes = jax.device_get(hidden_errors(params, z))
  used = np.unique(codes)
  assert len(used) >= 3, f"codes used: {used}"
  assert errors["inferred"] < 0.3 * errors["random"], errors
  assert errors["inferred"] < 0.5 * errors["none"], errors
  # The move can be read off the code (a move may own several codes): each code is mostly one move.
  purity = sum(np.bincount(moves[codes == k]).max() for k in used) / codes.size
  assert purity > 0.85


@pytest.mark.parametrize("view", ["window_norm", "delta", "step_delta", "norm_and_step_delta"])
def test_normalised_encoder_views_ignore_a_window_offset_and_scale(view):
  """A window shifted and scaled per channel (a level or colour change in latent space) gets the same actions
  under the standardised views, and (almost surely) other actions under the raw view."""
  z, _ = synthetic_latents(np.random.default_rng(3), 16)
  offset = np.array([3.0, -2.0, 1.0, 5.0], np.float32)
  scale = np.array([2.0, 0.5, 3.0, 1.5], np.float32)
  both = np.concatenate([z, z * scale + offset])
  codes = {}
  for name in (view, "window"):
    model = LatentActionModel(latent_dim=C, frames_per_action=R, num_actions=8, model_dim=32, encoder_depth=1,
                              decoder_depth=1, num_heads=2, code_dim=8, encoder_view=name)

    @jax.jit
    def encode_and_infer(x):  # one compiled pass for the window and its moved copy
      variables = model.init(jax.random.key(0), x, jnp.zeros(x.shape[:2], bool))
      return (model.apply(variables, x, method=LatentActionModel.encode),
              model.apply(variables, x, method=LatentActionModel.infer_actions))

    encoded, inferred = jax.device_get(encode_and_infer(both))
    codes[name] = np.split(inferred, 2)
    if name == view:
      np.testing.assert_allclose(*np.split(encoded, 2), atol=2e-4)
  np.testing.assert_array_equal(*codes[view])
  assert np.mean(codes["window"][0] != codes["window"][1]) > 0.2


def test_step_causal_encoder_codes_a_step_from_its_past_only():
  """Changing the last step changes only the last step's encoding under "step_causal" (Genie's encoder), and
  every step's under the bidirectional encoder."""
  z, _ = synthetic_latents(np.random.default_rng(4), 2)
  changed = z.copy()
  changed[:, -R:] += np.random.default_rng(5).normal(size=changed[:, -R:].shape).astype(np.float32)
  both = np.concatenate([z, changed])
  for attention in ("step_causal", "bidirectional"):
    model = LatentActionModel(latent_dim=C, frames_per_action=R, num_actions=8, model_dim=32, encoder_depth=2,
                              decoder_depth=1, num_heads=2, code_dim=8, encoder_attention=attention)

    @jax.jit
    def init_and_encode(x):  # one compiled pass, not one per eager op
      variables = model.init(jax.random.key(0), x, jnp.zeros(x.shape[:2], bool))
      return model.apply(variables, x, method=LatentActionModel.encode)

    before, after = np.split(np.asarray(init_and_encode(both)), 2)
    earlier_moved = np.abs(before[:, :-1] - after[:, :-1]).max()
    assert np.abs(before[:, -1] - after[:, -1]).max() > 1e-3
    if attention == "step_causal":
      assert earlier_moved < 1e-5
    else:
      assert earlier_moved > 1e-3


def tiny_lam(**kwargs) -> LatentActionModel:
  return LatentActionModel(latent_dim=C, frames_per_action=R, num_actions=8, model_dim=32, encoder_depth=1,
                           decoder_depth=1, num_heads=2, code_dim=8, **kwargs)


def perturbed_init(model, z, seed=0):
  """Params with noise added, so that the adaLN conditioning (zero at init) depends on its inputs."""
  params = jax.jit(model.init)(jax.random.key(seed), z, jnp.zeros(z.shape[:2], bool))["params"]
  noise = np.random.default_rng(seed + 1)
  return jax.tree.map(lambda p: p + 0.05 * noise.normal(size=p.shape).astype(np.float32), params)


def test_alternate_step_masks_hide_every_step_once_between_visible_neighbours():
  masks = np.asarray(alternate_step_masks(5, 2))
  np.testing.assert_array_equal(masks, [[1, 1, 0, 0, 1, 1, 0, 0, 1, 1], [0, 0, 1, 1, 0, 0, 1, 1, 0, 0]])


def test_residual_view_is_what_the_neighbour_steps_do_not_predict():
  """The context prediction of a step does not see the step (changing it moves only its neighbours'
  predictions), and the "residual" view is the standardised difference to it; "norm_and_residual" puts
  "window_norm" beside it."""
  z, _ = synthetic_latents(np.random.default_rng(6), 2)
  changed = z.copy()
  changed[:, 3 * R:4 * R] += 1.0   # step 3
  model = tiny_lam(encoder_view="norm_and_residual")
  params = perturbed_init(model, z)

  context_prediction = jax.jit(lambda p, x: model.apply({"params": p}, x,
                                                       method=LatentActionModel.context_prediction))
  context = np.asarray(context_prediction(params, np.concatenate([z, changed])))
  before, after = np.split(context, 2)
  moved_S = np.abs(before - after).reshape(2, S, R, C).max(axis=(0, 2, 3))
  assert moved_S[3] < 1e-5 and moved_S[2] > 1e-4 and moved_S[4] > 1e-4, moved_S
  view = np.asarray(encoder_view(jnp.asarray(z), "norm_and_residual", R, jnp.asarray(before)))
  np.testing.assert_allclose(view[..., :C], standardize_over_time(jnp.asarray(z)), atol=1e-5)
  np.testing.assert_allclose(view[..., C:], standardize_over_time(jnp.asarray(z - before)), atol=1e-5)
  with pytest.raises(ValueError, match="context-only prediction"):
    encoder_view(jnp.asarray(z), "residual", R)


def test_level_input_tells_the_decoder_a_hidden_steps_level():
  """step_level is the mean projection on the unit direction; with decoder_level_input, raising a hidden
  step's level changes the prediction of the hidden frames (with no action), without it nothing can."""
  z, _ = synthetic_latents(np.random.default_rng(7), 2)
  direction = np.array([2.0, 0.0, 0.0, 0.0], np.float32)
  np.testing.assert_allclose(step_level(jnp.asarray(z), jnp.asarray(direction), R),
                             z[..., 0].reshape(2, S, R).mean(-1), rtol=1e-5)
  louder = z.copy()
  louder[:, 2 * R:3 * R, 0] += 3.0                     # step 2, hidden below, one unit of level up
  mask = np.zeros((2, S * R), bool)
  mask[:, 2 * R:3 * R] = True
  no_action = jnp.full((2, S), -1)
  moved = {}
  for level_input in (True, False):
    model = tiny_lam(encoder_view="window_norm", decoder_level_input=level_input)
    params = perturbed_init(model, z)
    if level_input:
      params["level_direction"] = jnp.asarray(direction)
    decode = jax.jit(lambda p, x: model.apply({"params": p}, x, mask, no_action, method=LatentActionModel.decode))
    before, after = decode(params, z), decode(params, louder)
    moved[level_input] = float(np.abs(np.asarray(before - after))[mask].max())
  assert moved[True] > 1e-3 and moved[False] < 1e-5, moved


def test_level_direction_is_the_training_latents_first_principal_component(tmp_path):
  latent_dir = write_fake_latents(tmp_path / "latents", latent_dim=C)
  for i in range(3):   # make channel 2 dominate the training frames
    path = tmp_path / "latents" / "shards" / f"rec{i}.npy"
    z = np.load(path)
    z[:, 2] += 10.0 * np.sin(np.arange(len(z)) / 7.0 + i)
    np.save(path, z)
  direction = level_direction(str(latent_dir))
  assert abs(abs(float(direction[2])) - 1.0) < 1e-2 and abs(np.linalg.norm(direction) - 1.0) < 1e-5
  config = synthetic_config()
  config.data.latent_dir, config.model.decoder_level_input = str(latent_dir), True
  task = LamTask(config)
  task.prepare()
  params = jax.jit(task.init_params)(jax.random.key(0), {"latents": np.zeros((1, S * R, C), np.float32)})
  np.testing.assert_allclose(params["level_direction"], direction)


def test_window_std_weighting_divides_each_channel_by_its_variance():
  t = np.arange(8, dtype=np.float32)
  target = np.stack([t, 10 * t + 7.0], axis=-1)[None]          # (1, 8, 2): variances 5.25 and 525
  weights = np.asarray(window_channel_weights(jnp.asarray(target), "window_std"))
  np.testing.assert_allclose(weights[0, 0], [1 / 5.25, 1 / 525], rtol=1e-5)
  assert window_channel_weights(jnp.asarray(target), "none") is None
  prediction = target + np.array([1.0, 10.0], np.float32)       # the same error relative to each channel's spread
  mask = np.ones((1, 8), bool)
  err, count = hidden_squared_error(prediction, target, mask, weights)
  np.testing.assert_allclose(float(err[0]), 8 * (1 / 5.25 + 100 / 525), rtol=1e-5)
  assert float(count[0]) == 16


def test_step_means_loss_ignores_detail_inside_a_step():
  """In the step_means loss space a prediction off by zero-mean wiggles inside each step costs nothing; in the
  frames space it does."""
  z, _ = synthetic_latents(np.random.default_rng(4), 4)
  np.testing.assert_allclose(step_means(jnp.asarray(z), R), z.reshape(4, S, R, C).mean(axis=2), rtol=1e-6)
  wiggle = np.tile(np.array([1.0, -1.0, 2.0, -2.0], np.float32)[:R, None], (S, C))[None]
  config = synthetic_config()
  config.action_dropout = 0.0
  task = LamTask(config)
  params = jax.jit(task.init_params)(jax.random.key(0), {"latents": z})
  losses = {}
  for space in ("frames", "step_means"):
    config.loss_space = space
    aux = {"loss": 0.0, "commitment_loss": 0.0, "codebook_loss": 0.0, "usage": 0.0, "perplexity": 0.0,
           "usage_ema": jnp.zeros(8), "encodings": 0, "counts": 0}
    with pytest.MonkeyPatch.context() as patch:  # a "model" whose prediction is the target plus the wiggles
      patch.setattr(LatentActionModel, "apply", lambda self, variables, x, mask, drop: (jnp.asarray(z + wiggle), aux))
      losses[space] = float(task.loss(params, {"latents": z}, jax.random.key(1), 0)[1]["train/recon_loss"])
  assert losses["step_means"] < 1e-10 and losses["frames"] > 1.0, losses


def test_eval_metrics_reduction():
  codes = np.array([[0, 0, 1, 1], [2, 2, 0, 0]])
  shifted = np.array([[0, 1, 1, 1], [2, 2, 0, 3]])
  errors = {"inferred": np.array([1.0, 1.0]), "random": np.array([4.0, 4.0]), "none": np.array([2.0, 2.0])}
  m = lam_eval_metrics(codes, shifted, errors, np.array([2.0, 2.0]), num_actions=8, frames_per_action=4)
  assert m["eval/lam/hidden_error_inferred"] == 0.5 and m["eval/lam/controllability_gap"] == 4.0
  assert m["eval/lam/codebook_usage"] == 3 / 8 and m["eval/lam/stability"] == 6 / 8
  np.testing.assert_allclose(m["eval/lam/perplexity"], np.exp(-(0.5 * np.log(0.5) + 2 * 0.25 * np.log(0.25))))
  np.testing.assert_allclose(m["eval/lam/stability_chance"], 0.25 + 2 * 0.0625)
  # One frame per step: shifted step s is step s + 1 of the window.
  m1 = lam_eval_metrics(codes, np.array([[0, 1, 1, 5], [2, 0, 0, 5]]), errors, np.ones(2), 8, 1)
  assert m1["eval/lam/stability"] == 1.0


TINY_LATENT_DIM = lam_config.get_config("tiny").data.latent_dim  # the CPU tokenizer's, 50 frames/s


def write_fake_latents(latent_dir, latent_dim=TINY_LATENT_DIM, frame_rate=50.0, frames=200):
  rng = np.random.default_rng(0)
  for i, split in enumerate(["train", "train", "train", "validation"]):
    z = np.cumsum(0.1 * rng.normal(size=(frames, latent_dim)), axis=0).astype(np.float32)
    latent_store.write_shard(latent_dir, f"rec{i}", f"rec{i}.wav", split, z)
  latent_store.write_meta(latent_dir, {"frame_rate": frame_rate, "latent_dim": latent_dim,
                                       "tokenizer_workdir": "fake", "tokenizer_step": 0, "dataset_dir": "fake"})
  return latent_dir


def test_latent_dir_errors_name_the_command(tmp_path):
  config = lam_config.get_config("tiny")
  config.init.tokenizer.workdir = str(tmp_path / "no_tokenizer")
  with pytest.raises(FileNotFoundError, match="launch/train.py --config configs/tokenizer.py"):
    prepare_latents(config)
  config.data.latent_dir = str(write_fake_latents(tmp_path / "latents", latent_dim=8))
  with pytest.raises(ValueError, match=f"latent_dim=8 at 50.0 frames/s.*expects latent_dim={TINY_LATENT_DIM}"):
    prepare_latents(config)
  config.data.latent_dir = str(tmp_path / "empty")
  with pytest.raises(FileNotFoundError, match="launch/encode.py"):
    prepare_latents(config)


def test_missing_latents_are_encoded_once_after_checking_the_tokenizer(tmp_path, monkeypatch):
  tokenizer_dir = tmp_path / "tok"
  (tokenizer_dir / "checkpoints").mkdir(parents=True)
  calls = []
  fake_tokenizer = types.SimpleNamespace(latent_dim=TINY_LATENT_DIM, total_stride=320)  # 50 frames/s
  def encode_dataset(workdir, output_dir=None):
    calls.append((workdir, output_dir))
    return str(write_fake_latents(output_dir))
  monkeypatch.setattr(lam_task.trained_run, "check_run", lambda workdir, *args: types.SimpleNamespace(task="tokenizer"))
  monkeypatch.setattr(lam_task.trained_run, "build_model", lambda config: fake_tokenizer)
  monkeypatch.setattr(lam_task.encoding, "encode_dataset", encode_dataset)
  config = lam_config.get_config("tiny")
  config.init.tokenizer.workdir = str(tokenizer_dir)
  fake_tokenizer.latent_dim = 20
  with pytest.raises(ValueError, match="tokenizer run .* latent_dim=20"):
    prepare_latents(config)  # checked before encoding anything
  assert not calls
  fake_tokenizer.latent_dim = TINY_LATENT_DIM
  latent_dir = prepare_latents(config)
  assert latent_dir == str(tokenizer_dir.absolute() / "latents") and len(calls) == 1
  assert prepare_latents(config) == latent_dir and len(calls) == 1  # complete latents are reused


def test_the_latents_are_read_only_after_prepare(tmp_path):
  config = lam_config.get_config("tiny")
  config.data.latent_dir = str(write_fake_latents(tmp_path / "latents"))
  task = LamTask(config)
  with pytest.raises(RuntimeError, match=r"LamTask.prepare\(\) has not run"):
    _ = task.latent_dir
  task.prepare()
  assert task.latent_dir == config.data.latent_dir


def test_validate_config_names_the_field():
  config = lam_config.get_config("tiny")
  config.data.window_frames = 85
  with pytest.raises(ValueError, match="data.window_frames=85"):
    LamTask.validate_config(config)
  config = lam_config.get_config("tiny")
  config.vq.dead_threshold = 0.2
  with pytest.raises(ValueError, match="vq.dead_threshold"):
    LamTask.validate_config(config)
  config = lam_config.get_config("tiny")
  config.model.encoder_view = "spectrum"
  with pytest.raises(ValueError, match="model.encoder_view='spectrum'"):
    LamTask.validate_config(config)
  config = lam_config.get_config("tiny")
  config.model.encoder_attention = "future"
  with pytest.raises(ValueError, match="model.encoder_attention='future'"):
    LamTask.validate_config(config)
  config = lam_config.get_config("tiny")
  with config.model.ignore_type():   # e.g. a config.json edited by hand
    config.model.decoder_level_input = "yes"
  with pytest.raises(ValueError, match="model.decoder_level_input='yes'"):
    LamTask.validate_config(config)
  config = lam_config.get_config("tiny")
  config.loss_space = "bars"
  with pytest.raises(ValueError, match="loss_space='bars'"):
    LamTask.validate_config(config)
  config = lam_config.get_config("tiny")
  config.loss_weighting = "loud"
  with pytest.raises(ValueError, match="loss_weighting='loud'"):
    LamTask.validate_config(config)


def test_checkpoints_from_before_the_stats_fail_clearly(tmp_path):
  """The old layout (usage EMA among the LAM's params, no `stats`) is neither resumed nor read as params."""
  import orbax.checkpoint as ocp
  old = {"step": np.int32(3), "params": {"vq": {"codebook": np.ones((4, 2), np.float32),
                                                "usage_ema": np.full((4,), 0.25, np.float32)}}}
  ckpt = checkpoint.Checkpointer(tmp_path, use_async=False)
  ckpt.manager.save(3, args=ocp.args.Composite(state=ocp.args.StandardSave(old)))
  ckpt.close()
  reader = checkpoint.Checkpointer(tmp_path, read_only=True)
  with pytest.raises(ValueError, match="keeps the VQ usage EMA among its params.*train the LAM run again"):
    reader.read_state()
  with pytest.raises(ValueError, match="cannot be resumed"):
    reader.restore(jax.eval_shape(lambda: {"step": jnp.int32(0), "params": {}, "stats": {}}))
