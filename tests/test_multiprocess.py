"""A later stage trained by two processes (`jax.distributed` over localhost, one CPU device each): the dynamics
model from the shared tiny pipeline's LAM, the recordings' labelling shared out between the processes, and the
evaluation after the last step on the processes' common mesh."""

import json
import subprocess

import numpy as np

from genie_audio.data import action_labels
from genie_audio.testing import pipeline, runs
from genie_audio.training import checkpoint

pytest_plugins = ["fixtures_pipeline"]


def test_two_processes_label_their_shares_and_train_the_dynamics_model(pipeline_runs, tmp_path):
  address = runs.coordinator_address()
  micro = pipeline.dynamics_config(pipeline_runs["lam"])  # the pipeline's sizes, as command-line overrides
  overrides = [f"--config.init.lam.workdir={pipeline_runs['lam']}",
               f"--config.data.window_frames={micro.data.window_frames}", f"--config.model.dim={micro.model.dim}",
               f"--config.model.depth={micro.model.depth}", f"--config.model.num_heads={micro.model.num_heads}",
               "--config.total_steps=2", "--config.batch_size=8",
               "--config.log_every_steps=1", "--config.checkpoint_every_steps=2",
               # The evaluation after the last step runs on both processes too, as small as it gets.
               "--config.eval.num_windows=2", "--config.eval.batch_size=2", "--config.edit.num_steps=1",
               "--config.async_checkpoints=False", "--config.distributed.num_processes=2",
               f"--config.distributed.coordinator_address={address}"]
  processes = [subprocess.Popen(runs.launch_command("configs/dynamics.py:tiny", tmp_path, *overrides,
                                                    f"--config.distributed.process_id={i}"),
                                env=runs.launch_env(1), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                cwd=runs.REPO_ROOT) for i in range(2)]
  outputs = [out for out, _ in runs.outputs_of(processes, timeout=300)]
  assert [p.returncode for p in processes] == [0, 0], outputs[0][-3000:] + outputs[1][-3000:]
  assert checkpoint.Checkpointer(tmp_path, read_only=True).latest_step() == 2
  # The gathered labels are those one process made for the pipeline's own dynamics run, for the same LAM.
  shared_key, shared = _labels(tmp_path / "action_labels.npz")
  alone_key, alone = _labels(pipeline_runs["dynamics"] / "action_labels.npz")
  assert shared_key == alone_key and shared.keys() == alone.keys()
  for name, codes in alone.items():
    np.testing.assert_array_equal(shared[name], codes)


def _labels(path):
  """(the cache's key, the labels it holds)."""
  with np.load(path) as cached:
    key = json.loads(str(cached["meta"]))
  return key, action_labels.read_labels(path, key)
