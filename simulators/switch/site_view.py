"""What the switch simulator needs from a site file: its `switches` section.

Read as plain YAML on purpose (as the other simulators do): sharing the product's parser would
hide the schema mistakes the product itself has to catch. Only what a switch physically knows
is taken: vendor, where it listens, its login and its ports. The ports' VLAN assignments in the
site file are what SiteGuard is meant to configure, so a simulated switch starts factory-fresh.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from simulators.site_file import login_password, read_site, section

from .state import VENDORS, default_port_names, port_sort_key


@dataclass(frozen=True)
class SwitchSpec:
    id: str
    vendor: str
    host: str = "127.0.0.1"
    port: int = 0
    username: str = "admin"
    password: str = "admin"
    ports: tuple[str, ...] = field(default_factory=tuple)
    name: str = ""
    hostname: str | None = None   # None: the vendor's factory default

    @classmethod
    def make(cls, id: str = "sw", vendor: str = "cisco_ios", ports: int | list[str] = 8,
             **kw) -> "SwitchSpec":
        """A spec for tests: `SwitchSpec.make("sw1", "huawei", ports=4)`."""
        if vendor not in VENDORS:
            raise ValueError(f"vendor must be one of {', '.join(VENDORS)}, not {vendor!r}")
        names = default_port_names(vendor, ports) if isinstance(ports, int) else list(ports)
        return cls(id=id, vendor=vendor, ports=tuple(names), **kw)


def fill_ports(names: list[str]) -> list[str]:
    """The site file lists the ports it uses; the switch has all of them up to the highest
    number on each module (GigabitEthernet1/0/1, /23, /24 -> /1 .. /24)."""
    found: dict[str, int] = {}
    extra: list[str] = []
    for n in names:
        m = re.fullmatch(r"(.*\D)(\d+)", n)
        if m:
            found[m.group(1)] = max(found.get(m.group(1), 0), int(m.group(2)))
        else:
            extra.append(n)
    out = {f"{prefix}{i}" for prefix, top in found.items() for i in range(1, top + 1)}
    out.update(extra)
    return sorted(out, key=port_sort_key)


def load_switches(path: str | Path) -> dict[str, SwitchSpec]:
    """Read a site file; raise ValueError naming the file and the entry when it is unusable."""
    path = Path(path)
    switches = section(read_site(path), path, "switches")
    specs: dict[str, SwitchSpec] = {}
    for i, sw in enumerate(switches):
        spec = _switch(f"{path}: switches[{i}]", sw, path)
        if spec.id in specs:
            raise ValueError(f"{path}: switches[{i}]: switch id {spec.id!r} appears twice")
        specs[spec.id] = spec
    return specs


def _switch(where: str, sw, site_path: Path) -> SwitchSpec:
    if not isinstance(sw, dict):
        raise ValueError(f"{where}: must be a mapping")
    sid = sw.get("id")
    if not isinstance(sid, str) or not sid:
        raise ValueError(f"{where}: 'id' must be a non-empty string")
    where = f"{where} ({sid})"
    vendor = sw.get("vendor")
    if vendor not in VENDORS:
        raise ValueError(f"{where}: 'vendor' must be one of {', '.join(VENDORS)}, not {vendor!r}")
    host = sw.get("host", "127.0.0.1")
    if not isinstance(host, str) or not host:
        raise ValueError(f"{where}: 'host' must be an address")
    port = sw.get("port", 22)
    if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
        raise ValueError(f"{where}: 'port' must be a TCP port number, not {port!r}")
    username = sw.get("username")
    if not isinstance(username, str) or not username:
        raise ValueError(f"{where}: 'username' must be a non-empty string")
    password = login_password(sw, where, site_path)
    if not isinstance(password, str) or not password:
        raise ValueError(f"{where}: 'password' must be a non-empty string")
    ports = sw.get("ports", 24)
    if isinstance(ports, int) and not isinstance(ports, bool):
        if not 1 <= ports <= 96:
            raise ValueError(f"{where}: 'ports' as a count must be from 1 to 96")
        names = default_port_names(vendor, ports)
    elif isinstance(ports, list):
        names = []
        for j, p in enumerate(ports):
            name = p.get("name") if isinstance(p, dict) else p
            if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z-]+\d+(?:/\d+)*", name):
                raise ValueError(f"{where}: ports[{j}]: needs a 'name' like GigabitEthernet0/1")
            names.append(name)
        names = fill_ports(names)
    else:
        raise ValueError(f"{where}: 'ports' must be a count or a list of ports")
    return SwitchSpec(id=sid, vendor=vendor, host=host, port=port, username=username,
                      password=password, ports=tuple(names), name=str(sw.get("name", sid)),
                      hostname=sid)
