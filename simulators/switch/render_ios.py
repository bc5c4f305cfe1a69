"""Cisco IOS output: running/startup config in the device's own layout and the show commands."""
from __future__ import annotations

import re

from .acl import AclRule, AddrMatch, PortMatch, port_label
from .state import SwitchState, compress, port_sort_key

SHORT = {"GigabitEthernet": "Gi", "FastEthernet": "Fa", "TenGigabitEthernet": "Te"}
# A fixed stand-in for the local user's hashed secret: the simulator never stores the password.
SECRET = "$1$mERr$hx5rVt7rPNoS4wqbXKX7m0"


def short_name(name: str) -> str:
    m = re.match(r"(\D+)(.*)", name)
    return SHORT.get(m.group(1), m.group(1)) + m.group(2) if m else name


def vlan_list(ids: list[int]) -> str:
    return ",".join(f"{a}" if a == b else f"{a}-{b}" for a, b in compress(ids)) or "none"


def _addr(a: AddrMatch | None) -> str:
    if a is None:
        return "any"
    if a.is_host:
        return f"host {a.address}"
    return f"{a.address} {a.wildcard}"


def _port(protocol: str, p: PortMatch | None) -> str:
    if p is None:
        return ""
    if p.op == "eq":
        return f" eq {port_label(protocol, p.lo)}"
    return f" range {port_label(protocol, p.lo)} {port_label(protocol, p.hi)}"


def entry_text(rule: AclRule, pad: bool = False) -> str:
    """`permit tcp host 10.0.0.1 any eq www`; pad=True aligns `deny` the way the config does."""
    if rule.action == "remark":
        return f"remark {rule.remark}"
    action = f"{rule.action:<6}" if pad else rule.action
    return (f"{action} {rule.protocol} {_addr(rule.src)}{_port(rule.protocol, rule.src_port)} "
            f"{_addr(rule.dst)}{_port(rule.protocol, rule.dst_port)}")


def _body(st: SwitchState, username: str | None) -> list[str]:
    out = ["!", "version 15.2", "no service pad", "service timestamps debug datetime msec",
           "service timestamps log datetime msec", "no service password-encryption", "!",
           f"hostname {st.hostname}", "!", "boot-start-marker", "boot-end-marker", "!", "!"]
    if username:
        out.append(f"username {username} privilege 15 secret 5 {SECRET}")
    out += ["no aaa new-model", "system mtu routing 1500", "!", "!", "no ip domain-lookup", "!",
            "vtp mode transparent", "!", "spanning-tree mode rapid-pvst",
            "spanning-tree extend system-id", "!", "vlan internal allocation policy ascending",
            "!"]
    # Unnamed VLANs are listed as ranges, a named one gets its own block (as IOS prints them).
    plain: list[int] = []
    for vid, name in sorted(st.vlans.items()):
        if vid == 1:
            continue
        if name is None:
            plain.append(vid)
            continue
        if plain:
            out += [f"vlan {vlan_list(plain)}", "!"]
            plain = []
        out += [f"vlan {vid}", f" name {name}", "!"]
    if plain:
        out += [f"vlan {vlan_list(plain)}", "!"]
    out.append("!")
    for iface in sorted(st.physical(), key=lambda i: port_sort_key(i.name)):
        out.append(f"interface {iface.name}")
        if iface.description:
            out.append(f" description {iface.description}")
        if iface.access_vlan != 1:
            out.append(f" switchport access vlan {iface.access_vlan}")
        if iface.native_vlan != 1:
            out.append(f" switchport trunk native vlan {iface.native_vlan}")
        if iface.trunk_allowed is not None:
            out.append(f" switchport trunk allowed vlan {vlan_list(iface.trunk_allowed)}")
        if iface.mode:
            out.append(f" switchport mode {iface.mode}")
        if iface.shutdown:
            out.append(" shutdown")
        out.append("!")
    for iface in st.svis():
        out.append(f"interface {iface.name}")
        if iface.description:
            out.append(f" description {iface.description}")
        out.append(f" ip address {iface.ip[0]} {iface.ip[1]}" if iface.ip else " no ip address")
        if iface.acl_in:
            out.append(f" ip access-group {iface.acl_in} in")
        if iface.acl_out:
            out.append(f" ip access-group {iface.acl_out} out")
        if iface.shutdown:
            out.append(" shutdown")
        out.append("!")
    out += ["ip ssh version 2", "no ip http server", "no ip http secure-server", "!"]
    for acl in st.acls.values():
        out.append(f"ip access-list extended {acl.name}")
        out += [" " + entry_text(r, pad=True) for r in acl.sorted_rules()]
        out.append("!")
    out += ["!", "line con 0", "line vty 0 4", " login local", " transport input ssh",
            "line vty 5 15", " login local", " transport input ssh", "!", "end"]
    return out


def running_config(st: SwitchState, username: str | None = None) -> list[str]:
    body = _body(st, username)
    size = sum(len(line) + 1 for line in body)
    return ["Building configuration...", "", f"Current configuration : {size} bytes", *body]


def startup_config(st: SwitchState, username: str | None = None) -> list[str]:
    body = _body(st, username)
    size = sum(len(line) + 1 for line in body)
    return [f"Using {size} out of 524288 bytes", *body]


def vlan_brief(st: SwitchState) -> list[str]:
    out = ["", "VLAN Name                             Status    Ports",
           "---- -------------------------------- --------- -------------------------------"]
    access = [i for i in sorted(st.physical(), key=lambda i: port_sort_key(i.name))
              if i.mode != "trunk"]
    for vid, name in sorted(st.vlans.items()):
        label = "default" if vid == 1 else (name or f"VLAN{vid:04d}")
        ports = [short_name(i.name) for i in access if i.access_vlan == vid]
        chunks = [", ".join(ports[k:k + 4]) for k in range(0, len(ports), 4)] or [""]
        out.append(f"{vid:<4} {label:<32} {'active':<9} {chunks[0]}")
        out += [" " * 48 + c for c in chunks[1:]]
    for vid, label in ((1002, "fddi-default"), (1003, "token-ring-default"),
                       (1004, "fddinet-default"), (1005, "trnet-default")):
        out.append(f"{vid:<4} {label:<32} act/unsup ")
    return out


def access_lists(st: SwitchState, name: str | None = None) -> list[str]:
    out = []
    for acl in st.acls.values():
        if name is not None and acl.name != name:
            continue
        out.append(f"Extended IP access list {acl.name}")
        out += [f"    {r.seq} {entry_text(r)}" for r in acl.sorted_rules()
                if r.action != "remark"]
    return out


def ip_interface_brief(st: SwitchState) -> list[str]:
    out = ["Interface              IP-Address      OK? Method Status                Protocol"]
    for iface in sorted(st.physical(), key=lambda i: port_sort_key(i.name)) + st.svis():
        ip = iface.ip[0] if iface.ip else "unassigned"
        method = "NVRAM" if iface.ip else "unset"
        if iface.shutdown:
            status, proto = "administratively down", "down"
        elif iface.is_svi:
            status, proto = "up", "up" if iface.svi_vlan in st.vlans else "down"
        else:
            status, proto = "up", "up"
        out.append(f"{iface.name:<23}{ip:<16}YES {method:<7}{status:<22}{proto}")
    return out


def interfaces_status(st: SwitchState) -> list[str]:
    out = ["", "Port      Name               Status       Vlan       Duplex  Speed Type "]
    for iface in sorted(st.physical(), key=lambda i: port_sort_key(i.name)):
        status = "disabled" if iface.shutdown else "connected"
        vlan = "trunk" if iface.mode == "trunk" else str(iface.access_vlan)
        name = (iface.description or "")[:18]
        out.append(f"{short_name(iface.name):<10}{name:<19}{status:<13}{vlan:<11}"
                   f"a-full a-1000 10/100/1000BaseTX")
    return out


def version(st: SwitchState) -> list[str]:
    return [
        "Cisco IOS Software, C2960X Software (C2960X-UNIVERSALK9-M), Version 15.2(7)E4, "
        "RELEASE SOFTWARE (fc2)",
        "Technical Support: http://www.cisco.com/techsupport",
        "Copyright (c) 1986-2021 by Cisco Systems, Inc.",
        "",
        "ROM: Bootstrap program is C2960X boot loader",
        "",
        f"{st.hostname} uptime is 1 week, 2 days, 3 hours, 4 minutes",
        "System image file is \"flash:c2960x-universalk9-mz.152-7.E4.bin\"",
        "",
        f"cisco WS-C2960X-{len(st.physical())}TS-L (APM86XXX) processor with 524288K bytes "
        "of memory.",
        f"{len(st.physical())} Gigabit Ethernet interfaces",
        "",
        "Configuration register is 0xF",
    ]
