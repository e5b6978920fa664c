"""Work shared out between processes and gathered, with two real processes."""

import json
import socket
import subprocess
import sys

import jax
import ml_collections
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
  address = runs.coordinator_address()
  processes = [subprocess.Popen([sys.executable, "-c", _SHARE_AND_GATHER, address, str(i)], cwd=runs.REPO_ROOT,
                                env=runs.launch_env(1), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for i in range(2)]
  outputs = runs.outputs_of(processes, timeout=120)
  assert [p.returncode for p in processes] == [0, 0], outputs[0][1][-2000:] + outputs[1][1][-2000:]
  results = [json.loads(out.strip().splitlines()[-1]) for out, _ in outputs]
  assert [r["mine"] for r in results] == [[0, 2, 4], [1, 3]]
  expected = [{"items": [0, 2, 4], "text": "xxx"}, {"items": [1, 3], "text": "xx"}]  # unequal sizes, in order
  assert results[0]["gathered"] == results[1]["gathered"] == expected


def test_coordinator_port_in_use_is_named_before_jax_tries_it():
  address = runs.coordinator_address()
  port = int(address.rpartition(":")[2])
  with socket.socket() as holder:  # another run's coordinator on that port: JAX's service would segfault
    holder.bind(("localhost", port))
    holder.listen()
    assert distributed.port_in_use(port)
    with pytest.raises(RuntimeError, match=r"--coordinator_address='localhost:\d+': port \d+ is already in use"):
      distributed.initialize(ml_collections.ConfigDict(dict(auto=False, coordinator_address=address,
                                                            num_processes=2, process_id=0)), field_prefix="--")
  assert not jax.distributed.is_initialized()  # refused before JAX was asked (it would have crashed)
  assert not distributed.port_in_use(port)
