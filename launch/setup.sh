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
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -r requirements.txt
  echo "$want" > "$stamp"
fi
