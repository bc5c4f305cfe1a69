#!/usr/bin/env bash
# Sets up (scripts/setup.sh) and runs the whole simulated site on embedded defaults:
# the controller with its pages on http://127.0.0.1:8000 and the site's edge agent.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh demo  # the base package only: no test tools, no torch
export SITEGUARD_PUBLIC_DOCS="${SITEGUARD_PUBLIC_DOCS:-1}"  # the demo's API docs need no login
exec .venv/bin/siteguard demo "$@"
