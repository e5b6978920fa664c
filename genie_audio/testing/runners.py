"""Runs a benchmark or experiment script (an absl app under benchmarks/ or experiments/) inside this process, as
its command line would, for the runners' smoke tests (tests/test_benchmarks.py, tests/test_experiments.py): a
subprocess would import JAX and compile everything again.

The script is imported afresh under a private name, its flags are parsed from the given arguments and its `main`
runs; afterwards its flags (and those of the runner modules it imported) are removed again, so the next script
may define flags of the same names, as each does in its own process.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import os
import sys
from pathlib import Path
from typing import Any, Callable

from absl import flags

REPO_ROOT = Path(__file__).resolve().parents[2]
RUNNER_PACKAGES = ("benchmarks.", "experiments.")


class _Tee(io.StringIO):
  """Keeps what is written and passes it on (pytest shows it when a test fails)."""

  def __init__(self, passed_to):
    super().__init__()
    self.passed_to = passed_to

  def write(self, text: str) -> int:
    self.passed_to.write(text)
    return super().write(text)


def run_main(script: str, *args: str, prepare: Callable[[Any], None] | None = None) -> tuple[str, Any]:
  """(what `python SCRIPT ARGS...` prints, its `main`'s return value), run in this process.

  `script` is a path from the repository root (e.g. "benchmarks/app.py"). While it runs, sys.argv is its command
  line (some scripts read it) and the working folder is the repository root; the environment, sys.argv and the
  working folder are restored afterwards. `prepare(module)`, if given, runs after the flags are parsed and
  before `main` (e.g. to fill a cache the script would otherwise fill slowly).
  """
  path = REPO_ROOT / script
  name = f"_runner_{path.parent.name}_{path.stem}"
  argv = [str(path), *args]
  # A runner module imported for its functions (e.g. by a unit test in the same process) keeps its flags: they
  # step aside while the script runs, so it can define the same names, and come back after.
  stashed = {flag.name: (module_name, flag) for module_name, defined in flags.FLAGS.flags_by_module_dict().items()
             if module_name.startswith(RUNNER_PACKAGES) for flag in defined}
  for flag_name in stashed:
    delattr(flags.FLAGS, flag_name)
  flag_names, module_names = set(flags.FLAGS), set(sys.modules)
  saved_argv, saved_env, saved_cwd = sys.argv, dict(os.environ), os.getcwd()
  out = _Tee(sys.stdout)
  try:
    sys.argv = argv
    os.chdir(REPO_ROOT)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    remaining = flags.FLAGS(argv)
    if prepare is not None:
      prepare(module)
    with contextlib.redirect_stdout(out):
      result = module.main(remaining)
  finally:
    sys.argv = saved_argv
    os.chdir(saved_cwd)
    os.environ.clear()
    os.environ.update(saved_env)
    for flag in set(flags.FLAGS) - flag_names:
      delattr(flags.FLAGS, flag)
    for flag_name, (module_name, flag) in stashed.items():
      flags.FLAGS[flag_name] = flag
      flags.FLAGS.register_flag_by_module(module_name, flag)
    for module_name in set(sys.modules) - module_names:
      if module_name == name or (module_name.startswith(RUNNER_PACKAGES) and not module_name.endswith(".common")):
        del sys.modules[module_name]
  return out.getvalue(), result


def table_rows(printed: str) -> list[dict[str, str]]:
  """The rows of every markdown table in `printed` (as `benchmarks.common.format_table` writes them), each a
  {column: cell text} dict."""
  rows, header = [], None
  for line in printed.splitlines():
    if not line.startswith("|"):
      header = None
      continue
    cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
    if header is None:
      header = cells
    elif not set(line) <= set("|- "):
      rows.append(dict(zip(header, cells)))
  return rows
