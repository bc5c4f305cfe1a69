#!/usr/bin/env bash
# Installs what SiteGuard needs on a fresh Debian machine (run as root), for one purpose:
#   scripts/setup.sh demo    the demo: ffmpeg, espeak-ng, Pango and the Noto CJK fonts (the daily
#                            report's PDF), a virtualenv in .venv with the
#                            base package only (the detector runs from ONNX with OpenCV: no torch)
#   scripts/setup.sh test    the test suite (the default): also chromium, nftables, iproute2,
#                            wireguard-go and wireguard-tools (the VPN lab), the
#                            test tools and the training extra (a test trains the detector), and
#                            the fake-switches test peer in .venv-fakeswitches
#   scripts/setup.sh train   training the seat detector: the base package and the training extra
# Safe to run again; each step says what it does.
set -euo pipefail
cd "$(dirname "$0")/.."

MODE=${1:-test}
case "$MODE" in
  demo)  APT_PACKAGES="ffmpeg espeak-ng libpango-1.0-0 libpangoft2-1.0-0 fonts-noto-cjk"; EXTRAS=""; STEPS=3 ;;
  test)  APT_PACKAGES="chromium ffmpeg espeak-ng nftables iproute2 iputils-ping wireguard-go wireguard-tools libpango-1.0-0 libpangoft2-1.0-0 fonts-noto-cjk poppler-utils"; EXTRAS="[test,train]"; STEPS=4 ;;
  train) APT_PACKAGES="ffmpeg"; EXTRAS="[train]"; STEPS=3 ;;
  *) echo "usage: scripts/setup.sh [demo|test|train]" >&2; exit 2 ;;
esac
step=0
say() { step=$((step + 1)); echo "== setup ($MODE) [$step/$STEPS] $*"; }

missing=""
for p in $APT_PACKAGES; do
  dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
done
if [ -n "$missing" ]; then
  say "installing system packages:$missing"
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing
else
  say "system packages present: $APT_PACKAGES"
fi

PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null || PY=python3
if [ ! -x .venv/bin/python ]; then
  say "creating .venv with $PY"
  "$PY" -m venv .venv
else
  say ".venv present"
fi
say "installing siteguard${EXTRAS} into .venv (pip lists each package as it fetches it)"
.venv/bin/pip install --disable-pip-version-check --progress-bar on -e ".${EXTRAS}"

# fake-switches: a switch simulator someone else wrote, the engine's test peer; its own venv.
if [ "$MODE" = test ]; then
  if [ ! -x .venv-fakeswitches/bin/fake-switches ]; then
    say "creating .venv-fakeswitches (fake-switches test peer)"
    "$PY" -m venv .venv-fakeswitches
    .venv-fakeswitches/bin/pip install -q --disable-pip-version-check --no-deps \
      -r scripts/fake-switches-requirements.txt
  else
    say ".venv-fakeswitches present"
  fi
fi
echo "== setup ($MODE) done"
