#!/usr/bin/env bash
# Sets up (scripts/setup.sh) and runs the whole test suite: unit, integration against the
# simulators, PostgreSQL and SQLite, and the browser tests. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh test

# The suite runs against the PostgreSQL on loopback too; start it if it is not up.
if ! pg_isready -h 127.0.0.1 -q 2>/dev/null; then
  if command -v pg_ctlcluster >/dev/null; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
  fi
fi
export SITEGUARD_TEST_POSTGRES_URL=${SITEGUARD_TEST_POSTGRES_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/postgres}
export SITEGUARD_REQUIRE_POSTGRES=${SITEGUARD_REQUIRE_POSTGRES:-1}
export SITEGUARD_REQUIRE_LAB=${SITEGUARD_REQUIRE_LAB:-1}

set +e
.venv/bin/python -m pytest -ra "$@"
rc=$?
set -e
if [ "$rc" -eq 5 ]; then
  echo "pytest collected no tests: that is a failure" >&2
  exit 1
fi
exit "$rc"
