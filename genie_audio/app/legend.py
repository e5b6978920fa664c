"""The run's action legend ("3: louder (+4 dB), brighter"), computed once per LAM and cached.

Looked for, in order: RUN/actions/legend.json and LAM_RUN/actions/legend.json (what
`launch/describe_actions.py --workdir RUN` writes), then the app's own cache for this LAM run and step. If none
exists the legend is computed from the validation recordings (`action_analysis.analyze` and `legend`, a few
recordings, no gain measurement: seconds) and written to RUN/actions/legend.json if that folder can be
written, else to the user's cache folder ($XDG_CACHE_HOME or ~/.cache, genie_audio/legends/). Without
validation audio every action reads "not described" and nothing is written.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path
from typing import Callable

from genie_audio.editing.action_reader import ActionReader
from genie_audio.eval import action_analysis

log = logging.getLogger(__name__)

LEGEND = "legend.json"
MAX_RECORDINGS, MAX_SECONDS = 12, 60.0   # enough steps for stable means, seconds of work on a CPU


def user_cache_dir() -> Path:
  return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "genie_audio" / "legends"


def cache_file(lam_workdir: str, lam_step: int, cache_dir: Path) -> Path:
  """The app's cache entry of one LAM run at one step (a retrained LAM gets a new one)."""
  key = hashlib.sha256(f"{Path(lam_workdir).absolute()}@{lam_step}".encode()).hexdigest()[:16]
  return cache_dir / f"{key}.json"


def read_legend(path: Path, num_actions: int) -> dict[int, str] | None:
  """{action: line} from a legend.json naming every action, else None (missing, torn or another codebook)."""
  try:
    lines = {int(a): str(text) for a, text in json.loads(path.read_text(encoding="utf-8")).items()}
  except (OSError, ValueError, AttributeError):
    return None
  return lines if set(lines) == set(range(num_actions)) else None


def writable_dir(path: Path) -> bool:
  """Whether `path` (or the folder it would be made in) can be written."""
  while not path.exists():
    path = path.parent
  return os.access(path, os.W_OK)


def compute_legend(reader: ActionReader) -> dict[int, str]:
  analysis = action_analysis.analyze(reader, "validation", MAX_RECORDINGS, MAX_SECONDS)
  return action_analysis.legend(analysis)


def run_legend(workdir: str | os.PathLike, reader: ActionReader, cache_dir: Path | None = None,
               compute: Callable[[ActionReader], dict[int, str]] = compute_legend) -> tuple[dict[int, str], str]:
  """({action: line}, where it came from) for the dynamics run at `workdir` and its LAM (`reader`)."""
  A = reader.num_actions
  cache_dir = user_cache_dir() if cache_dir is None else Path(cache_dir)
  run_file = Path(workdir) / "actions" / LEGEND
  cached = cache_file(reader.lam.workdir, reader.lam.step, cache_dir)
  for path in (run_file, Path(reader.lam.workdir) / "actions" / LEGEND, cached):
    lines = read_legend(path, A)
    if lines is not None:
      return lines, str(path)
  try:
    lines = compute(reader)
  except (FileNotFoundError, ValueError) as e:   # no validation audio: the page says how to get a legend
    log.warning("no action legend: %s", e)
    return {a: "not described (run launch/describe_actions.py)" for a in range(A)}, f"none: {e}"
  target = run_file if writable_dir(run_file.parent) else cached
  target.parent.mkdir(parents=True, exist_ok=True)
  action_analysis.write_text(target, json.dumps({str(a): t for a, t in lines.items()}, indent=1))
  return lines, str(target)
