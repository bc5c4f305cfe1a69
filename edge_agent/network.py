"""The edge's network service: verify a change's approvals, apply it through Netmiko, watch drift.

Trust comes from the site file on the edge's own disk (the one the agent was started with), never
from the controller's config push: the customers' approval keys, which customer owns which VLAN,
which switch routes which VLAN and how to log in to it. So a compromised controller cannot push
a line the owning customer did not sign.

Before one line is sent, ``check_change`` (pure) requires that every device is known here with
the same vendor, that the signed lines are exactly what the stated before/after ACLs render to on
that vendor (so the VLANs a change touches, and therefore whose approval it needs, cannot be
misrepresented), that only VLANs the device routes are touched, and that every customer the
change concerns approved these lines in time with its registered key, once: the owners of the
VLANs it edits and every customer whose VLANs' reachability it alters on any device, computed
here from the site file's subnets (``network_policy.affected``), never taken from the controller.
"""
from __future__ import annotations

import datetime as dt
import difflib
import ipaddress
import json
import logging
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from edge_agent.secrets import secret_of
from edge_agent.store import EdgeStore
from edge_agent.wire import payloads as P
from edge_agent.wire.kinds import AlarmKind, EventKind
from edge_agent.wire.site import SiteConfig, Switch
from network_policy.acl import acls_from_json, acls_to_json
from network_policy.affected import customers_affected
from network_policy.apply import Device, DevicePlan, DeviceResult, apply_change, drift
from network_policy.approval import Approval, ApprovalError, verify_change
from network_policy.render import change_commands, config_text

log = logging.getLogger("siteguard.edge.network")

APPLIED_KEY = "network_applied_changes"
INTENT_KEY = "network_intent"  # device -> the ACLs of the last change applied there
INFLIGHT_KEY = "network_inflight"  # the change running now; still set at start-up: it was cut off
MAX_PARALLEL = 8


def vlan_owners(site: SiteConfig) -> dict[int, str]:
    return {v.id: c.id for c in site.customers for v in c.vlans}


def customer_vlans(site: SiteConfig) -> dict[int, tuple[str, ipaddress.IPv4Network]]:
    return {v.id: (c.id, v.subnet) for c in site.customers for v in c.vlans}


def customer_keys(site: SiteConfig) -> dict[str, str]:
    return {c.id: c.approval_public_key for c in site.customers if c.approval_public_key}


def check_change(payload: Mapping[str, Any], site: SiteConfig, used: set[str], now: dt.datetime) -> list[DevicePlan]:
    """The device plans of a verified change; ``ApprovalError`` says why a change must not run."""
    change_id = payload.get("change")
    devices = payload.get("devices")
    if not isinstance(change_id, str) or not 0 < len(change_id) <= 40 or not isinstance(devices, dict) or not devices:
        raise ApprovalError("malformed", "a change needs an id (1-40 characters) and at least one device")
    switches = {s.id: s for s in site.switches}
    owners = vlan_owners(site)
    plans: list[DevicePlan] = []
    commands: dict[str, list[str]] = {}
    needed: set[str] = set()
    for device, spec in sorted(devices.items()):
        switch = switches.get(device)
        if switch is None:
            raise ApprovalError("unknown_device", f"{device} is not a switch of this site")
        if not isinstance(spec, dict) or spec.get("vendor") != switch.vendor:
            raise ApprovalError("malformed", f"{device}: vendor must be {switch.vendor}")
        try:
            before, after = acls_from_json(spec.get("before")), acls_from_json(spec.get("after"))
        except (ValueError, TypeError) as exc:
            raise ApprovalError("malformed", f"{device}: {exc}") from None
        lines = spec.get("commands")
        if not isinstance(lines, list) or not all(isinstance(x, str) for x in lines):
            raise ApprovalError("malformed", f"{device}: commands must be a list of lines")
        if lines != change_commands(switch.vendor, before, after):
            raise ApprovalError("commands_mismatch",
                                f"{device}: the lines are not what the stated change renders to")
        foreign = sorted((set(before) | set(after)) - set(switch.svis))
        if foreign:
            raise ApprovalError("unknown_vlan", f"{device} does not route VLAN(s) {foreign}")
        changed = {v for v in set(before) | set(after) if before.get(v) != after.get(v)}
        unowned = sorted(changed - set(owners))
        if unowned:
            raise ApprovalError("no_owner", f"VLAN(s) {unowned} belong to no customer; nobody can approve them")
        # Each device is a place the change takes effect: whoever it alters there must sign.
        needed |= customers_affected(customer_vlans(site), before, after)
        commands[device] = lines
        plans.append(DevicePlan(device, switch.vendor, before, after, tuple(lines)))
    raw = payload.get("approvals")
    if not isinstance(raw, list):
        raise ApprovalError("malformed", "approvals must be a list")
    try:
        approvals = [Approval(str(a["change_id"]), str(a["customer"]), str(a["expires"]), str(a["signature"]))
                     for a in raw]
    except (KeyError, TypeError):
        raise ApprovalError("malformed", "an approval needs change_id, customer, expires and signature") from None
    verify_change(change_id, commands, needed, approvals, customer_keys(site), now, used)
    return plans


def switch_password(switch: Switch, site_dir: Path = Path(".")) -> str:
    return secret_of(switch, "password", site_dir) or ""


def netmiko_connect(site: SiteConfig, timeout: float = 30.0, site_dir: Path = Path(".")) -> Callable[[str], Device]:
    """Sessions to the site's switches; credentials are read at each connection (``site_dir``:
    the site file's folder, for relative ``*_file`` paths)."""
    from network_policy.netmiko_device import (  # Netmiko only where switches are
        NetmikoDevice,
        SwitchAccess,
    )

    switches = {s.id: s for s in site.switches}

    def connect(device: str) -> Device:
        s = switches[device]
        return NetmikoDevice(SwitchAccess(s.host, s.port, s.username, switch_password(s, site_dir), s.vendor, timeout,
                                          secret=secret_of(s, "secret", site_dir) or ""))
    return connect


class NetworkService:
    def __init__(self, trusted: SiteConfig, store: EdgeStore,
                 connect: Callable[[str], Device] | None = None,
                 clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.timezone.utc),
                 site_dir: Path = Path(".")) -> None:
        self.site = trusted
        self.store = store
        self.connect = connect or netmiko_connect(trusted, site_dir=site_dir)
        self.clock = clock
        self._lock = threading.Lock()  # one change at a time on this site's switches
        self._busy: str | None = None
        self._halt = threading.Event()
        self._drift_thread: threading.Thread | None = None

    # --- state kept on the edge ---------------------------------------------------------------

    def _json(self, key: str, default: Any) -> Any:
        raw = self.store.get(key)
        return default if raw is None else json.loads(raw)

    def used_changes(self) -> set[str]:
        return set(self._json(APPLIED_KEY, []))

    def intent(self) -> dict[str, Any]:
        return self._json(INTENT_KEY, {})

    # --- changes --------------------------------------------------------------------------------

    def submit(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        """Verify now (refusals answer at once and raise an alarm); apply in the background."""
        change_id = str(payload.get("change", ""))[:100]
        with self._lock:
            if self._busy is not None:
                raise RuntimeError(f"change {self._busy} is still running on this site's switches")
            try:
                plans = check_change(payload, self.site, self.used_changes(), self.clock())
            except ApprovalError as exc:
                log.warning("change %s refused: %s", change_id, exc)
                self.store.append(EventKind.NETWORK_CHANGE_REFUSED, P.NetworkChangeRefused(
                    change=change_id, reason=exc.reason, detail=exc.detail[:P.MAX_TEXT]))
                self.store.append(AlarmKind.NETWORK_CHANGE_REFUSED.event, P.NetworkAlarm(
                    source=f"change:{change_id}", severity="critical", change=change_id, reason=exc.reason,
                    message=f"network change {change_id} refused by the edge: {exc.detail}"[:P.MAX_TEXT]))
                raise
            # Spent before the first line goes out: an approval runs once, even if the run fails.
            self.store.put(APPLIED_KEY, json.dumps(sorted(self.used_changes() | {change_id})))
            self.store.put(INFLIGHT_KEY, json.dumps({"change": change_id, "devices": [p.device for p in plans]}))
            self._busy = change_id
        threading.Thread(target=self._run, args=(change_id, plans), daemon=True,
                         name=f"network-change-{change_id}").start()
        return P.body_dict(P.NetworkApplyResult(accepted=change_id, devices=[p.device for p in plans]))

    def _run(self, change_id: str, plans: list[DevicePlan]) -> None:
        try:
            self.store.append(EventKind.NETWORK_CHANGE_STARTED, P.NetworkChangeStarted(
                change=change_id, devices=[p.device for p in plans]))
            results = apply_change(plans, self.connect, MAX_PARALLEL,
                                   progress=lambda d, st: self.store.append(EventKind.NETWORK_CHANGE_PROGRESS,
                                                                            P.NetworkChangeProgress(
                                                                                change=change_id, device=d, status=st)))
            ok = all(r.status == "saved" for r in results)
            if ok:
                intent = self.intent()
                for p in plans:
                    intent[p.device] = acls_to_json(p.after)
                self.store.put(INTENT_KEY, json.dumps(intent))
            self.store.append(EventKind.NETWORK_CHANGE_RESULT, P.NetworkChangeResult(
                change=change_id, status="applied" if ok else _overall(results),
                devices=[_result_view(r) for r in results]))
            if not ok:
                message = f"network change {change_id} did not apply: " + "; ".join(
                    f"{r.device}: {r.status} ({r.error[:200]})" for r in results if r.status != "saved")
                self.store.append(AlarmKind.NETWORK_CHANGE_FAILED.event, P.NetworkAlarm(
                    source=f"change:{change_id}", severity="critical", change=change_id,
                    message=message[:P.MAX_TEXT]))
        except Exception as exc:  # noqa: BLE001 - report, never die silently
            log.exception("change %s crashed", change_id)
            self.store.append(EventKind.NETWORK_CHANGE_RESULT, P.NetworkChangeResult(
                change=change_id, status="failed", devices=[], error=str(exc)[:500]))
        finally:
            with self._lock:
                self.store.put(INFLIGHT_KEY, "")
                self._busy = None

    # --- drift ----------------------------------------------------------------------------------

    def check_drift(self) -> list[dict[str, Any]]:
        """Compare each switch with the last change applied to it; one event per switch."""
        reports = []
        switches = {s.id: s for s in self.site.switches}
        for device, doc in sorted(self.intent().items()):
            switch = switches.get(device)
            if switch is None:
                continue
            intended = acls_from_json(doc)
            report: dict[str, Any] = {"device": device}
            dev = None
            try:
                dev = self.connect(device)
                running, listing = dev.read_config()
                actual, repair = drift(switch.vendor, intended, running, listing)
                approved, found = config_text(switch.vendor, intended), config_text(switch.vendor, actual)
                report.update(in_sync=not repair, repair=repair,
                              vlans={str(v): actual.get(v) == intended.get(v) for v in sorted(set(actual) | set(intended))},
                              intended=approved, actual=found,
                              diff=list(difflib.unified_diff(approved, found, "approved", f"{device} now",
                                                             lineterm="", n=1)))
            except Exception as exc:  # noqa: BLE001 - an unreachable switch is a finding too
                report.update(in_sync=None, error=f"{type(exc).__name__}: {exc}"[:500])
            finally:
                if dev is not None:
                    dev.close()
            self.store.append(EventKind.NETWORK_DRIFT, P.NetworkDrift(**report))
            if report.get("in_sync") is False:
                self.store.raise_alarm(AlarmKind.NETWORK_DRIFT, P.NetworkAlarm(
                    source=f"switch:{device}", severity="critical", device=device,
                    message=f"{device} differs from the approved isolation "
                            f"({len(report['repair'])} line(s) to repair)"))
            elif report.get("in_sync"):
                self.store.clear_alarm(AlarmKind.NETWORK_DRIFT, P.NetworkAlarm(source=f"switch:{device}", state="cleared"))
            reports.append(report)
        return reports

    def recover(self) -> str | None:
        """A change cut off by a restart (power, crash) left its switches in an unknown state: the
        backups were in memory. Report it and check drift at once, which shows what is there."""
        raw = self.store.get(INFLIGHT_KEY)
        if not raw:
            return None
        info = json.loads(raw)
        change_id = info.get("change", "?")
        self.store.append(EventKind.NETWORK_CHANGE_RESULT, P.NetworkChangeResult(
            change=change_id, status="interrupted", devices=[], error="the edge agent restarted mid-change"))
        self.store.append(AlarmKind.NETWORK_CHANGE_FAILED.event, P.NetworkAlarm(
            source=f"change:{change_id}", severity="critical", change=change_id,
            message=(f"network change {change_id} was cut off by an edge restart; switches "
                     f"{', '.join(info.get('devices', []))} may hold part of it (see the drift check)")[:P.MAX_TEXT]))
        self.store.put(INFLIGHT_KEY, "")
        return change_id

    def start(self, every_s: float) -> None:
        if self.recover() is not None:
            threading.Thread(target=self.check_drift, daemon=True, name="drift-after-restart").start()

        def loop() -> None:
            while not self._halt.wait(every_s):
                try:
                    if self._busy is None:
                        self.check_drift()
                except Exception:  # noqa: BLE001
                    log.exception("drift check failed")
        self._drift_thread = threading.Thread(target=loop, daemon=True, name="network-drift")
        self._drift_thread.start()

    def stop(self) -> None:
        self._halt.set()


def _result_view(r: DeviceResult) -> P.DeviceResult:
    return P.DeviceResult(device=r.device, status=r.status, error=r.error[:P.MAX_TEXT], sent=list(r.sent),
                          rollback=list(r.rollback), seconds=round(r.seconds, 2))


def _overall(results: list[DeviceResult]) -> str:
    states = {r.status for r in results}
    return "rollback_failed" if "rollback_failed" in states else "rolled_back" if "rolled_back" in states else "failed"
