"""An order-keeping parallel map over processes, for per-file work (preparing, scoring, feature extraction).

Results come back in the order of the inputs whatever the number of workers, so everything written from them
(manifest lines, feature tables) is the same with 1 worker or 16. Worker processes are *spawned*, not forked:
the caller may have started JAX or BLAS threads, and a forked copy of a threaded process can deadlock. A spawned
worker re-imports the main script, so a script that uses more than one worker needs the usual
`if __name__ == "__main__":` guard (and keeps heavy imports it does not need at file level out of the way).
"""

from __future__ import annotations

import multiprocessing
import os
from typing import Any, Callable, Iterable, Iterator, TypeVar

import threadpoolctl

T = TypeVar("T")
R = TypeVar("R")

_context: Any = None  # a worker's copy of `context`, sent once at start-up instead of with every item


def available_cores() -> int:
  """Cores this process may run on (the CPU affinity mask, which containers and `taskset` narrow)."""
  try:
    return len(os.sched_getaffinity(0))
  except AttributeError:  # macOS
    return os.cpu_count() or 1


def _start_worker(context: Any) -> None:
  global _context
  _context = context
  threadpoolctl.threadpool_limits(1)


def _run(fn_and_item: tuple[Callable[[Any, T], R], T]) -> R:
  fn, item = fn_and_item
  return fn(_context, item)


def ordered_map(fn: Callable[[Any, T], R], items: Iterable[T], workers: int, context: Any = None) -> Iterator[R]:
  """Yields `fn(context, item)` for each item, in input order, computed by `workers` processes.

  `fn` must be a module-level function (it is pickled by name); `context` (a model, settings) is pickled once
  per worker. With `workers <= 1` everything runs in this process, with no pickling at all.

  Each worker runs BLAS on one thread: one worker per core already fills the machine, and the small matrix
  products of per-file work run several times slower on a thread pool that spins for work (measured: the
  quality features' mel projection, 0.2 ms on one thread, 7 ms on a pool sharing a busy machine).
  """
  items = list(items)
  if workers <= 1 or len(items) <= 1:
    with threadpoolctl.threadpool_limits(1):
      for item in items:
        yield fn(context, item)
    return
  pool = multiprocessing.get_context("spawn").Pool(min(workers, len(items)), initializer=_start_worker,
                                                   initargs=(context,))
  try:
    # chunksize 1: files differ a lot in length, and a chunk waits for its slowest member.
    yield from pool.imap(_run, [(fn, item) for item in items], chunksize=1)
    pool.close()
  finally:
    pool.terminate()
    pool.join()
