"""FLOP accounting: XLA's cost analysis of a compiled step, a measured matmul peak, and achieved fraction (MFU).

The peak is measured, not looked up from a spec sheet, so the fraction reads "how close to what this backend
really does on a large dense matmul at this dtype", which is meaningful on CPU test machines as well as GPUs/TPUs.
"""

import time
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np


def _flops_from_cost(cost: Any) -> float | None:
  # jax < 0.4.30 returned a list with one dict per computation/device; newer versions return one dict (or None).
  if cost is None:
    return None
  if isinstance(cost, (list, tuple)):
    values = [_flops_from_cost(c) for c in cost]
    values = [v for v in values if v is not None]
    return float(sum(values)) if values else None
  if hasattr(cost, "get"):
    flops = cost.get("flops")
    if flops is None or not np.isfinite(flops) or flops < 0:
      return None
    return float(flops)
  return None


def compiled_flops(compiled: Any) -> float | None:
  """FLOPs of one call of an already compiled program (`jit(...).lower(...).compile()`), or None if unknown."""
  try:
    cost = compiled.cost_analysis()
  except Exception:  # Some backends/plugins do not implement cost analysis; report "unknown", not a crash.
    return None
  return _flops_from_cost(cost)


def step_flops(jitted_fn: Callable[..., Any], *args: Any, **kwargs: Any) -> float | None:
  """FLOPs of one call of `jitted_fn(*args, **kwargs)` per XLA's cost analysis, or None if unavailable.

  The function is lowered and compiled for these argument shapes (nothing is executed). A plain function is
  jitted first. Counts are of the optimised HLO for the whole program, i.e. summed over devices when sharded.
  """
  fn = jitted_fn if hasattr(jitted_fn, "lower") else jax.jit(jitted_fn)
  return compiled_flops(fn.lower(*args, **kwargs).compile())


def measure_matmul_peak(dtype: Any = jnp.float32, n: int | None = None, repeats: int = 5,
                        batch: int | None = None) -> float:
  """Measured dense-matmul throughput (FLOP/s) on the default backend: best of `repeats` timed calls.

  Each call is one jitted (batch, n, n) @ (n, n) matmul; batch > 1 on accelerators amortises dispatch overhead,
  which would otherwise dominate a ~1 ms kernel. Defaults: n=2048, batch=8 on GPU/TPU; n=512, batch=1 on CPU
  (fast enough for tests). Matmul precision is JAX's default for `dtype` on this backend (the same the model
  gets), so on GPUs float32 may run on TF32 tensor cores.
  """
  on_cpu = jax.default_backend() == "cpu"
  n = (512 if on_cpu else 2048) if n is None else int(n)
  batch = (1 if on_cpu else 8) if batch is None else int(batch)
  if n < 1 or batch < 1 or repeats < 1:
    raise ValueError(f"need n, batch, repeats >= 1, got n={n}, batch={batch}, repeats={repeats}")
  ka, kb = jax.random.split(jax.random.key(0))
  # Unit-variance inputs scaled by 1/sqrt(n) keep outputs O(1): no overflow in low precision, no denormals.
  a = (jax.random.normal(ka, (batch, n, n), jnp.float32) / np.sqrt(n)).astype(dtype)
  b = (jax.random.normal(kb, (n, n), jnp.float32) / np.sqrt(n)).astype(dtype)
  matmul = jax.jit(lambda x, y: jnp.einsum("bij,jk->bik", x, y))
  jax.block_until_ready(matmul(a, b))  # Compile + warm up.
  jax.block_until_ready(matmul(a, b))
  best = float("inf")
  for _ in range(repeats):
    start = time.perf_counter()
    jax.block_until_ready(matmul(a, b))
    best = min(best, time.perf_counter() - start)
  return 2.0 * batch * n ** 3 / best


def achieved_fraction(flops: float | None, seconds: float, peak: float) -> float | None:
  """Fraction of `peak` FLOP/s achieved by doing `flops` FLOPs in `seconds` (None if flops is unknown)."""
  if flops is None:
    return None
  if seconds <= 0 or peak <= 0:
    raise ValueError(f"seconds and peak must be positive, got seconds={seconds}, peak={peak}")
  return float(flops) / float(seconds) / float(peak)
