"""Run a bit of Python inside a named network namespace without moving the process.

setns(2) with CLONE_NEWNET only affects the calling thread, so the work runs in a throw-away
thread that enters the namespace and then ends. Sockets keep the namespace they were created
in, so a socket made there can be used from any thread afterwards; /proc/sys/net opened there
shows that namespace's sysctls.
"""
from __future__ import annotations

import ctypes
import os
import socket
import threading
from typing import Callable, TypeVar

from pyroute2 import netns

from .model import LabError

T = TypeVar("T")
CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


def run_in(nsname: str, fn: Callable[[], T]) -> T:
    """Call `fn()` in a thread that has joined namespace `nsname`; return or raise its result."""
    box: dict[str, object] = {}

    def body() -> None:
        try:
            try:
                fd = os.open(os.path.join(netns.NETNS_RUN_DIR, nsname), os.O_RDONLY)
            except FileNotFoundError:
                raise LabError(f"network namespace {nsname} does not exist (is the lab up?)")
            try:
                if _libc.setns(fd, CLONE_NEWNET) != 0:
                    err = ctypes.get_errno()
                    raise OSError(err, f"setns into {nsname}: {os.strerror(err)}")
            finally:
                os.close(fd)
            box["result"] = fn()
        except BaseException as exc:  # handed back to the caller's thread
            box["error"] = exc

    thread = threading.Thread(target=body, name=f"netns-{nsname}", daemon=True)
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]  # type: ignore[misc]
    return box["result"]  # type: ignore[return-value]


def socket_in(nsname: str, family: int = socket.AF_INET, kind: int = socket.SOCK_STREAM,
              proto: int = 0) -> socket.socket:
    return run_in(nsname, lambda: socket.socket(family, kind, proto))


def sysctl_in(nsname: str, settings: dict[str, str]) -> None:
    """Write `net/...` sysctls (keys relative to /proc/sys) inside the namespace."""
    def write() -> None:
        for key, value in settings.items():
            path = os.path.join("/proc/sys", key)
            if not os.path.exists(path):
                continue  # e.g. bridge-nf-* only exist while br_netfilter is loaded
            with open(path, "w") as f:
                f.write(value)
    run_in(nsname, write)


def read_sysctl_in(nsname: str, key: str) -> str | None:
    def read() -> str | None:
        try:
            with open(os.path.join("/proc/sys", key)) as f:
                return f.read().strip()
        except FileNotFoundError:
            return None
    return run_in(nsname, read)
