"""Stopping on SIGTERM (preemption, `kill`): every process saves the same step and exits.

One process: a Python SIGTERM handler sets a flag that the loop reads after each step.
Several processes: a flag per process would send the signalled process into the (collective) checkpoint save
alone, where it waits for the others forever. JAX's preemption service, started by `jax.distributed.initialize`,
catches SIGTERM on any process instead; the coordination service then picks the next step that every process
will reach, and `multihost_utils.reached_preemption_sync_point(step)` is True on all of them at that step.
"""

from __future__ import annotations

import signal

import jax
from jax.experimental import multihost_utils


class StopSignal:
  """`should_stop(step)`, asked by every process after every step (the same steps on all), says when to save
  and stop. `restore()` puts back the previous SIGTERM handler."""

  def __init__(self):
    self._requested = False
    self._several = jax.process_count() > 1
    # With several processes JAX's own (C++) SIGTERM handler feeds the preemption service: a Python handler
    # would replace it.
    self._previous = None if self._several else signal.signal(signal.SIGTERM, self._handle)

  def _handle(self, signum, frame):
    del signum, frame
    self._requested = True

  def should_stop(self, step: int) -> bool:
    if self._several:
      return multihost_utils.reached_preemption_sync_point(step)
    return self._requested

  def restore(self) -> None:
    if self._previous is not None:
      signal.signal(signal.SIGTERM, self._previous)
