"""The shared loop on the toy stage: sharding equivalence, resume, non-finite guard, EMA, upstream params."""

import logging

import jax
import numpy as np
import pytest

from genie_audio.testing import fake_data, runs
from genie_audio.testing.toy_task import ToyTask
from genie_audio.training import checkpoint, loop
from genie_audio.training.metrics import read_metrics


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
  return fake_data.write_fake_dataset(tmp_path_factory.mktemp("data"), recordings=4, seconds=3.0)


def losses(workdir):
  return {step: m["train/loss"] for step, m in read_metrics(workdir).items() if "train/loss" in m}


def test_sharded_2x4_mesh_matches_one_device(dataset, tmp_path):
  config = runs.toy(dataset, total_steps=10, **{"mesh.data": 2, "mesh.fsdp": 4})
  loop.train(config, tmp_path / "sharded", ToyTask)
  single = runs.toy(dataset, total_steps=10, **{"mesh.data": 1, "mesh.fsdp": 1})
  loop.train(single, tmp_path / "single", ToyTask, devices=jax.devices()[:1])
  sharded_losses, single_losses = losses(tmp_path / "sharded"), losses(tmp_path / "single")
  assert sorted(sharded_losses) == list(range(1, 11))
  np.testing.assert_allclose([sharded_losses[s] for s in range(1, 11)],
                             [single_losses[s] for s in range(1, 11)], rtol=1e-5, atol=1e-7)
  assert sharded_losses[10] < sharded_losses[1]  # and it learns


def test_resume_continues_to_total_steps_and_checkpoints_last(dataset, tmp_path):
  # A constant learning rate after warm-up, so extending total_steps does not change the schedule.
  flat = {"optim.final_lr_fraction": 1.0}
  loop.train(runs.toy(dataset, total_steps=7, **flat), tmp_path, ToyTask)
  assert checkpoint.Checkpointer(tmp_path).latest_step() == 7  # last step checkpointed though not a multiple
  loop.train(runs.toy(dataset, total_steps=12, **flat), tmp_path, ToyTask)
  resumed = losses(tmp_path)
  loop.train(runs.toy(dataset, total_steps=12, **flat), tmp_path / "straight", ToyTask)
  straight = losses(tmp_path / "straight")
  assert sorted(resumed) == list(range(1, 13))
  np.testing.assert_array_equal([resumed[s] for s in range(8, 13)], [straight[s] for s in range(8, 13)])


def test_nonfinite_loss_stops_naming_the_step(dataset, tmp_path):
  config = runs.toy(dataset, total_steps=3, loss_scale=float("nan"))
  with pytest.raises(loop.NonFiniteLossError, match="at step 0"):
    loop.train(config, tmp_path, ToyTask)


def test_nonfinite_skip_mode_keeps_params_and_counts(dataset, tmp_path):
  config = runs.toy(dataset, total_steps=3, loss_scale=float("nan"), nonfinite="skip")
  metrics = loop.train(config, tmp_path, ToyTask)
  assert metrics["train/nonfinite_steps"] == 3
  ckpt = checkpoint.Checkpointer(tmp_path, read_only=True)
  params = ckpt.read_state(3)["params"]
  assert all(np.isfinite(leaf).all() for leaf in jax.tree.leaves(params))


def test_ema_tracks_params(dataset, tmp_path):
  loop.train(runs.toy(dataset, total_steps=4, ema_decay=0.5), tmp_path, ToyTask)
  state = checkpoint.Checkpointer(tmp_path, read_only=True).read_state(4)
  kernel, ema = state["params"]["Dense_0"]["kernel"], state["ema_params"]["Dense_0"]["kernel"]
  assert not np.array_equal(kernel, ema) and np.abs(kernel - ema).max() < 0.1


class _FromUpstream(ToyTask):
  upstream_dir = None

  def upstream_params(self, abstract_params):
    return checkpoint.Checkpointer(self.upstream_dir, read_only=True).restore_params(abstract_params)


def test_upstream_params_start_a_new_run(dataset, tmp_path):
  loop.train(runs.toy(dataset, total_steps=5), tmp_path / "short", ToyTask)
  _FromUpstream.upstream_dir = tmp_path / "short"
  # With EMA on: params and EMA start from the same upstream values but must not share buffers.
  loop.train(runs.toy(dataset, total_steps=1, ema_decay=0.9, **{"optim.lr": 1e-12}), tmp_path / "long",
             _FromUpstream)
  short = checkpoint.Checkpointer(tmp_path / "short", read_only=True).read_state(5)["params"]
  long = checkpoint.Checkpointer(tmp_path / "long", read_only=True).read_state(1)["params"]
  np.testing.assert_allclose(short["Dense_0"]["kernel"], long["Dense_0"]["kernel"], atol=1e-6)


def test_the_loop_prepares_the_task_once_before_reading_data(dataset, tmp_path):
  calls = []

  class Recorded(ToyTask):
    def prepare(self):
      calls.append("prepare")

    def train_data(self, *args):
      calls.append("train_data")
      return super().train_data(*args)

  loop.train(runs.toy(dataset, total_steps=1), tmp_path, Recorded)
  assert calls == ["prepare", "train_data"]


def test_opening_a_run_read_only_logs_no_orbax_notes(tmp_path, caplog):
  import orbax.checkpoint as ocp
  writer = checkpoint.Checkpointer(tmp_path, use_async=False)
  state = {"step": np.int32(1), "params": {"w": np.ones(3, np.float32)}, "stats": {}}
  writer.manager.save(1, args=ocp.args.Composite(state=ocp.args.StandardSave(state)))
  writer.close()
  caplog.set_level(logging.INFO)
  for _ in range(3):  # as an evaluation does, many times
    checkpoint.Checkpointer(tmp_path, read_only=True).read_state()
  assert not [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
  logging.getLogger("absl").warning("Given directory is read only=%s", "elsewhere")  # filtered only while opening
  assert any("elsewhere" in r.getMessage() for r in caplog.records)
