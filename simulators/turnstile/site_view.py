"""What the turnstile simulator needs from a site file: its gates and the people's badges.

Read as plain YAML on purpose: sharing the product's own parser would hide the schema mistakes
the product itself has to catch. Only what the hardware would physically know is checked here.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from simulators.site_file import read_site, section

from .mechanism import FAIL_MODES, KINDS
from .wiegand import FORMATS, CardBits, encode

_ENDPOINT = re.compile(r"tcp://(?P<host>[^:/\s]+):(?P<port>\d{1,5})")


@dataclass(frozen=True)
class GateSpec:
    id: str
    name: str
    kind: str
    fail_mode: str
    open_seconds: float
    address: int
    host: str
    port: int
    baud: int
    scbk_env: str | None

    @property
    def channel(self) -> str:
        return f"tcp://{self.host}:{self.port}"


@dataclass(frozen=True)
class Site:
    path: Path
    gates: dict[str, GateSpec]
    badges: dict[str, list[dict]]  # person id -> badge mappings, in site-file order


def load_site(path: str | Path) -> Site:
    """Read a site file; raise ValueError naming the file and the entry when it is unusable."""
    path = Path(path)
    raw = read_site(path)
    gates = section(raw, path, "gates")
    specs: dict[str, GateSpec] = {}
    for i, gate in enumerate(gates):
        spec = _gate(f"{path}: gates[{i}]", gate)
        if spec.id in specs:
            raise ValueError(f"{path}: gates[{i}]: gate id {spec.id!r} appears twice")
        specs[spec.id] = spec
    people = raw.get("people") or []
    if not isinstance(people, list):
        raise ValueError(f"{path}: 'people' must be a list")
    badges: dict[str, list[dict]] = {}
    for i, person in enumerate(people):
        if not isinstance(person, dict) or not isinstance(person.get("id"), str):
            raise ValueError(f"{path}: people[{i}] must be a mapping with a string 'id'")
        found = person.get("badges") or []
        if not isinstance(found, list) or not all(isinstance(b, dict) for b in found):
            raise ValueError(f"{path}: people[{i}] ({person['id']}): 'badges' must be a list of "
                             f"mappings")
        badges[person["id"]] = found
    return Site(path, specs, badges)


def _gate(where: str, gate) -> GateSpec:
    if not isinstance(gate, dict):
        raise ValueError(f"{where}: must be a mapping")
    gid = gate.get("id")
    if not isinstance(gid, str) or not gid:
        raise ValueError(f"{where}: 'id' must be a non-empty string")
    where = f"{where} ({gid})"
    kind = gate.get("kind")
    if kind not in KINDS:
        raise ValueError(f"{where}: 'kind' must be one of {', '.join(KINDS)}, not {kind!r}")
    fail_mode = gate.get("fail_mode", "secure")
    if fail_mode not in FAIL_MODES:
        raise ValueError(f"{where}: 'fail_mode' must be secure or safe, not {fail_mode!r}")
    open_seconds = gate.get("open_seconds", 5)
    if isinstance(open_seconds, bool) or not isinstance(open_seconds, (int, float)) \
            or not 0 < open_seconds <= 300:
        raise ValueError(f"{where}: 'open_seconds' must be a number above 0 and at most 300")
    osdp = gate.get("osdp")
    if not isinstance(osdp, dict):
        raise ValueError(f"{where}: 'osdp' must be a mapping with address and channel")
    address = osdp.get("address")
    if isinstance(address, bool) or not isinstance(address, int) or not 0 <= address <= 126:
        raise ValueError(f"{where}: 'osdp.address' must be a whole number from 0 to 126")
    channel = osdp.get("channel")
    match = _ENDPOINT.fullmatch(channel) if isinstance(channel, str) else None
    if not match or not 0 < int(match["port"]) < 65536:
        raise ValueError(f"{where}: 'osdp.channel' must look like tcp://127.0.0.1:9701 (the "
                         f"simulator stands in for RS-485 over TCP), not {channel!r}")
    baud = osdp.get("baud", 9600)
    if baud not in (9600, 19200, 38400, 57600, 115200):
        raise ValueError(f"{where}: 'osdp.baud' must be a standard OSDP rate, not {baud!r}")
    scbk_env = osdp.get("scbk_env")
    if scbk_env is not None and (not isinstance(scbk_env, str) or not scbk_env):
        raise ValueError(f"{where}: 'osdp.scbk_env' must name an environment variable")
    return GateSpec(id=gid, name=str(gate.get("name", gid)), kind=kind, fail_mode=fail_mode,
                    open_seconds=float(open_seconds), address=address, host=match["host"],
                    port=int(match["port"]), baud=baud, scbk_env=scbk_env)


# ---- cards: from a person's badge or from a raw request -----------------------------------------

def card_from_spec(spec) -> CardBits:
    """{"format": ..., "facility": ..., "number": ..., "bits": (raw only)} -> encoded card."""
    if not isinstance(spec, dict):
        raise ValueError("'card' must be an object like {\"format\": \"wiegand26\", "
                         "\"facility\": 12, \"number\": 345}")
    unknown = set(spec) - {"format", "facility", "number", "bits"}
    if unknown:
        raise ValueError(f"unknown card field(s) {', '.join(sorted(unknown))}; expected format, "
                         f"facility, number and (raw only) bits")
    fmt = spec.get("format", "wiegand26")
    if fmt not in FORMATS:
        raise ValueError(f"card format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    number = _whole(spec.get("number"), "card number")
    facility = spec.get("facility")
    if facility is not None:
        facility = _whole(facility, "facility")
        if fmt == "raw":
            raise ValueError("raw cards have no facility code")
    bits = spec.get("bits")
    if bits is not None:
        if fmt != "raw":
            raise ValueError(f"'bits' is fixed by the {fmt} format; give it only for raw cards")
        bits = _whole(bits, "bits")
    return encode(fmt, facility, number, bits)


def _whole(value, what: str) -> int:
    # Badge numbers are quoted strings in the site file, so digits in a string are accepted too.
    if isinstance(value, str) and value.isdigit():
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{what} must be a whole number, not {value!r}")
    return value


def person_card(site: Site, person: str) -> CardBits:
    """The card a person carries: their first badge in the site file."""
    if person not in site.badges:
        known = ", ".join(list(site.badges)[:10]) or "none"
        raise ValueError(f"no person {person!r} in the site file (first ids: {known})")
    badges = site.badges[person]
    if not badges:
        raise ValueError(f"person {person!r} has no badge in the site file")
    badge = badges[0]
    return card_from_spec({k: badge[k] for k in ("format", "facility", "number") if k in badge})
