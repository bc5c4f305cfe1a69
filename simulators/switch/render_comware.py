"""H3C Comware 7 output: current/saved configuration and display commands.

Comware prints global one-liners indented by one space and views (vlan, interface, acl, line)
at the margin, with `#` between sections."""
from __future__ import annotations

from .render_vrp import members, rule_text, short_name, vlan_words
from .state import Interface, SwitchState, port_sort_key

HASH = "$h$6$Qx1Yn0NqQ4tM2aQy$eJ3y0x9oG8cYQd0s5b1v2t3w4x5y6z7A8B9C0D1E2F3G4H5I6J7K8L9M0N1O2P=="


def _acl_ref(key: str) -> str:
    return key if key.isdigit() else f"name {key}"


def _interface(iface: Interface) -> list[str]:
    out = [f"interface {iface.name}"]
    if not iface.is_svi:
        out.append(" port link-mode bridge")
    if iface.description:
        out.append(f" description {iface.description}")
    if iface.is_svi:
        if iface.ip:
            out.append(f" ip address {iface.ip[0]} {iface.ip[1]}")
        if iface.acl_in:
            out.append(f" packet-filter {_acl_ref(iface.acl_in)} inbound")
        if iface.acl_out:
            out.append(f" packet-filter {_acl_ref(iface.acl_out)} outbound")
    else:
        if iface.mode in ("trunk", "hybrid"):
            out.append(f" port link-type {iface.mode}")
            allowed = set(range(1, 4095)) if iface.trunk_allowed is None \
                else set(iface.trunk_allowed)
            if 1 not in allowed:
                out.append(" undo port trunk permit vlan 1")
            extra = sorted(allowed - {1})
            if extra:
                out.append(f" port trunk permit vlan {vlan_words(extra)}")
            if iface.native_vlan != 1:
                out.append(f" port trunk pvid vlan {iface.native_vlan}")
        elif iface.access_vlan != 1:
            out.append(f" port access vlan {iface.access_vlan}")
    if iface.shutdown:
        out.append(" shutdown")
    out.append("#")
    return out


def _body(st: SwitchState, username: str | None) -> list[str]:
    out = ["#", " version 7.1.070, Release 6635P07", "#", f" sysname {st.hostname}", "#",
           " stp global enable", "#"]
    for vid, name in sorted(st.vlans.items()):
        out.append(f"vlan {vid}")
        if name:
            out.append(f" name {name}")
        out.append("#")
    for iface in st.svis():
        out += _interface(iface)
    for iface in sorted(st.physical(), key=lambda i: port_sort_key(i.name)):
        out += _interface(iface)
    for acl in st.acls.values():
        out.append(f"acl advanced {acl.name}" if acl.name.isdigit()
                   else f"acl advanced name {acl.name}")
        out += [" " + rule_text(r) for r in acl.sorted_rules() if r.action != "remark"]
        out.append("#")
    out += ["line class aux", " user-role network-admin", "#", "line vty 0 63",
            " authentication-mode scheme", " user-role network-operator", "#",
            " ssh server enable", "#"]
    if username:
        out += [f"local-user {username} class manage", f" password hash {HASH}",
                " service-type ssh", " authorization-attribute user-role network-admin", "#"]
    out.append("return")
    return out


def running_config(st: SwitchState, username: str | None = None) -> list[str]:
    return _body(st, username)


def startup_config(st: SwitchState, username: str | None = None) -> list[str]:
    return _body(st, username)


def vlans(st: SwitchState, brief: bool = False) -> list[str]:
    if not brief:
        ids = sorted(st.vlans)
        listed = ", ".join("1(default)" if v == 1 else str(v) for v in ids)
        return [f" Total VLANs: {len(ids)}", " The VLANs include:", f" {listed}"]
    out = ["Brief information about all VLANs:", "Supported Minimum VLAN ID: 1",
           "Supported Maximum VLAN ID: 4094", "Default VLAN ID: 1",
           "VLAN ID   Name                             Port"]
    for vid, name in sorted(st.vlans.items()):
        ut, tg = members(st, vid)
        ports = " ".join(p.split("(")[0] for p in ut + tg)
        out.append(f"{vid:<10}{(name or f'VLAN {vid:04d}'):<33}{ports}".rstrip())
    return out


def acls(st: SwitchState, key: str | None = None) -> list[str]:
    out = []
    for acl in st.acls.values():
        if key is not None and acl.name != key:
            continue
        rules = [r for r in acl.sorted_rules() if r.action != "remark"]
        label = acl.name if acl.name.isdigit() else f"named {acl.name}"
        out += [f"Advanced IPv4 ACL {label}, {len(rules)} rule{'s' if len(rules) != 1 else ''},",
                "ACL's step is 5, start ID is 0"]
        out += [f" {rule_text(r)}" for r in rules]
        out.append("")
    return out


def ip_interface_brief(st: SwitchState) -> list[str]:
    out = ["*down: administratively down", "(s): spoofing  (l): loopback",
           "Interface            Physical Protocol IP address      VPN instance Description"]
    for iface in st.svis():
        phys = "ADM" if iface.shutdown else "UP"
        proto = "DOWN" if iface.shutdown else "UP"
        ip = iface.ip[0] if iface.ip else "--"
        out.append(f"{short_name(iface.name).replace('Vlan-interface', 'Vlan'):<21}{phys:<9}"
                   f"{proto:<9}{ip:<16}{'--':<13}{iface.description or '--'}")
    return out


def version(st: SwitchState) -> list[str]:
    return ["H3C Comware Software, Version 7.1.070, Release 6635P07",
            "Copyright (c) 2004-2021 New H3C Technologies Co., Ltd. All rights reserved.",
            f"H3C S5130S-{len(st.physical())}S-EI uptime is 0 weeks, 3 days, 2 hours, 7 minutes"]
