"""Paths that a run's files record (its config.json, a latent folder's latents.json), so a runs folder can move.

A file in folder F records another folder relative to F when both lie in F's grandparent (for a run
runs/demo/lam: anything under runs/; for its latents runs/demo/tokenizer/latents: anything under runs/demo/),
and absolute otherwise. So a chain of runs moved or copied together, to another folder or another machine, still
finds itself, while a dataset elsewhere on the machine keeps its absolute path. Reading resolves a relative path
against F; an absolute one (every file written before this rule) is used as it is.

    record("/x/runs/demo/tokenizer", "/x/runs/demo/lam")   # -> "../tokenizer"
    resolve("../tokenizer", "/y/runs/demo/lam")            # -> "/y/runs/demo/tokenizer"
"""

from __future__ import annotations

import os
from typing import Any

# The keys of a config that name folders (configs/common.py makes them absolute on the command line).
PATH_KEYS = ("workdir", "dataset_dir", "latent_dir")
_SHARED_LEVELS = 2  # a recorded folder is relative when it lies under the recording folder's grandparent


def record(path: str | os.PathLike, folder: str | os.PathLike) -> str:
  """`path` as a file in `folder` records it: relative to `folder` when both lie in `folder`'s grandparent,
  else absolute. An empty path stays empty."""
  if not str(path):
    return ""
  target, base = os.path.abspath(path), os.path.abspath(folder)
  shared = base
  for _ in range(_SHARED_LEVELS):
    shared = os.path.dirname(shared)
  if shared == os.path.dirname(shared) or os.path.commonpath([target, shared]) != shared:
    return target  # nothing shared below the file system's root
  return os.path.relpath(target, base)


def resolve(path: str | os.PathLike, folder: str | os.PathLike) -> str:
  """A path that a file in `folder` recorded, as a path to use: relative ones are read from `folder`."""
  path = str(path)
  if not path or os.path.isabs(path):
    return path
  return os.path.normpath(os.path.join(os.path.abspath(folder), path))


def map_fields(tree: Any, keys: tuple[str, ...], fn) -> Any:
  """A copy of a JSON-like tree with `fn(value)` applied to every non-empty string stored under one of `keys`."""
  if isinstance(tree, dict):
    return {k: fn(v) if k in keys and isinstance(v, str) and v else map_fields(v, keys, fn)
            for k, v in tree.items()}
  if isinstance(tree, list):
    return [map_fields(v, keys, fn) for v in tree]
  return tree
