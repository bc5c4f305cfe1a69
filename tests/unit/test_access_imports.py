"""The access-control core imports only the standard library and itself."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "access_control"
# The OSDP panel is the I/O adapter at the edge and may use libosdp.
ADAPTERS = {"osdp_panel.py"}
CORE = sorted(p for p in PACKAGE.glob("*.py") if p.name not in ADAPTERS)


def imported_roots(path: Path) -> set[str]:
    roots: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def test_core_modules_are_present():
    names = {p.name for p in CORE}
    assert {
        "alarms.py",
        "cards.py",
        "credentials.py",
        "decision.py",
        "gate.py",
        "passback.py",
        "schedule.py",
        "tailgating.py",
    } <= names


@pytest.mark.parametrize("path", CORE, ids=lambda p: p.name)
def test_only_stdlib_imports(path):
    outside = {root for root in imported_roots(path) if root not in sys.stdlib_module_names and root != "__future__"}
    assert outside == set(), f"{path.name} imports {sorted(outside)}"
