"""Files one process makes for all: process 0 makes them, the others wait for the completion marker."""

import threading

import jax
import pytest

from genie_audio.training import distributed


def test_process_zero_makes_and_the_others_wait_for_the_marker(tmp_path, monkeypatch):
  marker = tmp_path / "done.json"
  made = distributed.made_by_first_process(lambda: marker.write_text("0") and "made", lambda: None, "it", "hint")
  assert made == "made" and marker.read_text() == "0"  # process 0: no waiting, `find` is not consulted

  marker.unlink()
  monkeypatch.setattr(jax, "process_index", lambda: 1)
  threading.Timer(0.3, lambda: marker.write_text("1")).start()  # process 0, finishing a little later
  found = distributed.made_by_first_process(lambda: pytest.fail("process 1 must not make it"),
                                            lambda: marker.read_text() if marker.exists() else None, "it", "hint",
                                            poll_s=0.05)
  assert found == "1"


def test_a_process_that_waits_too_long_names_what_and_how(monkeypatch):
  monkeypatch.setattr(jax, "process_index", lambda: 2)
  with pytest.raises(TimeoutError, match="process 2 waited 0 s for process 0 to make the latents .*encode.py"):
    distributed.made_by_first_process(lambda: None, lambda: None, "the latents", "python launch/encode.py",
                                      timeout_s=0.1, poll_s=0.02)
