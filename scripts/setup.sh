#!/usr/bin/env bash
# Installs everything SiteGuard needs on a fresh Debian machine (run as root): system packages,
# a virtualenv in .venv with the project and its test tools. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES="chromium ffmpeg espeak-ng nftables iproute2 iputils-ping"
missing=""
for p in $APT_PACKAGES; do
  dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "== installing system packages:$missing"
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing
fi

PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null || PY=python3
if [ ! -x .venv/bin/python ]; then
  echo "== creating .venv with $PY"
  "$PY" -m venv .venv
fi
echo "== installing siteguard into .venv"
.venv/bin/pip install -q --disable-pip-version-check -e '.[test,train]'

# fake-switches: a switch simulator someone else wrote, the engine's test peer; its own venv.
if [ ! -x .venv-fakeswitches/bin/fake-switches ]; then
  echo "== creating .venv-fakeswitches (fake-switches test peer)"
  "$PY" -m venv .venv-fakeswitches
  .venv-fakeswitches/bin/pip install -q --disable-pip-version-check --no-deps \
    -r scripts/fake-switches-requirements.txt
fi
