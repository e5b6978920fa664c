"""Smoke runs of every speed and memory benchmark (benchmarks/*.py) at the smallest size it allows, in this
process (genie_audio.testing.runners), on the suite's shared tiny pipeline: each must run end to end and print
the table rows it promises. A benchmark that stops matching the functions it times (the app's handlers, the
editor, the loop's train step, the configs) fails here, not in front of the next person to run it.

    python -m pytest -q -p no:xdist tests/test_benchmarks.py
"""

import json
import socket

import pytest

from genie_audio.testing import runners

pytest_plugins = ["fixtures_pipeline"]


def run(script: str, *args: str) -> tuple[list[dict], str]:
  printed, _ = runners.run_main(script, *args)
  return runners.table_rows(printed), printed


def column(rows: list[dict], name: str) -> list[str]:
  return [row[name] for row in rows]


def positive(text: str) -> bool:
  return float(text) > 0


def free_port() -> int:
  with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    return s.getsockname()[1]


def test_app(pipeline_runs):
  """The page's own handlers (generate, extend, /edit over HTTP) with the page's default controls."""
  rows, printed = run("benchmarks/app.py", f"--workdir={pipeline_runs['dynamics']}", "--seconds=3", "--span=0.5",
                      "--repeats=1", f"--port={free_port()}")
  requests = column(rows, "request")
  assert [r.split(" ")[0] for r in requests] == ["open", "edit:", "edit:", "continue", "/edit"], requests
  assert "1 variation" in requests[1] and "4 variations" in requests[2]
  assert all(positive(row["first_s"]) and positive(row["warm_s"]) for row in rows)
  assert "pull 0" in printed   # the settings the numbers use are named (the tiny pipeline's action guidance: 0)


def test_edit(pipeline_runs):
  rows, _ = run("benchmarks/edit.py", f"--workdir={pipeline_runs['dynamics']}", "--seconds=3", "--span=0.5",
                "--repeats=1", "--full_batch=1", "--full_preset=tiny")
  items = column(rows, "item")
  for stage in ("encode", "inpaint", "decode"):
    assert f"edit 3 s clip: {stage}" in items
  assert any(i.startswith("edit 3 s clip (0.5 s span): total") for i in items)
  for expected in ("first edit (compiles)", "inpaint without action guidance", "train step: this run, 8 x 40 frames",
                   "train step: tiny model (f32), 1 x 80 frames", "matmul peak (f32, measured)"):
    assert expected in items, (expected, items)
  assert sum("tiny in-painting" in i for i in items) == 2   # without and with action guidance
  assert all(positive(row["seconds"]) for row in rows if row["seconds"] != "-")


def test_memory():
  printed, _ = runners.run_main("benchmarks/memory.py", "--config=configs/lam.py:tiny", "--devices=8",
                                "--config.model.model_dim=16")
  result = json.loads(printed.strip().splitlines()[-1])
  assert result["config"] == "configs/lam.py:tiny" and result["overrides"] == ["model.model_dim=16"]
  assert result["devices"] == 8 and result["state_bytes"] > 0 and result["per_device_gib"] >= 0
  assert runners.table_rows(printed)[0]["config"] == "configs/lam.py:tiny"


def test_accelerator():
  printed, status = runners.run_main("benchmarks/accelerator.py", "--configs=configs/lam.py:tiny", "--batch=8",
                                     "--steps=1", "--set=model.model_dim=16")
  result = json.loads(printed.strip().splitlines()[-1])
  assert status == 0 and [row["config"] for row in result["rows"]] == ["configs/lam.py:tiny"]
  row = result["rows"][0]
  assert row["finite"] and row["step_ms"] > 0 and row["batch"] == 8


def test_prepare(tmp_path):
  rows, _ = run("benchmarks/prepare.py", "--hours=0", "--file_seconds=4", "--workers=1", "--trees=2",
                f"--folder={tmp_path}")
  assert column(rows, "run") == ["prepare", "prepare + quality filter", rows[2]["run"]]
  assert rows[2]["run"].startswith("quality filter alone")
  assert all(positive(row["x real time"]) for row in rows)


def test_tokenizer():
  # The tests' micro tokenizer (genie_audio/testing/tokenizer_config.py): the tiny preset compiles for 20 s more.
  rows, _ = run("benchmarks/tokenizer.py", "--config=genie_audio/testing/tokenizer_config.py", "--batch_size=1",
                "--crop_seconds=0.2", "--sampler_steps=1", "--decode_seconds=0.2", "--repeats=1")
  assert column(rows, "measure") == ["train step, 0.2 s crops", "decode, 1 steps (euler)"]
  assert positive(rows[0]["step_ms"]) and positive(rows[1]["RTF"])


def test_lam():
  rows, _ = run("benchmarks/lam.py", "--preset=tiny", "--window_seconds=0.4", "--repeats=1")
  assert column(rows, "frames") == ["20"] and positive(rows[0]["step_ms"])


def test_data_pipeline(pipeline_runs):
  rows, _ = run("benchmarks/data_pipeline.py", f"--dataset={pipeline_runs['dataset']}", "--crop_seconds=0.2",
                "--batch_size=2", "--batches=2", "--workers=0")
  assert column(rows, "workers") == ["0"] and positive(rows[0]["crops/s"])
