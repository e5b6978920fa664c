"""Test setup: 8 fake CPU devices (so a real (2, 4) mesh partitions), float32 matmuls, repo on sys.path, and
XLA's CPU code generation without LLVM optimisation, and one persistent compilation cache for the whole session
(all set in the environment, so xdist workers and the tests' subprocesses share them)."""

import atexit
import os
import shutil
import sys
import tempfile

# Must happen before jax is imported anywhere.
# The tests compile far more than they compute: unoptimised code generation halves the compile CPU time
# (test_codec + test_dcae 191 -> 93 CPU s, test_lam + test_dynamics 424 -> 267), the few longer trainings
# run a little slower. Results stay within the tests' tolerances (exact-equality tests included).
os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=8"
                           " --xla_backend_optimization_level=0").strip()
os.environ.setdefault("JAX_PLATFORMS", "cpu")
# Many tests compile the same programs (a run and its resume, a command and its subprocess twin): the second
# compile is read from disk (a LAM run plus its resume: 75 -> 65 s). The first process to load this file (the xdist
# controller) makes the folder, the workers inherit it, and it goes when that process ends.
if "JAX_COMPILATION_CACHE_DIR" not in os.environ:
  os.environ["JAX_COMPILATION_CACHE_DIR"] = tempfile.mkdtemp(prefix="genie-audio-jax-cache-")
  atexit.register(shutil.rmtree, os.environ["JAX_COMPILATION_CACHE_DIR"], ignore_errors=True)
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0.2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


# pytest-xdist (launch/test.sh: --dist loadfile --no-loadscope-reorder) hands whole files to the workers in this
# order, so the slowest files start first and the workers end together. The first builds the shared pipeline
# (tests/fixtures_pipeline.py) while the second runs files that do not need it. Measured on 2 cores, slowest first.
_SLOW_FIRST = ("test_edit_pipeline.py", "test_tokenizer_model.py", "test_ablations.py", "test_multiprocess.py",
               "test_lam.py", "test_tokenizer_commands.py", "test_benchmarks.py", "test_inpainting.py",
               "test_launch.py", "test_sharding.py", "test_notebooks.py", "test_trainer.py", "test_codec.py",
               "test_app.py", "test_experiments.py")


def pytest_collection_modifyitems(items):
  rank = {name: i for i, name in enumerate(_SLOW_FIRST)}
  items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: the rest keep their order
