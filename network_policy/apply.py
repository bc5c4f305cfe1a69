"""Apply an approved change to its switches: back up, send, read back, compare, save; or roll back.

All devices of a change go through the same two phases so the change is all or nothing:
1. per device, in parallel (bounded): connect, back up the running configuration, check the
   device still holds what the change was rendered against, send the lines (device errors are
   caught by an error pattern), read the configuration back and compare it with the intent;
2. only when every device passed: save each device's configuration. When any device failed, every
   device that was touched is rolled back to its backup (reconnecting if the session dropped),
   and the rollback is verified against the backup.
The lines sent are exactly the approved ones; rollback lines are computed here from the backup.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Protocol

from .acl import Acl, DeviceAcls
from .parse import ParseError, parse_device
from .render import change_commands

log = logging.getLogger("siteguard.network.apply")


class DeviceError(Exception):
    """The device refused a line, timed out, or the session broke."""


class Device(Protocol):
    vendor: str

    def read_config(self) -> tuple[str, str]:
        """(running configuration, ACL listing where the vendor needs one)."""

    def send_config(self, lines: list[str]) -> str: ...

    def save(self) -> None: ...

    def close(self) -> None: ...


Connect = Callable[[str], Device]  # device id -> an open session


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
    backup: str = ""
    backup_acls: DeviceAcls = field(default_factory=dict)
    sent: list[str] = field(default_factory=list)
    rollback: list[str] = field(default_factory=list)
    seconds: float = 0.0


def _read(dev: Device) -> tuple[str, DeviceAcls]:
    running, listing = dev.read_config()
    try:
        return running, parse_device(dev.vendor, running, listing).managed()
    except ParseError as exc:
        raise DeviceError(f"cannot read the device's ACLs back: {exc}") from None


def _describe(a: DeviceAcls, b: DeviceAcls) -> str:
    diff = [f"VLAN {v}" for v in sorted(set(a) | set(b)) if a.get(v) != b.get(v)]
    return ", ".join(diff) or "nothing"


def _phase_one(plan: DevicePlan, connect: Connect, result: DeviceResult) -> Device | None:
    started = time.monotonic()
    dev = None
    try:
        dev = connect(plan.device)
        result.backup, result.backup_acls = _read(dev)
        if result.backup_acls != plan.before:
            result.status = "failed"
            result.error = (f"the device changed since the change was rendered "
                            f"({_describe(result.backup_acls, plan.before)} differs); nothing sent")
            return dev
        result.sent = list(plan.commands)
        dev.send_config(list(plan.commands))
        _, now = _read(dev)
        if now != plan.after:
            raise DeviceError(f"read back does not match the intent ({_describe(now, plan.after)} differs)")
        result.status = "applied"
    except Exception as exc:  # noqa: BLE001 - any failure means roll back, and say why
        result.status = "failed"
        result.error = result.error or f"{type(exc).__name__}: {exc}"
    finally:
        result.seconds = time.monotonic() - started
    return dev


def _roll_back(plan: DevicePlan, connect: Connect, dev: Device | None, result: DeviceResult) -> None:
    for attempt in range(2):
        try:
            if dev is None:
                dev = connect(plan.device)
            _, now = _read(dev)
            result.rollback = change_commands(plan.vendor, now, result.backup_acls)
            if result.rollback:
                dev.send_config(result.rollback)
            _, restored = _read(dev)
            if restored != result.backup_acls:
                raise DeviceError(f"after rollback {_describe(restored, result.backup_acls)} still differs")
            result.status = "rolled_back"
            return
        except Exception as exc:  # noqa: BLE001
            log.warning("%s: rollback attempt %d failed: %s", plan.device, attempt + 1, exc)
            _close(dev)
            dev = None
            result.error += f"; rollback: {type(exc).__name__}: {exc}"
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
                    r.status, r.error = "failed", f"save: {type(exc).__name__}: {exc}"
            with ThreadPoolExecutor(max_workers=max(1, min(max_parallel, len(plans)))) as pool:
                list(pool.map(save, plans))
            if all(r.status == "saved" for r in results.values()):
                return list(results.values())
            # A save failed: the running configuration is right but would not survive a reboot.
            # Roll every device back so the site stays on one consistent, saved state.
        touched = [p for p in plans if results[p.device].sent]

        def undo(plan: DevicePlan) -> None:
            r = results[plan.device]
            if r.status in ("applied", "saved"):
                r.error = r.error or "another device of this change failed"
            _roll_back(plan, connect, sessions.get(plan.device), r)
            if progress:
                progress(plan.device, r.status)
        with ThreadPoolExecutor(max_workers=max(1, min(max_parallel, len(touched) or 1))) as pool:
            list(pool.map(undo, touched))
        return list(results.values())
    finally:
        for dev in sessions.values():
            _close(dev)


def drift(vendor: str, intended: DeviceAcls, running: str, listing: str = "") -> tuple[DeviceAcls, list[str]]:
    """What the device holds, and the lines that would bring it back to intent (empty: no drift)."""
    state = parse_device(vendor, running, listing)
    actual = state.managed()
    return actual, change_commands(vendor, actual, intended)


def plan_for(device: str, vendor: str, before: Mapping[int, Acl], after: Mapping[int, Acl]) -> DevicePlan:
    """The plan that takes one device from ``before`` to ``after`` with the rendered lines."""
    b, a = dict(before), dict(after)
    return DevicePlan(device, vendor, b, a, tuple(change_commands(vendor, b, a)))
