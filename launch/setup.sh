#!/usr/bin/env bash
# Sets up a fresh Debian/Ubuntu machine: the demo-corpus tools, the Opus baseline's codec and Chromium with its
# WebDriver for the editor app's browser test (apt), and the Python venv (.venv).
# Idempotent and quick when nothing changed; `launch/demo.sh` and `launch/test.sh` call it first.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v mma >/dev/null || missing+=(mma)
command -v fluidsynth >/dev/null || missing+=(fluidsynth)
[ -f /usr/share/sounds/sf2/FluidR3_GM.sf2 ] || missing+=(fluid-soundfont-gm)
command -v opusenc >/dev/null || missing+=(opus-tools)  # opusenc/opusdec: the tokenizer's Opus baseline
command -v chromium >/dev/null || missing+=(chromium)    # the editor app's browser test (Selenium)
command -v chromedriver >/dev/null || missing+=(chromium-driver)
if [ ${#missing[@]} -gt 0 ]; then
  apt_install="apt-get install -y --no-install-recommends ${missing[*]}"
  if [ "$(id -u)" -eq 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive $apt_install
  elif command -v sudo >/dev/null; then
    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive $apt_install
  else
    echo "setup: the demo corpus, the Opus baseline and the browser test need Debian packages ${missing[*]}; install them with: $apt_install" >&2
    exit 1
  fi
fi

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
# Reinstall only when requirements.txt changed since the last successful install.
stamp=.venv/.requirements.sha256
want=$(sha256sum requirements.txt | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  # uv installs the same pinned set as pip in a fifth of the time (a fresh 2-core machine: 104 s -> 21 s);
  # pip does it where uv cannot be had or fails. The system's certificates as pip uses them; the newest
  # version over every index, as pip picks.
  if ! { .venv/bin/python -m pip install --quiet uv==0.13.9 &&
         .venv/bin/uv pip install --quiet --native-tls --index-strategy unsafe-best-match \
           --python .venv/bin/python -r requirements.txt; }; then
    echo "setup: uv could not install requirements.txt; installing with pip" >&2
    .venv/bin/python -m pip install --quiet --upgrade pip
    .venv/bin/python -m pip install --quiet -r requirements.txt
  fi
  echo "$want" > "$stamp"
fi
