"""Read a switch's managed ACLs back from what it prints.

Cisco IOS leaves sequence numbers out of ``show running-config``, so its entries come from
``show ip access-lists`` and its bindings from the running config. VRP and Comware print rule ids
in the configuration itself. Only SiteGuard's ACLs (``SG-V<vlan>``) bound inbound on their own
VLAN's SVI count as managed; anything else found with our prefix is reported as stray.
"""
from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field

from .acl import ANY, Acl, DeviceAcls, Entry, Net
from .render import ACL_PREFIX
from .replies import refusal

# Well-known names switches print instead of numbers.
PORT_NAMES = {"ftp-data": 20, "ftp": 21, "ssh": 22, "telnet": 23, "smtp": 25, "domain": 53, "dns": 53,
              "www": 80, "http": 80, "pop3": 110, "ntp": 123, "snmp": 161, "https": 443, "syslog": 514,
              "bootps": 67, "bootpc": 68, "tftp": 69, "bgp": 179}


class ParseError(ValueError):
    pass


@dataclass
class DeviceState:
    acls: dict[str, tuple[Entry, ...]] = field(default_factory=dict)  # ACL name -> entries
    inbound: dict[int, str] = field(default_factory=dict)  # SVI VLAN -> inbound ACL name

    def managed(self) -> DeviceAcls:
        """VLAN -> ACL for every SVI whose inbound ACL is SiteGuard's own for that VLAN."""
        return {vlan: Acl(vlan, self.acls.get(name, ())) for vlan, name in sorted(self.inbound.items())
                if name == f"{ACL_PREFIX}{vlan}"}

    def stray(self) -> list[str]:
        """Our ACLs that are not bound where they belong, and our VLANs bound to something else."""
        out = [f"ACL {n} exists but is not bound inbound on VLAN {n[len(ACL_PREFIX):]}'s interface"
               for n in sorted(self.acls) if n.startswith(ACL_PREFIX) and self.inbound.get(_vlan_of(n)) != n]
        out += [f"VLAN {v}'s interface filters inbound with {n}, not {ACL_PREFIX}{v}"
                for v, n in sorted(self.inbound.items()) if n.startswith(ACL_PREFIX) and n != f"{ACL_PREFIX}{v}"]
        return out


def _vlan_of(name: str) -> int | None:
    tail = name[len(ACL_PREFIX):]
    return int(tail) if tail.isdigit() else None


def _port(text: str) -> int:
    if text.isdigit():
        return int(text)
    try:
        return PORT_NAMES[text.lower()]
    except KeyError:
        raise ParseError(f"unknown port name {text!r}") from None


def _net(address: str, wild: str) -> Net:
    wild = "0.0.0.0" if wild == "0" else wild
    mask = int(ipaddress.IPv4Address(wild)) ^ 0xFFFFFFFF
    prefix = bin(mask).count("1")
    try:
        return ipaddress.IPv4Network(f"{address}/{prefix}", strict=True)
    except ValueError as exc:
        raise ParseError(f"{address} {wild}: {exc}") from None


def _ios_addr(tokens: list[str]) -> Net:
    head = tokens.pop(0)
    if head == "any":
        return ANY
    if head == "host":
        return _net(tokens.pop(0), "0.0.0.0")
    return _net(head, tokens.pop(0))


def ios_entry(line: str) -> Entry:
    """``10 permit tcp 10.110.0.0 0.0.0.255 host 10.0.0.10 eq 443 (12 matches)``"""
    text = re.sub(r"\s*\(\d+ matches?\)\s*$", "", line.strip())
    tokens = text.split()
    try:
        seq, action, proto = int(tokens[0]), tokens[1], tokens[2]
        rest = tokens[3:]
        src, dst = _ios_addr(rest), _ios_addr(rest)
        port = None
        if rest[:1] == ["eq"]:
            port = _port(rest[1])
            rest = rest[2:]
        if rest:
            raise ParseError(f"unexpected {' '.join(rest)!r}")
        return Entry(seq, action, proto, src, dst, port)  # type: ignore[arg-type]
    except (IndexError, ValueError) as exc:
        raise ParseError(f"cannot read ACL entry {line.strip()!r}: {exc}") from None


def rule_entry(line: str) -> Entry:
    """VRP/Comware: ``rule 10 permit tcp source 10.110.0.0 0.0.0.255 destination 10.0.0.10 0
    destination-port eq 443``"""
    tokens = line.split()
    try:
        if tokens[0] != "rule":
            raise ParseError("not a rule")
        seq, action, proto = int(tokens[1]), tokens[2], tokens[3]
        src = dst = ANY
        port = None
        rest = tokens[4:]
        while rest:
            key = rest.pop(0)
            if key == "source":
                src = _net(rest.pop(0), rest.pop(0))
            elif key == "destination":
                dst = _net(rest.pop(0), rest.pop(0))
            elif key == "destination-port":
                if rest.pop(0) != "eq":
                    raise ParseError("only 'destination-port eq' is managed")
                port = _port(rest.pop(0))
            else:
                raise ParseError(f"unexpected {key!r}")
        return Entry(seq, action, proto, src, dst, port)  # type: ignore[arg-type]
    except (IndexError, ValueError) as exc:
        raise ParseError(f"cannot read ACL rule {line.strip()!r}: {exc}") from None


_IOS_LIST = re.compile(r"^(?:Extended|Standard) IP access list (\S+)")
_SVI = {"cisco_ios": re.compile(r"^interface Vlan(\d+)$"),
        "huawei": re.compile(r"^interface Vlanif(\d+)$"),
        "hp_comware": re.compile(r"^interface Vlan-interface(\d+)$")}
_BIND = {"cisco_ios": re.compile(r"^ip access-group (\S+) in$"),
         "huawei": re.compile(r"^traffic-filter inbound acl (?:name )?(\S+)$"),
         "hp_comware": re.compile(r"^packet-filter (?:name )?(\S+) inbound$")}
_RULE_ACL = {"huawei": re.compile(r"^acl (?:name (\S+)(?: \S+)?|number (\d+)|(\d+))$"),
             "hp_comware": re.compile(r"^acl advanced (?:name (\S+)|(\d+))$")}


# What every complete configuration listing of the dialect holds: its name line and its last line.
_SYSNAME = re.compile(r"^\s*sysname \S+$", re.MULTILINE)
_NAME_LINE = {"cisco_ios": re.compile(r"^hostname \S+$", re.MULTILINE), "huawei": _SYSNAME, "hp_comware": _SYSNAME}
_LAST_LINE = {"cisco_ios": "end", "huawei": "return", "hp_comware": "return"}


def check_read(vendor: str, running: str, acl_listing: str = "") -> None:
    """Raise ParseError unless ``running`` is a whole configuration of ``vendor`` (and the IOS ACL
    listing a listing): a refused or cut-off read must never pass for a device without ACLs."""
    for what, text in (("configuration", running), ("ACL listing", acl_listing)):
        refused = refusal(text)
        if refused:
            raise ParseError(f"the device refused to list its {what}: {refused!r}")
    lines = [ln.strip() for ln in running.splitlines() if ln.strip()]
    if not lines:
        raise ParseError("the device listed an empty configuration")
    if not _NAME_LINE[vendor].search(running) or lines[-1] != _LAST_LINE[vendor]:
        raise ParseError(f"the reply is not a whole {vendor} configuration "
                         f"(no name line or no final {_LAST_LINE[vendor]!r}): {lines[0][:80]!r} ... {lines[-1][:80]!r}")
    if vendor == "cisco_ios":
        for raw in acl_listing.splitlines():
            if raw.strip() and not _IOS_LIST.match(raw.strip()) and not raw[:1].isspace():
                raise ParseError(f"unexpected line in the ACL listing: {raw.strip()[:80]!r}")


def parse_read(vendor: str, running: str, acl_listing: str = "") -> DeviceState:
    """``parse_device`` over what a device printed, refusing anything that is not a whole read."""
    check_read(vendor, running, acl_listing)
    return parse_device(vendor, running, acl_listing)


def parse_device(vendor: str, running: str, acl_listing: str = "") -> DeviceState:
    """``running``: the running configuration; ``acl_listing``: IOS ``show ip access-lists``."""
    state = DeviceState()
    svi_re, bind_re = _SVI[vendor], _BIND[vendor]
    svi: int | None = None
    acl: str | None = None
    rules: dict[str, list[Entry]] = {}
    for raw in running.splitlines():
        line = raw.rstrip()
        if not line.strip():
            continue
        top = not line.startswith(" ")
        if top:
            svi, acl = None, None
            m = svi_re.match(line)
            if m:
                svi = int(m.group(1))
                continue
            if vendor != "cisco_ios":
                m = _RULE_ACL[vendor].match(line)
                if m:
                    acl = next(g for g in m.groups() if g)
                    rules.setdefault(acl, [])
            continue
        body = line.strip()
        if svi is not None:
            m = bind_re.match(body)
            if m:
                state.inbound[svi] = m.group(1)
        elif acl is not None and body.startswith("rule "):
            rules[acl].append(rule_entry(body))
    if vendor == "cisco_ios":
        name = None
        for raw in acl_listing.splitlines():
            m = _IOS_LIST.match(raw.strip())
            if m:
                name = m.group(1)
                rules.setdefault(name, [])
            elif raw.strip() and name is not None:
                rules[name].append(ios_entry(raw))
    state.acls = {n: tuple(sorted(es)) for n, es in rules.items()}
    return state
