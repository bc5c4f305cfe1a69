"""One switch's configuration as data: VLANs, interfaces (ports and SVIs), ACLs, hostname.

Vendor-neutral except for names (interface and ACL names are stored as the vendor spells
them), so the renderers, the control endpoint and the nftables export all read one model.
Serialises to plain JSON for the state file and the control endpoint.
"""
from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field

from .acl import AclRule

VENDORS = ("cisco_ios", "huawei", "hp_comware")

# What a switch calls the L3 interface of VLAN N.
SVI_PREFIX = {"cisco_ios": "Vlan", "huawei": "Vlanif", "hp_comware": "Vlan-interface"}
DEFAULT_HOSTNAME = {"cisco_ios": "Switch", "huawei": "HUAWEI", "hp_comware": "H3C"}


@dataclass
class Interface:
    name: str
    svi_vlan: int | None = None         # set for VLAN interfaces (SVI / Vlanif)
    mode: str | None = None             # access | trunk | hybrid | None (factory default)
    access_vlan: int = 1
    trunk_allowed: list[int] | None = None   # None = every VLAN
    native_vlan: int = 1
    shutdown: bool = False
    description: str | None = None
    ip: tuple[str, str] | None = None   # (address, dotted mask), SVIs only
    acl_in: str | None = None
    acl_out: str | None = None

    @property
    def is_svi(self) -> bool:
        return self.svi_vlan is not None

    def to_dict(self) -> dict:
        d = dict(self.__dict__)
        d["ip"] = list(self.ip) if self.ip else None
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "Interface":
        d = dict(d)
        if d.get("ip"):
            d["ip"] = tuple(d["ip"])
        return cls(**d)


@dataclass
class Acl:
    name: str                      # IOS name, or VRP/Comware number as text ("3001") or name
    number: int | None = None      # VRP/Comware number (named ACLs get one too)
    rules: list[AclRule] = field(default_factory=list)

    def sorted_rules(self) -> list[AclRule]:
        return sorted(self.rules, key=lambda r: r.seq)

    def rule(self, seq: int) -> AclRule | None:
        return next((r for r in self.rules if r.seq == seq), None)

    def put(self, rule: AclRule) -> None:
        self.rules = sorted([r for r in self.rules if r.seq != rule.seq] + [rule],
                            key=lambda r: r.seq)

    def to_dict(self) -> dict:
        return {"name": self.name, "number": self.number,
                "rules": [r.to_dict() for r in self.sorted_rules()]}

    @classmethod
    def from_dict(cls, d: dict) -> "Acl":
        return cls(d["name"], d.get("number"), [AclRule.from_dict(r) for r in d["rules"]])


@dataclass
class SwitchState:
    vendor: str
    hostname: str
    vlans: dict[int, str | None] = field(default_factory=lambda: {1: None})
    interfaces: dict[str, Interface] = field(default_factory=dict)
    acls: dict[str, Acl] = field(default_factory=dict)

    @classmethod
    def factory(cls, vendor: str, hostname: str | None, ports: list[str]) -> "SwitchState":
        """A switch out of the box: VLAN 1, every port in it, the VLAN 1 interface."""
        if vendor not in VENDORS:
            raise ValueError(f"vendor must be one of {', '.join(VENDORS)}, not {vendor!r}")
        st = cls(vendor, hostname or DEFAULT_HOSTNAME[vendor])
        for name in ports:
            st.interfaces[name] = Interface(name, trunk_allowed=cls._default_trunk(vendor))
        st.add_svi(1)
        return st

    @staticmethod
    def _default_trunk(vendor: str) -> list[int] | None:
        # A fresh IOS trunk carries every VLAN; VRP and Comware trunks carry only VLAN 1.
        return None if vendor == "cisco_ios" else [1]

    def default_trunk(self) -> list[int] | None:
        return self._default_trunk(self.vendor)

    # ---- interfaces ------------------------------------------------------------------------
    def svi_name(self, vlan: int) -> str:
        return f"{SVI_PREFIX[self.vendor]}{vlan}"

    def add_svi(self, vlan: int) -> Interface:
        name = self.svi_name(vlan)
        if name not in self.interfaces:
            self.interfaces[name] = Interface(name, svi_vlan=vlan)
        return self.interfaces[name]

    def physical(self) -> list[Interface]:
        return [i for i in self.interfaces.values() if not i.is_svi]

    def svis(self) -> list[Interface]:
        return sorted((i for i in self.interfaces.values() if i.is_svi),
                      key=lambda i: i.svi_vlan)

    # ---- serialisation ---------------------------------------------------------------------
    def copy(self) -> "SwitchState":
        return copy.deepcopy(self)

    def to_dict(self) -> dict:
        return {"vendor": self.vendor, "hostname": self.hostname,
                "vlans": [{"id": v, "name": n} for v, n in sorted(self.vlans.items())],
                "interfaces": [i.to_dict() for i in self.interfaces.values()],
                "acls": [a.to_dict() for a in self.acls.values()]}

    @classmethod
    def from_dict(cls, d: dict) -> "SwitchState":
        st = cls(d["vendor"], d["hostname"], {v["id"]: v.get("name") for v in d["vlans"]})
        for i in d["interfaces"]:
            iface = Interface.from_dict(i)
            st.interfaces[iface.name] = iface
        for a in d["acls"]:
            acl = Acl.from_dict(a)
            st.acls[acl.name] = acl
        return st


def port_sort_key(name: str) -> tuple:
    """GigabitEthernet0/0/10 after GigabitEthernet0/0/9."""
    m = re.match(r"(\D+)([\d/]+)$", name)
    if not m:
        return (name, ())
    return (m.group(1), tuple(int(x) for x in m.group(2).split("/") if x))


def compress(ids: list[int]) -> list[tuple[int, int]]:
    """[1, 2, 3, 7] -> [(1, 3), (7, 7)]"""
    runs: list[tuple[int, int]] = []
    for v in sorted(set(ids)):
        if runs and v == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], v)
        else:
            runs.append((v, v))
    return runs


def default_port_names(vendor: str, count: int) -> list[str]:
    prefix = {"cisco_ios": "GigabitEthernet0/", "huawei": "GigabitEthernet0/0/",
              "hp_comware": "GigabitEthernet1/0/"}[vendor]
    return [f"{prefix}{n}" for n in range(1, count + 1)]
