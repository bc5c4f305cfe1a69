"""A controller's child processes end when it ends, even when it is killed with SIGKILL: the
kernel sends them SIGTERM when their parent dies (Linux prctl PR_SET_PDEATHSIG), so no link,
sequencer or HTTP worker is left holding a port or a database after its supervisor."""
from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal

PR_SET_PDEATHSIG = 1


def die_with_parent(expected_parent: int | None = None) -> None:
    """Ask for SIGTERM when the parent dies. If the parent that started this process (given, or
    the multiprocessing parent of a spawned worker) is already gone, end now: a worker started
    just as its supervisor was killed would otherwise never hear of it."""
    if expected_parent is None:
        mp_parent = multiprocessing.parent_process()
        expected_parent = mp_parent.pid if mp_parent is not None else os.getppid()
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != expected_parent:
        os.kill(os.getpid(), signal.SIGTERM)
