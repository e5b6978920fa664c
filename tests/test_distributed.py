"""Work shared out between processes and gathered (two real processes), and files one process makes for all."""

import json
import socket
import subprocess
import sys
import threading

import jax
import pytest

from genie_audio.testing import runs
from genie_audio.training import distributed

_SHARE_AND_GATHER = """
import json, sys
import ml_collections
from genie_audio.training import distributed
distributed.initialize(ml_collections.ConfigDict(dict(auto=False, coordinator_address=sys.argv[1],
                                                      num_processes=2, process_id=int(sys.argv[2]), timeout_s=60)))
mine = distributed.my_share(list(range(5)))
print(json.dumps({"mine": mine, "gathered": distributed.gather_objects({"items": mine, "text": "x" * len(mine)})}))
"""


def test_two_processes_share_items_and_gather_what_each_made():
  with socket.socket() as s:
    s.bind(("localhost", 0))
    address = f"localhost:{s.getsockname()[1]}"
  processes = [subprocess.Popen([sys.executable, "-c", _SHARE_AND_GATHER, address, str(i)], cwd=runs.REPO_ROOT,
                                env=runs.launch_env(1), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for i in range(2)]
  try:
    outputs = [p.communicate(timeout=120) for p in processes]
  finally:
    for p in processes:
      if p.poll() is None:
        p.kill()
  assert [p.returncode for p in processes] == [0, 0], outputs[0][1][-2000:] + outputs[1][1][-2000:]
  results = [json.loads(out.strip().splitlines()[-1]) for out, _ in outputs]
  assert [r["mine"] for r in results] == [[0, 2, 4], [1, 3]]
  expected = [{"items": [0, 2, 4], "text": "xxx"}, {"items": [1, 3], "text": "xx"}]  # unequal sizes, in order
  assert results[0]["gathered"] == results[1]["gathered"] == expected


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
