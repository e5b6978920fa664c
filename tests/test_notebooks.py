"""The evaluation notebooks run top to bottom (nbclient, a real IPython kernel) against the tiny trained
pipeline, so they cannot rot: any cell error fails the test. Also: the committed notebooks are the ones
notebooks/build.py writes, and a failing cell really does fail a run."""

import os
import subprocess
import sys

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from genie_audio.testing import runs

# The tiny trained pipeline, as a session fixture registered once for every module that names it.
pytest_plugins = ["fixtures_pipeline"]

NOTEBOOKS = runs.REPO_ROOT / "notebooks"


@pytest.fixture(scope="module")
def kernel_env(pipeline_runs, tmp_path_factory):
  """The kernel's environment: GENIE_RUNS at the tiny runs, one CPU device, a compilation cache the three
  notebooks share (they compile the same encoder and LAM)."""
  env = runs.launch_env(1)
  env.update(GENIE_RUNS=str(pipeline_runs["dataset"].parent), JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS="0",
             JAX_COMPILATION_CACHE_DIR=str(tmp_path_factory.mktemp("jax_cache")))
  return env


def execute(nb: nbformat.NotebookNode, env: dict[str, str]) -> nbformat.NotebookNode:
  client = NotebookClient(nb, timeout=300, kernel_name="python3",
                          resources={"metadata": {"path": str(NOTEBOOKS)}})  # the kernel starts in notebooks/
  client.execute(env=env)  # raises CellExecutionError at the first cell that raises
  return nb


def outputs(nb: nbformat.NotebookNode, kind: str) -> list:
  found = []
  for cell in nb.cells:
    for output in cell.get("outputs", []):
      data = output.get("data", {})
      if kind == "error" and output.output_type == "error":
        found.append(output)
      elif kind in data:
        found.append(data[kind])
  return found


# name -> (at least this many figures, at least this many audio players, text every run must show)
EXPECTED = {
    "tokenizer": (3, 4, "| sampler steps | mel distance |"),
    "actions": (3, 2, "| action | steps | share |"),
    "editing": (3, 2, "| fill | tonality | harmony | level (dB) |"),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_notebook_runs_top_to_bottom(name, kernel_env):
  nb = execute(nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4), kernel_env)
  assert not outputs(nb, "error")
  figures, players, text = EXPECTED[name]
  assert len(outputs(nb, "image/png")) >= figures
  assert sum("<audio" in html for html in outputs(nb, "text/html")) >= players
  assert any(text in markdown for markdown in outputs(nb, "text/markdown"))
  first = nb.cells[0]
  assert first.cell_type == "markdown" and "colab-badge.svg" in first.source
  assert "pip" in nb.cells[1].source and "requirements.txt" in nb.cells[1].source  # the install cell


def test_a_failing_cell_fails_the_run(kernel_env):
  nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1"),
                                       nbformat.v4.new_code_cell("raise ValueError('broken cell')"),
                                       nbformat.v4.new_code_cell("y = 2")])
  with pytest.raises(CellExecutionError, match="broken cell"):
    execute(nb, kernel_env)
  assert not nb.cells[2].outputs and nb.cells[2].get("execution_count") is None  # stopped there


def test_committed_notebooks_match_build_py():
  result = subprocess.run([sys.executable, str(NOTEBOOKS / "build.py"), "--check"], capture_output=True,
                          text=True, cwd=runs.REPO_ROOT, env=dict(os.environ))
  assert result.returncode == 0, result.stderr
