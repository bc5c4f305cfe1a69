"""Fault injection for the crash tests: the edge dies here, as under kill -9, when told to.

``SITEGUARD_TEST_CRASH_AT=<point>`` names the point; nothing else reads it, and without it the
call does nothing. The points sit just after a fact is committed, where a report written in a
separate transaction would be lost.
"""
from __future__ import annotations

import os

ENV = "SITEGUARD_TEST_CRASH_AT"
POINTS = frozenset({"segment_indexed", "segment_deleted"})


def crash_point(name: str) -> None:
    if name not in POINTS:
        raise ValueError(f"unknown crash point {name!r}")
    if os.environ.get(ENV) == name:
        os._exit(137)  # no cleanup, no flush: the process simply stops, as under SIGKILL
