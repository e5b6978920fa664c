"""Every stage trained by two processes (`jax.distributed` over localhost), as on a multi-host slice, on the shared
micro pipeline: a progressive tokenizer from the pipeline's tokenizer, the LAM on that tokenizer (its encoding
shared out, one process killed with SIGKILL mid-run, then resumed), and the dynamics model on the pipeline's LAM
(its labelling shared out). Each run ends with its evaluation on the processes' common mesh."""

import json
import signal
import subprocess
import time
from pathlib import Path

import jax
import numpy as np
import pytest

from genie_audio.data import action_labels
from genie_audio.data import latents as latent_store
from genie_audio.runs import encoding, run, trained_run
from genie_audio.testing import pipeline_config, runs
from genie_audio.training import checkpoint
from genie_audio.training.metrics import read_metrics

pytest_plugins = ["fixtures_pipeline"]

# Two processes with 2 fake devices each: one (data 2, fsdp 2) mesh over both, as two hosts of 2 chips would have
# (4 devices each cost a fifth more time for the same checks).
_TWO_HOSTS = ("--config.mesh.data=2", "--config.mesh.fsdp=2", "--config.async_checkpoints=False",
              "--config.distributed.num_processes=2")


def _start_pair(spec: str, workdir, *overrides: str, devices_per_process: int = 2) -> list[subprocess.Popen]:
  address = f"--config.distributed.coordinator_address={runs.coordinator_address()}"
  return [subprocess.Popen(runs.launch_command(spec, workdir, *overrides, address,
                                               f"--config.distributed.process_id={i}"),
                           env=runs.launch_env(devices_per_process), stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, cwd=runs.REPO_ROOT) for i in range(2)]


def _finish(processes: list[subprocess.Popen], timeout: float = 300) -> list[str]:
  outputs = [out for out, _ in runs.outputs_of(processes, timeout=timeout)]
  assert [p.returncode for p in processes] == [0, 0], _report(outputs)
  return outputs


def _report(outputs: list[str]) -> str:
  """What each process printed from its first error on (a fatal abort's module list cut off), for a failure."""
  parts = []
  for i, out in enumerate(outputs):
    lines = (out or "").splitlines()
    first = next((n for n, line in enumerate(lines) if "Error" in line or "Fatal" in line), max(len(lines) - 30, 0))
    shown = "\n".join(line for line in lines[first:first + 40] if not line.startswith("Extension modules"))
    parts.append(f"--- process {i} ---\n{shown}")
  return "\n".join(parts)


def _losses(workdir) -> dict[int, float]:
  return {s: m["train/loss"] for s, m in read_metrics(workdir).items() if "train/loss" in m}


@pytest.fixture(scope="module")
def progressive_tokenizer(pipeline_runs, tmp_path_factory):
  """A tokenizer run trained by two processes from the pipeline's tokenizer, its decoder only; no latents yet."""
  workdir = tmp_path_factory.mktemp("two_process_runs") / "tokenizer"
  _finish(_start_pair(pipeline_config.spec("tokenizer", pipeline_runs["dataset"]), workdir, *_TWO_HOSTS,
                      f"--config.init.workdir={pipeline_runs['tokenizer']}", "--config.optim.trainable=^decoder/",
                      "--config.ema_decay=0.9", "--config.batch_size=8", "--config.log_every_steps=1"))
  return workdir


def test_two_processes_train_a_progressive_tokenizer_from_upstream(pipeline_runs, progressive_tokenizer):
  assert checkpoint.Checkpointer(progressive_tokenizer, read_only=True).latest_step() == 2
  metrics = read_metrics(progressive_tokenizer)
  assert sorted(s for s, m in metrics.items() if "train/loss" in m) == [1, 2]
  assert all(np.isfinite(metrics[s]["train/loss"]) for s in (1, 2))
  assert 0 <= metrics[2]["train/synced_fraction"] <= 1
  for name in ("recon", "baseline_silence", "baseline_lowpass", "baseline_envelope_vocoder"):
    for metric in ("mel_distance", "si_sdr", "lsd", "chroma_similarity", "chroma_correlation"):
      assert np.isfinite(metrics[2][f"eval/{name}/{metric}"]), (name, metric)
  start = run.load_params(pipeline_runs["tokenizer"], ema=False)
  for ema in (False, True):  # params and EMA both start from upstream; only the decoder moves
    trained = run.load_params(progressive_tokenizer, ema=ema)
    for (path, a), (_, b) in zip(jax.tree_util.tree_flatten_with_path(start)[0],
                                 jax.tree_util.tree_flatten_with_path(trained)[0]):
      if jax.tree_util.keystr(path).startswith("['encoder']"):
        # The EMA of a frozen param is the param up to rounding (0.9 p + 0.1 p).
        np.testing.assert_allclose(a, b, rtol=1e-6 if ema else 0, atol=0, err_msg=jax.tree_util.keystr(path))
    assert not np.allclose(start["decoder"]["out"]["kernel"], trained["decoder"]["out"]["kernel"])


def test_two_processes_encode_their_shares_and_a_killed_lam_run_resumes_exactly(progressive_tokenizer, tmp_path):
  workdir = tmp_path / "lam"
  overrides = (*_TWO_HOSTS, "--config.total_steps=6", "--config.checkpoint_every_steps=2",
               "--config.eval_every_steps=6", "--config.log_every_steps=1", "--config.shard_min_size=64",
               "--config.optim.weight_decay=1.0",  # would visibly shrink the usage EMA if the optimizer saw it
               "--config.optim.final_lr_fraction=1.0")
  spec = pipeline_config.spec("lam", progressive_tokenizer)
  pair = _start_pair(spec, workdir, *overrides)
  # Kill process 1 once a step past the last checkpoint is logged: the steps logged after that checkpoint are
  # the uninterrupted run's, which the resumed pair must repeat. Its peer cannot go on without it; on a cluster
  # the scheduler ends the job's other processes, as done here.
  deadline = time.time() + 600   # generous: a loaded 2-core machine takes minutes to encode and compile
  while time.time() < deadline and all(p.poll() is None for p in pair):
    saved = checkpoint.Checkpointer(workdir, read_only=True).latest_step()
    if saved is not None and max(_losses(workdir), default=0) > saved:
      break
    time.sleep(0.02)
  for process in reversed(pair):
    process.send_signal(signal.SIGKILL)
  outputs = [out for out, _ in runs.outputs_of(pair, timeout=60)]
  uninterrupted = _losses(workdir)
  killed_at = max(uninterrupted, default=0)
  resumed_from = checkpoint.Checkpointer(workdir, read_only=True).latest_step()
  assert resumed_from is not None and resumed_from < killed_at < 6, (killed_at, resumed_from, _report(outputs))

  _finish(_start_pair(spec, workdir, *overrides))
  resumed = _losses(workdir)
  assert sorted(resumed) == list(range(1, 7)) and all(np.isfinite(list(resumed.values())))
  repeated = range(resumed_from + 1, killed_at + 1)
  np.testing.assert_array_equal([resumed[s] for s in repeated], [uninterrupted[s] for s in repeated])
  metrics = read_metrics(workdir)
  assert metrics[6]["eval/lam/controllability_gap"] > 0 and 0 <= metrics[6]["eval/lam/stability"] <= 1
  state = checkpoint.Checkpointer(workdir, read_only=True).read_state(6)
  # The VQ usage EMA is a distribution over codes saved with the state, untouched by weight decay.
  np.testing.assert_allclose(state["stats"]["vq"]["usage_ema"].sum(), 1.0, atol=1e-5)
  paths = [jax.tree_util.keystr(path) for path, _ in jax.tree_util.tree_flatten_with_path(state)[0]]
  assert [path for path in paths if "usage_ema" in path] == ["['stats']['vq']['usage_ema']"]  # no moments, no EMA

  # The latents the two processes encoded (each its share, gathered by process 0) are one process's.
  shared_dir = Path(trained_run.default_latent_dir(progressive_tokenizer))
  alone_dir = Path(encoding.encode_dataset(progressive_tokenizer, tmp_path / "alone", progress=False))
  shared = {e.source: e for e in latent_store.read_entries(shared_dir)}
  alone = {e.source: e for e in latent_store.read_entries(alone_dir)}
  assert shared.keys() == alone.keys() and len(alone) > 1
  for source, entry in alone.items():  # equal up to float rounding
    np.testing.assert_allclose(np.load(shared_dir / shared[source].shard), np.load(alone_dir / entry.shard),
                               rtol=1e-5, atol=1e-5)


def test_two_processes_label_their_shares_and_train_the_dynamics_model(pipeline_runs, tmp_path):
  _finish(_start_pair(pipeline_config.spec("dynamics", pipeline_runs["lam"]), tmp_path, *_TWO_HOSTS,
                      "--config.shard_min_size=64",
                      # The evaluation after the last step, split over both processes' devices, kept small.
                      "--config.eval.num_windows=8", "--config.eval.batch_size=8", "--config.edit.num_steps=1"))
  assert checkpoint.Checkpointer(tmp_path, read_only=True).latest_step() == 2
  metrics = read_metrics(tmp_path)
  assert all(np.isfinite(metrics[s]["train/flow_loss"]) for s in (1, 2))
  assert metrics[2]["eval/dyn/chance"] == 0.25 and 0 <= metrics[2]["eval/dyn/action_accuracy_g2"] <= 1
  assert np.isfinite(metrics[2]["eval/dyn/inpaint_error"])
  assert checkpoint.Checkpointer(tmp_path, read_only=True).read_state(2)["ema_params"] is not None
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
