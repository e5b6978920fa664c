"""launch/train.py as a user runs it: SIGKILL and resume, two processes, SIGTERM, config errors."""

import os
import signal
import subprocess
import time

import numpy as np
import pytest

from genie_audio.testing import fake_data, runs
from genie_audio.testing.toy_task import ToyTask
from genie_audio.training import checkpoint, loop
from genie_audio.training.metrics import read_metrics

TOY = "genie_audio/testing/toy_config.py"


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
  return fake_data.write_fake_dataset(tmp_path_factory.mktemp("data"), recordings=4, seconds=3.0)


def losses(workdir):
  return {s: m["train/loss"] for s, m in read_metrics(workdir).items() if "train/loss" in m}


def _start(workdir, *overrides, device_count=1):
  return subprocess.Popen(runs.launch_command(TOY, workdir, *overrides), env=runs.launch_env(device_count),
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=runs.REPO_ROOT)


def _wait_for_checkpoint(process, workdir, min_step, timeout=120):
  deadline = time.time() + timeout
  while time.time() < deadline and process.poll() is None:
    step = checkpoint.Checkpointer(workdir, read_only=True).latest_step()
    if step is not None and step >= min_step:
      return step
    time.sleep(0.05)
  raise AssertionError(f"no checkpoint >= {min_step} while running: {process.communicate()[0][-2000:]}")


def test_sigkill_mid_training_then_resume_gives_identical_losses(dataset, tmp_path):
  overrides = (f"--config.data.dataset_dir={dataset}", "--config.total_steps=60",
               "--config.checkpoint_every_steps=10", "--config.data.read_delay_s=0.03")
  process = _start(tmp_path / "killed", *overrides)
  _wait_for_checkpoint(process, tmp_path / "killed", 20)
  process.send_signal(signal.SIGKILL)
  process.wait()
  killed_at = max(losses(tmp_path / "killed"))
  assert killed_at < 60, "the run finished before it could be killed"
  resumed = runs.run_launch(TOY, tmp_path / "killed", *overrides)
  assert resumed.returncode == 0, resumed.stderr[-3000:]
  straight = runs.run_launch(TOY, tmp_path / "straight", *overrides)
  assert straight.returncode == 0, straight.stderr[-3000:]
  got, want = losses(tmp_path / "killed"), losses(tmp_path / "straight")
  assert sorted(got) == sorted(want) == list(range(1, 61))
  np.testing.assert_array_equal([got[s] for s in range(1, 61)], [want[s] for s in range(1, 61)])


def test_sigterm_saves_and_exits_cleanly(dataset, tmp_path):
  process = _start(tmp_path, f"--config.data.dataset_dir={dataset}", "--config.total_steps=500",
                   "--config.checkpoint_every_steps=1000", "--config.data.read_delay_s=0.03")
  while process.poll() is None and not losses(tmp_path):
    time.sleep(0.05)
  process.send_signal(signal.SIGTERM)
  output = process.communicate(timeout=60)[0]
  assert process.returncode == 0, output[-3000:]
  saved = checkpoint.Checkpointer(tmp_path, read_only=True).latest_step()
  assert saved is not None and 0 < saved < 500 and saved == max(losses(tmp_path))


def test_two_processes_start_from_upstream_and_stop_together_when_one_gets_sigterm(dataset, tmp_path):
  # Starting from an upstream run (as a progressive tokenizer does) makes config validation open its checkpoints
  # before training: the processes must have joined `jax.distributed` before that touches JAX.
  upstream = tmp_path / "upstream"
  loop.train(runs.toy(dataset, total_steps=1, checkpoint_every_steps=1, async_checkpoints=False), upstream,
             ToyTask)
  common = (f"--config.data.dataset_dir={dataset}", "--config.total_steps=500", f"--config.init.workdir={upstream}",
            "--config.checkpoint_every_steps=1000", "--config.data.read_delay_s=0.03",
            "--config.distributed.num_processes=2",
            f"--config.distributed.coordinator_address={runs.coordinator_address()}")
  processes = [_start(tmp_path, *common, f"--config.distributed.process_id={i}", device_count=2)
               for i in range(2)]
  while all(p.poll() is None for p in processes) and len(losses(tmp_path)) < 2:
    time.sleep(0.05)
  processes[1].send_signal(signal.SIGTERM)  # only one of them: both must save the same step and exit
  outputs = [out for out, _ in runs.outputs_of(processes, timeout=120)]
  assert [p.returncode for p in processes] == [0, 0], outputs[0][-2000:] + outputs[1][-2000:]
  assert "started from upstream params" in outputs[0]
  saved = checkpoint.Checkpointer(tmp_path, read_only=True).latest_step()
  assert saved is not None and 2 <= saved < 500
  assert sorted(losses(tmp_path)) == list(range(1, saved + 1))
  data_state = tmp_path / "checkpoints" / str(saved) / "data"
  assert sorted(p.name for p in data_state.glob("process_*")) == ["process_0-of-2.json", "process_1-of-2.json"]


def test_an_unreachable_coordinator_fails_naming_the_fields_before_any_work(dataset, tmp_path):
  result = runs.run_launch(TOY, tmp_path / "run", f"--config.data.dataset_dir={dataset}",
                           "--config.distributed.num_processes=2", "--config.distributed.process_id=1",
                           # a free port: nobody listens there
                           f"--config.distributed.coordinator_address={runs.coordinator_address()}",
                           "--config.distributed.timeout_s=2", timeout=120)
  assert result.returncode != 0
  assert "could not join the process group" in result.stderr and "timeout_s=2" in result.stderr
  assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("override, message", [
    ("--config.optim.lrr=1", "lrr"),
    ("--config.nonfinite=maybe", "config.nonfinite='maybe'"),
    ("--config.batch_size=0", "config.batch_size=0"),
    ("--config.total_steps=ten", "total_steps"),
])
def test_config_errors_name_the_field_before_any_work(tmp_path, override, message):
  result = runs.run_launch(TOY, tmp_path / "run", override)
  assert result.returncode != 0
  assert message in result.stderr
  assert not (tmp_path / "run").exists()  # failed before creating anything


def test_path_fields_become_absolute():
  from configs import common
  config = runs.toy("data/rel")
  config.init = {"lam": {"workdir": "runs/lam"}, "empty": {"workdir": ""}}
  common.absolutize_paths(config)
  assert config.data.dataset_dir == os.path.join(os.getcwd(), "data", "rel")
  assert config.init.lam.workdir.endswith("/runs/lam") and config.init.lam.workdir.startswith("/")
  assert config.init.empty.workdir == ""  # empty means "derive it", not the current folder
