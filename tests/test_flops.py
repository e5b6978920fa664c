"""Tests for genie_audio.eval.flops (cost analysis, measured peak, MFU arithmetic) and benchmarks.common."""

import math

import jax
import jax.numpy as jnp
import pytest

from benchmarks import common
from genie_audio.eval import flops


def test_step_flops_matmul_is_2mkn():
  m, k, n = 64, 128, 32
  a, b = jnp.ones((m, k)), jnp.ones((k, n))
  got = flops.step_flops(jax.jit(lambda x, y: x @ y), a, b)
  assert got is not None
  assert abs(got - 2 * m * k * n) <= 0.1 * 2 * m * k * n
  # A plain (un-jitted) function is jitted for you.
  assert flops.step_flops(lambda x, y: x @ y, a, b) == pytest.approx(got)


def test_flops_from_cost_handles_list_dict_and_missing():
  assert flops._flops_from_cost({"flops": 10.0}) == 10.0
  assert flops._flops_from_cost([{"flops": 10.0}, {"flops": 5.0}]) == 15.0
  assert flops._flops_from_cost(None) is None
  assert flops._flops_from_cost({"bytes accessed": 3.0}) is None
  assert flops._flops_from_cost([]) is None


def test_measure_matmul_peak_is_positive_finite():
  peak = flops.measure_matmul_peak(n=256, repeats=3)
  assert peak > 0 and math.isfinite(peak)


def test_achieved_fraction_arithmetic():
  assert flops.achieved_fraction(1e12, 2.0, 1e12) == pytest.approx(0.5)
  assert flops.achieved_fraction(None, 1.0, 1.0) is None
  with pytest.raises(ValueError):
    flops.achieved_fraction(1.0, 0.0, 1.0)


def test_time_fn_and_table():
  calls = []
  seconds = common.time_fn(lambda x: calls.append(1) or x * 2, jnp.ones(4), warmup=1, repeats=3)
  assert len(calls) == 4 and seconds >= 0
  table = common.format_table([{"name": "a", "ms": 1.23456}, {"name": "bbb", "ms": 10.0, "extra": 3}], "T")
  lines = table.splitlines()
  assert lines[0] == "### T"
  assert lines[2].startswith("| name") and "extra" in lines[2]
  assert len({len(line) for line in lines[2:]}) == 1  # aligned
  assert "1.235" in table and "| -" in table
