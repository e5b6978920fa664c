#!/usr/bin/env bash
# Sets up (launch/setup.sh) and runs the whole test suite on CPU with 8 fake devices (tests/conftest.py).
set -euo pipefail
cd "$(dirname "$0")/.."
bash launch/setup.sh
exec .venv/bin/python -m pytest "$@"
