#!/usr/bin/env bash
# Sets up (launch/setup.sh) and runs the whole test suite on CPU with 8 fake devices per worker
# (tests/conftest.py), one pytest-xdist worker per core (TEST_WORKERS=N to choose; 0 runs in this process).
# Tests of one file stay on one worker (--dist loadfile), so a module's trained fixtures are built once; files
# go out slowest first (tests/conftest.py orders them; --no-loadscope-reorder keeps that order).
set -euo pipefail
cd "$(dirname "$0")/.."
bash launch/setup.sh
exec .venv/bin/python -m pytest -n "${TEST_WORKERS:-auto}" --dist loadfile --no-loadscope-reorder "$@"
