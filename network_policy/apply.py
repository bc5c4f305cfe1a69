"""Apply an approved change to its switches: back up, send, read back, compare, save; or roll back.

All devices of a change go through the same two phases so the change is all or nothing:
1. per device, in parallel (bounded): connect, back up the running configuration (a read the device
   refused, or that is not a whole configuration of its dialect, is an error: no backup, no line
   sent), check the device still holds what the change was rendered against, send the lines one by
   one (each refused line or unexpected mode stops the run), read the configuration back and
   compare it with the intent;
2. only when every device passed: save each device's configuration. When any device failed, every
   device that was sent anything is rolled back in a fresh session to the backup that was read, and
   the rollback is verified: its ACLs and its whole configuration are as in the backup.
The lines sent are exactly the approved ones; rollback lines are computed here from the backup.
"""
from __future__ import annotations

import difflib
import logging
import re
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Protocol

from .acl import Acl, DeviceAcls
from .parse import ParseError, parse_read
from .render import change_commands

log = logging.getLogger("siteguard.network.apply")


class DeviceError(Exception):
    """The device refused a line or a read, timed out, or the session broke."""

    def __init__(self, reason: str, *, device: str = "", line: str | None = None) -> None:
        super().__init__(reason)
        self.reason, self.device, self.line = reason, device, line

    def __str__(self) -> str:
        return f"{self.device}: {self.reason}" if self.device else self.reason


class Device(Protocol):
    vendor: str

    def read_config(self) -> tuple[str, str]:
        """(running configuration, ACL listing where the vendor needs one); DeviceError when the
        device refused either read."""

    def send_config(self, lines: list[str], sent: list[str] | None = None) -> str:
        """Send configuration lines one by one; append each to ``sent`` once the device echoed it.
        DeviceError at the first line the device refused or that left it in an unexpected mode."""

    def save(self) -> None: ...

    def close(self) -> None: ...


Connect = Callable[[str], Device]  # device id -> an open session, at the privileged exec prompt


@dataclass(frozen=True)
class DevicePlan:
    device: str
    vendor: str
    before: DeviceAcls  # what the change was rendered against
    after: DeviceAcls  # what the device must hold afterwards
    commands: tuple[str, ...]  # the approved lines


@dataclass
class DeviceResult:
    device: str
    status: str = "pending"  # applied | saved | failed | rolled_back | rollback_failed | not_started
    error: str = ""
    backup: str = ""  # the running configuration as read before anything was sent
    backup_acls: DeviceAcls = field(default_factory=dict)
    sent: list[str] = field(default_factory=list)  # lines the device received (echoed), in order
    rollback: list[str] = field(default_factory=list)
    seconds: float = 0.0
    touched: bool = False  # sending began: the device may hold part of the change


def _read(device: str, dev: Device) -> tuple[str, DeviceAcls]:
    running, listing = dev.read_config()
    try:
        return running, parse_read(dev.vendor, running, listing).managed()
    except ParseError as exc:
        raise DeviceError(f"cannot read the device's configuration: {exc}", device=device) from None


# Lines that change by themselves (byte counts, timestamps, comments): not part of the comparison.
_VOLATILE = re.compile(r"^\s*(?:!|Building configuration|Current configuration|ntp clock-period)")


def config_difference(backup: str, now: str) -> list[str]:
    """The lines by which ``now`` differs from ``backup`` (empty: the same configuration)."""
    def lines(text: str) -> list[str]:
        return [ln.rstrip() for ln in text.splitlines() if ln.strip() and not _VOLATILE.match(ln)]
    return [d for d in difflib.unified_diff(lines(backup), lines(now), "backup", "now", lineterm="", n=0)
            if d[:1] in "+-" and not d.startswith(("+++", "---"))]


def _describe(a: DeviceAcls, b: DeviceAcls) -> str:
    diff = [f"VLAN {v}" for v in sorted(set(a) | set(b)) if a.get(v) != b.get(v)]
    return ", ".join(diff) or "nothing"


def _failure(device: str, exc: BaseException) -> str:
    if isinstance(exc, DeviceError):
        exc.device = exc.device or device
        return str(exc)
    return f"{device}: {type(exc).__name__}: {exc}"


def _phase_one(plan: DevicePlan, connect: Connect, result: DeviceResult) -> Device | None:
    started = time.monotonic()
    dev = None
    try:
        dev = connect(plan.device)
        result.backup, result.backup_acls = _read(plan.device, dev)
        if result.backup_acls != plan.before:
            result.status = "failed"
            result.error = (f"the device changed since the change was rendered "
                            f"({_describe(result.backup_acls, plan.before)} differs); nothing sent")
            return dev
        result.touched = True
        dev.send_config(list(plan.commands), result.sent)
        _, now = _read(plan.device, dev)
        if now != plan.after:
            raise DeviceError(f"read back does not match the intent ({_describe(now, plan.after)} differs)")
        result.status = "applied"
    except Exception as exc:  # noqa: BLE001 - any failure means roll back, and say why
        result.status = "failed"
        result.error = result.error or _failure(plan.device, exc)
    finally:
        result.seconds = time.monotonic() - started
    return dev


def _roll_back(plan: DevicePlan, connect: Connect, result: DeviceResult) -> None:
    """Back to the backup, in a fresh session each attempt: the change's session may be dead, or
    left in a sub-mode by a refused line."""
    for attempt in range(2):
        dev = None
        try:
            dev = connect(plan.device)
            _, now = _read(plan.device, dev)
            result.rollback = change_commands(plan.vendor, now, result.backup_acls)
            if result.rollback:
                dev.send_config(result.rollback)
            restored_text, restored = _read(plan.device, dev)
            if restored != result.backup_acls:
                raise DeviceError(f"after rollback {_describe(restored, result.backup_acls)} still differs")
            left = config_difference(result.backup, restored_text)
            if left:
                raise DeviceError(f"after rollback the configuration differs from the backup: {'; '.join(left[:10])}")
            result.status = "rolled_back"
            return
        except Exception as exc:  # noqa: BLE001
            log.warning("%s: rollback attempt %d failed: %s", plan.device, attempt + 1, exc)
            result.error += f"; rollback: {_failure(plan.device, exc)}"
        finally:
            _close(dev)
    result.status = "rollback_failed"


def _close(dev: Device | None) -> None:
    if dev is not None:
        try:
            dev.close()
        except Exception:  # noqa: BLE001 - a dead session may not close cleanly
            pass


def apply_change(plans: list[DevicePlan], connect: Connect, max_parallel: int = 8,
                 progress: Callable[[str, str], None] | None = None) -> list[DeviceResult]:
    """Run a change on all its devices; every result ends saved, rolled back or failed."""
    results = {p.device: DeviceResult(p.device) for p in plans}
    sessions: dict[str, Device | None] = {}

    def one(plan: DevicePlan) -> None:
        sessions[plan.device] = _phase_one(plan, connect, results[plan.device])
        if progress:
            progress(plan.device, results[plan.device].status)

    with ThreadPoolExecutor(max_workers=max(1, min(max_parallel, len(plans) or 1))) as pool:
        list(pool.map(one, plans))
    try:
        if all(r.status == "applied" for r in results.values()):
            def save(plan: DevicePlan) -> None:
                r = results[plan.device]
                try:
                    dev = sessions[plan.device]
                    assert dev is not None
                    dev.save()
                    r.status = "saved"
                except Exception as exc:  # noqa: BLE001
                    r.status, r.error = "failed", f"save: {_failure(plan.device, exc)}"
            with ThreadPoolExecutor(max_workers=max(1, min(max_parallel, len(plans)))) as pool:
                list(pool.map(save, plans))
            if all(r.status == "saved" for r in results.values()):
                return list(results.values())
            # A save failed: the running configuration is right but would not survive a reboot.
            # Roll every device back so the site stays on one consistent, saved state.
        # A device that got no line keeps its state; only one with a real backup can be restored.
        touched = [p for p in plans if results[p.device].touched]
        for dev in sessions.values():
            _close(dev)
        sessions.clear()

        def undo(plan: DevicePlan) -> None:
            r = results[plan.device]
            if r.status in ("applied", "saved"):
                r.error = r.error or "another device of this change failed"
            _roll_back(plan, connect, r)
            if progress:
                progress(plan.device, r.status)
        with ThreadPoolExecutor(max_workers=max(1, min(max_parallel, len(touched) or 1))) as pool:
            list(pool.map(undo, touched))
        return list(results.values())
    finally:
        for dev in sessions.values():
            _close(dev)


def drift(vendor: str, intended: DeviceAcls, running: str, listing: str = "") -> tuple[DeviceAcls, list[str]]:
    """What the device holds, and the lines that would bring it back to intent (empty: no drift).
    ParseError when what was read is not a whole configuration: an unread device is no "no drift"."""
    state = parse_read(vendor, running, listing)
    actual = state.managed()
    return actual, change_commands(vendor, actual, intended)


def plan_for(device: str, vendor: str, before: Mapping[int, Acl], after: Mapping[int, Acl]) -> DevicePlan:
    """The plan that takes one device from ``before`` to ``after`` with the rendered lines."""
    b, a = dict(before), dict(after)
    return DevicePlan(device, vendor, b, a, tuple(change_commands(vendor, b, a)))
