"""Isolation ACLs as exact CLI lines for Cisco IOS, Huawei VRP and H3C Comware.

``change_commands`` turns a device's ACLs before and after a change into the configuration lines
that take it there, entry by entry, so a bound ACL is never missing or empty on the device:
removals go first (the ACL only gets stricter for a moment), then additions, then a new ACL is
bound only once it is complete. The same function computes a rollback (from the device's state
now back to its backup) and a drift repair.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from .acl import ANY, Acl, DeviceAcls, Entry, Net, wildcard

Vendor = Literal["cisco_ios", "huawei", "hp_comware"]
VENDORS: tuple[str, ...] = ("cisco_ios", "huawei", "hp_comware")
ACL_PREFIX = "SG-V"


def acl_name(vlan: int) -> str:
    return f"{ACL_PREFIX}{vlan}"


def _ios_addr(net: Net) -> str:
    if net == ANY:
        return "any"
    if net.prefixlen == 32:
        return f"host {net.network_address}"
    return f"{net.network_address} {wildcard(net)}"


def _vrp_addr(keyword: str, net: Net) -> str:
    if net == ANY:
        return ""
    # VRP and Comware write a host's wildcard as a bare 0.
    return f" {keyword} {net.network_address} {'0' if net.prefixlen == 32 else wildcard(net)}"


def entry_line(vendor: str, e: Entry) -> str:
    if vendor == "cisco_ios":
        port = f" eq {e.port}" if e.port is not None else ""
        return f"{e.seq} {e.action} {e.proto} {_ios_addr(e.src)} {_ios_addr(e.dst)}{port}"
    port = f" destination-port eq {e.port}" if e.port is not None else ""
    return f"rule {e.seq} {e.action} {e.proto}{_vrp_addr('source', e.src)}{_vrp_addr('destination', e.dst)}{port}"


def _remove_entry(vendor: str, seq: int) -> str:
    return f"no {seq}" if vendor == "cisco_ios" else f"undo rule {seq}"


def _enter_acl(vendor: str, vlan: int) -> str:
    name = acl_name(vlan)
    return {"cisco_ios": f"ip access-list extended {name}", "huawei": f"acl name {name} advance",
            "hp_comware": f"acl advanced name {name}"}[vendor]


def _delete_acl(vendor: str, vlan: int) -> str:
    name = acl_name(vlan)
    return {"cisco_ios": f"no ip access-list extended {name}", "huawei": f"undo acl name {name}",
            "hp_comware": f"undo acl advanced name {name}"}[vendor]


def svi_name(vendor: str, vlan: int) -> str:
    return {"cisco_ios": f"Vlan{vlan}", "huawei": f"Vlanif{vlan}", "hp_comware": f"Vlan-interface{vlan}"}[vendor]


def _bind(vendor: str, vlan: int) -> str:
    name = acl_name(vlan)
    return {"cisco_ios": f"ip access-group {name} in", "huawei": f"traffic-filter inbound acl name {name}",
            "hp_comware": f"packet-filter name {name} inbound"}[vendor]


def _unbind(vendor: str, vlan: int) -> str:
    name = acl_name(vlan)
    return {"cisco_ios": f"no ip access-group {name} in", "huawei": "undo traffic-filter inbound",
            "hp_comware": f"undo packet-filter name {name} inbound"}[vendor]


def _leave(vendor: str) -> str:
    return "exit" if vendor == "cisco_ios" else "quit"


def _check(vendor: str) -> None:
    if vendor not in VENDORS:
        raise ValueError(f"unknown vendor {vendor!r} (known: {', '.join(VENDORS)})")


def change_commands(vendor: str, before: Mapping[int, Acl], after: Mapping[int, Acl]) -> list[str]:
    """Configuration-mode lines that turn ``before`` into ``after`` on one device."""
    _check(vendor)
    lines: list[str] = []
    for vlan in sorted(set(before) | set(after)):
        old, new = before.get(vlan), after.get(vlan)
        if old == new:
            continue
        if new is None:
            lines += [f"interface {svi_name(vendor, vlan)}", _unbind(vendor, vlan), _leave(vendor),
                      _delete_acl(vendor, vlan)]
            continue
        old_entries = old.by_seq() if old is not None else {}
        new_entries = new.by_seq()
        edits = [_remove_entry(vendor, s) for s in sorted(old_entries) if new_entries.get(s) != old_entries[s]]
        edits += [entry_line(vendor, new_entries[s]) for s in sorted(new_entries)
                  if old_entries.get(s) != new_entries[s]]
        lines += [_enter_acl(vendor, vlan), *(" " + e for e in edits), _leave(vendor)]
        if old is None:
            lines += [f"interface {svi_name(vendor, vlan)}", " " + _bind(vendor, vlan), _leave(vendor)]
    return lines


def config_text(vendor: str, acls: DeviceAcls) -> list[str]:
    """The managed part of the device's configuration, as the device would list it."""
    _check(vendor)
    sep = "!" if vendor == "cisco_ios" else "#"
    out: list[str] = []
    for vlan in sorted(acls):
        out.append(_enter_acl(vendor, vlan))
        out += [" " + entry_line(vendor, e) for e in acls[vlan].entries]
        out += [sep, f"interface {svi_name(vendor, vlan)}", " " + _bind(vendor, vlan), sep]
    return out
