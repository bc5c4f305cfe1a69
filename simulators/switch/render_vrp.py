"""Huawei VRP output: current/saved configuration in the device's layout and display commands."""
from __future__ import annotations

import re

from .acl import AclRule, AddrMatch, PortMatch, port_label
from .state import Acl, Interface, SwitchState, compress, port_sort_key

CIPHER = "%^%#Q0a:K-[4xT8>Sm9QyJH]p8pE^=wP)4lB6f~0UCu5A%^%#"  # fixed stand-in, never the password


def vlan_words(ids: list[int]) -> str:
    return " ".join(f"{a}" if a == b else f"{a} to {b}" for a, b in compress(ids))


def short_name(name: str) -> str:
    return re.sub(r"^GigabitEthernet", "GE", re.sub(r"^XGigabitEthernet", "XGE", name))


def _addr(word: str, a: AddrMatch | None) -> str:
    if a is None:
        return ""
    return f" {word} {a.address} {'0' if a.is_host else a.wildcard}"


def _port(word: str, protocol: str, p: PortMatch | None) -> str:
    if p is None:
        return ""
    if p.op == "eq":
        return f" {word} eq {port_label(protocol, p.lo)}"
    return f" {word} range {port_label(protocol, p.lo)} {port_label(protocol, p.hi)}"


def rule_text(rule: AclRule) -> str:
    return (f"rule {rule.seq} {rule.action} {rule.protocol}{_addr('source', rule.src)}"
            f"{_addr('destination', rule.dst)}{_port('source-port', rule.protocol, rule.src_port)}"
            f"{_port('destination-port', rule.protocol, rule.dst_port)}")


def acl_header(acl: Acl) -> str:
    return f"acl number {acl.name}" if acl.name.isdigit() else f"acl name {acl.name} {acl.number}"


def acl_ref(key: str) -> str:
    return f"acl {key}" if key.isdigit() else f"acl name {key}"


def _interface_lines(st: SwitchState, iface: Interface) -> list[str]:
    out = [f"interface {iface.name}"]
    if iface.description:
        out.append(f" description {iface.description}")
    if iface.is_svi:
        if iface.ip:
            out.append(f" ip address {iface.ip[0]} {iface.ip[1]}")
        if iface.acl_in:
            out.append(f" traffic-filter inbound {acl_ref(iface.acl_in)}")
        if iface.acl_out:
            out.append(f" traffic-filter outbound {acl_ref(iface.acl_out)}")
    else:
        if iface.mode:
            out.append(f" port link-type {iface.mode}")
        if iface.mode in ("trunk", "hybrid"):
            allowed = set(range(1, 4095)) if iface.trunk_allowed is None \
                else set(iface.trunk_allowed)
            if 1 not in allowed:
                out.append(" undo port trunk allow-pass vlan 1")
            if iface.native_vlan != 1:
                out.append(f" port trunk pvid vlan {iface.native_vlan}")
            extra = sorted(allowed - {1})
            if extra:
                out.append(f" port trunk allow-pass vlan {vlan_words(extra)}")
        if iface.access_vlan != 1:
            out.append(f" port default vlan {iface.access_vlan}")
    if iface.shutdown:
        out.append(" shutdown")
    out.append("#")
    return out


def _body(st: SwitchState, username: str | None) -> list[str]:
    out = ["!Software Version V200R019C10SPC500", "#", f"sysname {st.hostname}", "#"]
    others = [v for v in st.vlans if v != 1]
    if others:
        out += [f"vlan batch {vlan_words(others)}", "#"]
    out += ["stp enable", "#"]
    for vid, name in sorted(st.vlans.items()):
        if vid != 1 and name:
            out += [f"vlan {vid}", f" description {name}", "#"]
    for acl in st.acls.values():
        out.append(acl_header(acl))
        out += [" " + rule_text(r) for r in acl.sorted_rules() if r.action != "remark"]
        out.append("#")
    out.append("aaa")
    if username:
        out += [f" local-user {username} password irreversible-cipher {CIPHER}",
                f" local-user {username} privilege level 15",
                f" local-user {username} service-type ssh"]
    out.append("#")
    for iface in st.svis():
        out += _interface_lines(st, iface)
    for iface in sorted(st.physical(), key=lambda i: port_sort_key(i.name)):
        out += _interface_lines(st, iface)
    out += ["user-interface con 0", " authentication-mode aaa", "user-interface vty 0 4",
            " authentication-mode aaa", " protocol inbound ssh", "#", "return"]
    return out


def running_config(st: SwitchState, username: str | None = None) -> list[str]:
    return _body(st, username)


def startup_config(st: SwitchState, username: str | None = None) -> list[str]:
    return _body(st, username)


def members(st: SwitchState, vid: int) -> tuple[list[str], list[str]]:
    """(untagged, tagged) short port names of a VLAN."""
    ut, tg = [], []
    for iface in sorted(st.physical(), key=lambda i: port_sort_key(i.name)):
        if iface.mode in ("trunk", "hybrid"):
            allowed = iface.trunk_allowed is None or vid in iface.trunk_allowed
            if allowed and vid == iface.native_vlan:
                ut.append(iface)
            elif allowed:
                tg.append(iface)
        elif iface.access_vlan == vid:
            ut.append(iface)
    label = [f"{short_name(i.name)}({'D' if i.shutdown else 'U'})" for i in ut]
    tagged = [f"{short_name(i.name)}({'D' if i.shutdown else 'U'})" for i in tg]
    return label, tagged


def _port_rows(tag: str, ports: list[str]) -> list[str]:
    rows = []
    for k in range(0, len(ports), 4):
        cells = "".join(f"{p:<16}" for p in ports[k:k + 4]).rstrip()
        rows.append((f"{tag}:" if k == 0 else "   ") + cells)
    return rows


def vlans(st: SwitchState, brief: bool = False) -> list[str]:
    dash = "-" * 80
    out = [f"The total number of VLANs is : {len(st.vlans)}", dash,
           "U: Up;         D: Down;         TG: Tagged;         UT: Untagged;",
           "MP: Vlan-mapping;               ST: Vlan-stacking;",
           "#: ProtocolTransparent-vlan;    *: Management-vlan;", dash, "",
           "VID  Type    Ports", dash]
    for vid in sorted(st.vlans):
        ut, tg = members(st, vid)
        rows = _port_rows("UT", ut) + _port_rows("TG", tg)
        first = rows[0] if rows else ""
        out.append(f"{vid:<5}{'common':<8}{first}".rstrip())
        out += [" " * 13 + r for r in rows[1:]]
    out += ["", "VID  Status  Property      MAC-LRN Statistics Description", dash]
    for vid, name in sorted(st.vlans.items()):
        out.append(f"{vid:<5}{'enable':<8}{'default':<14}{'enable':<8}{'disable':<11}"
                   f"{name or f'VLAN {vid:04d}'}")
    return out


def acls(st: SwitchState, key: str | None = None) -> list[str]:
    chosen = [a for a in st.acls.values() if key is None or a.name == key]
    out = []
    if key is None:
        nonempty = sum(1 for a in chosen if a.rules)
        out += [f" Total quantity of nonempty ACL number is {nonempty} ", ""]
    for acl in chosen:
        rules = [r for r in acl.sorted_rules() if r.action != "remark"]
        label = acl.name if acl.name.isdigit() else f"{acl.name} {acl.number}"
        out += [f" Advanced ACL {label}, {len(rules)} rule{'s' if len(rules) != 1 else ''}",
                " Acl's step is 5"]
        out += [f" {rule_text(r)} " for r in rules]
        out.append("")
    return out


def ip_interface_brief(st: SwitchState) -> list[str]:
    out = ["*down: administratively down", "^down: standby", "(l): loopback", "(s): spoofing",
           f"The number of interface that is UP in Physical is {len(st.svis())}",
           "The number of interface that is DOWN in Physical is 0",
           f"The number of interface that is UP in Protocol is {len(st.svis())}",
           "The number of interface that is DOWN in Protocol is 0", "",
           "Interface                         IP Address/Mask      Physical   Protocol  "]
    for iface in st.svis():
        if iface.ip:
            plen = sum(bin(int(x)).count("1") for x in iface.ip[1].split("."))
            addr = f"{iface.ip[0]}/{plen}"
        else:
            addr = "unassigned"
        phys = "*down" if iface.shutdown else "up"
        proto = "down" if iface.shutdown else "up"
        out.append(f"{iface.name:<34}{addr:<21}{phys:<11}{proto}")
    return out


def version(st: SwitchState) -> list[str]:
    return ["Huawei Versatile Routing Platform Software",
            "VRP (R) software, Version 5.170 (S5735 V200R019C10SPC500)",
            "Copyright (C) 2000-2020 HUAWEI TECH Co., Ltd.",
            f"HUAWEI S5735-L{len(st.physical())}T4X-A Routing Switch uptime is 9 days, 3 hours, "
            "12 minutes"]
