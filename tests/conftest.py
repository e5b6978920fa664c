"""Test setup: 8 fake CPU devices (so a real (2, 4) mesh partitions), float32 matmuls, repo on sys.path, and
XLA's CPU code generation without LLVM optimisation (environment, so subprocesses of the tests get it too)."""

import os
import sys

# Must happen before jax is imported anywhere.
# The tests compile far more than they compute: unoptimised code generation halves the compile CPU time
# (test_codec + test_dcae 191 -> 93 CPU s, test_lam + test_dynamics 424 -> 267), the few longer trainings
# run a little slower. Results stay within the tests' tolerances (exact-equality tests included).
os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=8"
                           " --xla_backend_optimization_level=0").strip()
os.environ.setdefault("JAX_PLATFORMS", "cpu")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
