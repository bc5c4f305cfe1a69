"""Lab tests need root, ip and nft. Where they cannot run they skip, unless SITEGUARD_REQUIRE_LAB=1
(set by scripts/test.sh, as for CI) turns that into a failure: a proof that silently did not run
proves nothing."""
from __future__ import annotations

import os
import shutil

import pytest


def lab_blocker() -> str | None:
    if os.geteuid() != 0:
        return "needs root to create network namespaces"
    for tool in ("ip", "nft"):
        if shutil.which(tool) is None:
            return f"`{tool}` is not installed"
    return None


def cannot_run(reason: str) -> None:
    if os.environ.get("SITEGUARD_REQUIRE_LAB") == "1":
        pytest.fail(f"lab required (SITEGUARD_REQUIRE_LAB=1) but {reason}")
    pytest.skip(reason)


@pytest.fixture
def lab_required() -> None:
    reason = lab_blocker()
    if reason:
        cannot_run(reason)
