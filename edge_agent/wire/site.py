"""The site file: one YAML document describing a site, its schema and its loader.

The same ``SiteConfig`` travels from controller to edge agent as canonical JSON,
so both sides validate with the same models and agree on ``config_hash()``.

Loading is all-or-nothing: any problem (I/O, encoding, YAML syntax, duplicate
key, schema, cross-reference) raises ``SiteFileError`` listing every problem
found, each with file, line, column and field path, so an officer can fix the
file in one pass and nothing starts on a wrong file.

Only stdlib, pydantic and PyYAML are imported: this module is shared by both
ends of the wire.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import difflib
import hashlib
import ipaddress
import json
import re
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, Union
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    StrictBool,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

__all__ = [
    "SiteFileError",
    "SiteProblem",
    "Secret",
    "load_site_file",
    "parse_site_text",
    "parse_tcp_endpoint",
    "SiteConfig",
    "SiteInfo",
    "ControllerInfo",
    "RetentionPolicy",
    "Area",
    "Customer",
    "Vlan",
    "RemoteWork",
    "VpnGateway",
    "Camera",
    "TamperThresholds",
    "FloorPoint",
    "FloorPlan",
    "PlanCamera",
    "CalibrationPair",
    "Seat",
    "SeatView",
    "Gate",
    "OsdpLink",
    "Switch",
    "SwitchPort",
    "Person",
    "Badge",
    "Training",
]

Loc = tuple[str | int, ...]

# ---------------------------------------------------------------------------
# Problems and the error that carries them
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SiteProblem:
    """One thing wrong with a site file; line/column are 1-based, 0 = whole file."""

    file: str
    line: int
    column: int
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.column}"
        if self.field:
            return f"{where}: {self.field}: {self.message}"
        return f"{where}: {self.message}"


class SiteFileError(Exception):
    """A site file that must not be used; ``problems`` lists everything wrong with it."""

    def __init__(self, path: str | Path, problems: list[SiteProblem]) -> None:
        self.path = str(path)
        self.problems: list[SiteProblem] = list(problems)
        super().__init__(self.path, self.problems)

    def __str__(self) -> str:
        n = len(self.problems)
        noun = "problem" if n == 1 else "problems"
        lines = [f"site file {self.path} is invalid ({n} {noun}):"]
        lines.extend(str(p) for p in self.problems)
        return "\n".join(lines)

    def __reduce__(self) -> tuple[Any, ...]:
        # Keeps the error intact across process pools and queues.
        return (type(self), (self.path, self.problems))


# ---------------------------------------------------------------------------
# Reusable field types
# ---------------------------------------------------------------------------

# Strict numbers: YAML already yields real ints/floats, so a quoted "80" or a
# `yes` (YAML 1.1 bool) in a numeric field is a mistake, not something to coerce.
Int = Annotated[int, Strict()]
Float = Annotated[float, Strict()]
Port = Annotated[int, Strict(), Field(ge=1, le=65535)]


class _Invalid(ValueError):
    """A check of ours failed; ``field`` lets a model-level check point at one of its keys."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def _matching(regex: str, description: str) -> AfterValidator:
    pattern = re.compile(regex)

    def check(value: str) -> str:
        if not pattern.fullmatch(value):
            raise _Invalid(f"{value!r} is not {description}")
        return value

    return AfterValidator(check)


Text = Annotated[str, Field(min_length=1)]
Slug = Annotated[
    str,
    Field(min_length=1, max_length=63),
    _matching(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?", "a slug (lowercase a-z, 0-9 and '-')"),
]
Ident = Annotated[
    str,
    Field(min_length=1, max_length=64),
    _matching(r"[A-Za-z0-9][A-Za-z0-9_.-]*", "an id (letters, digits, '_', '.', '-')"),
]
EnvName = Annotated[
    str,
    _matching(r"[A-Z_][A-Z0-9_]*", "an environment variable name (A-Z, 0-9, '_')"),
]
Host = Annotated[
    str,
    Field(min_length=1, max_length=253),
    _matching(r"[A-Za-z0-9_.:\[\]-]+", "a host name or IP address"),
]

_ENDPOINT = re.compile(r"tcp://(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+):(?P<port>[0-9]{1,5})")


def parse_tcp_endpoint(endpoint: str) -> tuple[str, int]:
    """Split ``tcp://host:port`` into ``(host, port)``; IPv6 hosts lose their brackets."""
    m = _ENDPOINT.fullmatch(endpoint)
    if not m or not 1 <= int(m["port"]) <= 65535:
        raise ValueError(f"{endpoint!r} is not a tcp://host:port endpoint")
    return m["host"].strip("[]"), int(m["port"])


def _check_endpoint(value: str) -> str:
    try:
        parse_tcp_endpoint(value)
    except ValueError as exc:
        raise _Invalid(str(exc)) from None
    return value


TcpEndpoint = Annotated[str, AfterValidator(_check_endpoint)]


def _polygon_area2(points: tuple[tuple[int, int], ...]) -> int:
    """Twice the signed area (shoelace); zero means the points are collinear."""
    n = len(points)
    return sum(points[i][0] * points[(i + 1) % n][1] - points[(i + 1) % n][0] * points[i][1] for i in range(n))


def _check_polygon(points: tuple[tuple[int, int], ...]) -> tuple[tuple[int, int], ...]:
    if _polygon_area2(points) == 0:
        raise _Invalid("polygon has no area (points are collinear or repeated)")
    return points


Point = tuple[Int, Int]
Polygon = Annotated[tuple[Point, ...], Field(min_length=3), AfterValidator(_check_polygon)]


class _Model(BaseModel):
    # Frozen: a loaded config is shared by many tasks and must not drift from
    # the hash it was announced with. Forbid extras: a typo must not be ignored.
    # No inf/NaN: they have no JSON form and would break the wire round-trip.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Secret:
    """Marks a field that holds a credential: served to people only redacted (``keep_last``
    characters kept, e.g. the end of a badge number), never logged."""

    def __init__(self, keep_last: int = 0) -> None:
        self.keep_last = keep_last

    def __repr__(self) -> str:
        return f"Secret(keep_last={self.keep_last})"


# An inline secret; ``<name>_env`` / ``<name>_file`` beside it name where the edge reads it
# instead, so the site file (and the controller that stores it) need not hold it.
InlineSecret = Annotated[Annotated[str, Field(min_length=1)] | None, Secret()]
# A file holding a secret; relative paths are relative to the site file's folder.
SecretPath = Annotated[str, Field(min_length=1, max_length=4096)]


def _one_secret(model: BaseModel, name: str, required: bool = True) -> None:
    """At most one of ``<name>`` (inline), ``<name>_env`` or ``<name>_file``; one when required."""
    keys = (name, f"{name}_env", f"{name}_file")
    given = [k for k in keys if getattr(model, k) is not None]
    if len(given) > 1:
        raise _Invalid(f"set only one of {', '.join(keys)} (found {' and '.join(given)})", given[-1])
    if required and not given:
        raise _Invalid(f"one of {keys[0]}, {keys[1]} or {keys[2]} is required", name)


# ---------------------------------------------------------------------------
# Sections
# ---------------------------------------------------------------------------


class SiteInfo(_Model):
    id: Slug
    name: Text
    timezone: Text
    address: str | None = None

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            raise _Invalid(f"unknown time zone {value!r} (use an IANA name such as Asia/Shanghai)") from None
        return value

    def tzinfo(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class ControllerInfo(_Model):
    endpoint: TcpEndpoint
    public_key_file: Text | None = None

    @property
    def address(self) -> tuple[str, int]:
        return parse_tcp_endpoint(self.endpoint)


class RetentionPolicy(_Model):
    min_months: Annotated[int, Strict(), Field(ge=1)] = 6
    max_months: Int | None = None
    segment_seconds: Annotated[int, Strict(), Field(ge=2, le=600)] = 60
    storage_path: Text = "recordings"
    reserve_percent: Annotated[float, Strict(), Field(ge=0, le=50)] = 5.0

    @model_validator(mode="after")
    def _max_not_below_min(self) -> RetentionPolicy:
        if self.max_months is not None and self.max_months < self.min_months:
            raise _Invalid(f"max_months ({self.max_months}) is below min_months ({self.min_months})", "max_months")
        return self


def _check_floor_polygon(points: tuple[tuple[float, float], ...]) -> tuple[tuple[float, float], ...]:
    if abs(_polygon_area2(points)) < 1e-6:  # type: ignore[arg-type]
        raise _Invalid("polygon has no area (points are collinear or repeated)")
    return points


# Floor-plan geometry, in metres.
FloorXY = tuple[Float, Float]
FloorPolygon = Annotated[tuple[FloorXY, ...], Field(min_length=3), AfterValidator(_check_floor_polygon)]
FloorLine = Annotated[tuple[FloorXY, ...], Field(min_length=2)]


class CalibrationPair(_Model):
    """One point seen by a camera: where it is in the frame (pixels) and on the floor (metres)."""

    image: tuple[Float, Float]
    floor: FloorXY


class PlanCamera(_Model):
    """A camera placed on a floor plan; its floor position is the camera's ``location``.

    calibration: four or more point pairs that tie its frame to the floor (an officer may
    submit newer ones on the floor plan page). usable_from_row: rows above this one show floor
    too far away to watch and count for nothing."""

    camera: Ident
    calibration: tuple[CalibrationPair, ...] = ()
    usable_from_row: Annotated[int, Strict(), Field(ge=0)] = 0

    @field_validator("calibration")
    @classmethod
    def _enough_pairs(cls, value: tuple[CalibrationPair, ...]) -> tuple[CalibrationPair, ...]:
        if 0 < len(value) < 4:
            raise _Invalid(f"a calibration needs at least 4 point pairs, got {len(value)}")
        if value:
            pts = [p.floor for p in value]
            if all(abs(_polygon_area2((a, b, c))) < 1e-6  # type: ignore[arg-type]
                   for i, a in enumerate(pts) for j, b in enumerate(pts[i + 1:], i + 1) for c in pts[j + 1:]):
                raise _Invalid("the calibration's floor points lie on one line; spread them over the floor in view")
        return value


class FloorPlan(_Model):
    """An area's floor in metres: the work area that must be under video with no blind spot
    (outline), walls and tall furniture that block a camera's view (occluders), the cameras on
    it. max_blind_m2: a blind patch larger than this raises an alarm. background: an image
    drawn under the plan, stretched over the outline's bounding box (a URL path)."""

    outline: FloorPolygon
    walls: tuple[FloorLine, ...] = ()
    occluders: tuple[FloorPolygon, ...] = ()
    background: Annotated[str, Field(min_length=1, max_length=500)] | None = None
    max_blind_m2: Annotated[float, Strict(), Field(gt=0)] = 0.5
    cameras: tuple[PlanCamera, ...] = ()


class Area(_Model):
    id: Ident
    name: Text
    floor_plan: FloorPlan | None = None


def _strict_network(value: Any) -> Any:
    # strict=True: "10.110.0.5/24" is almost always a typo for the network or
    # the gateway, so refuse it instead of silently masking host bits.
    if isinstance(value, str):
        try:
            return ipaddress.IPv4Network(value, strict=True)
        except ValueError as exc:
            raise _Invalid(f"{value!r} is not an IPv4 network: {exc}") from None
    return value


class Vlan(_Model):
    id: Annotated[int, Strict(), Field(ge=2, le=4094)]
    name: Text
    subnet: Annotated[ipaddress.IPv4Network, BeforeValidator(_strict_network)]
    gateway: ipaddress.IPv4Address | None = None

    @model_validator(mode="after")
    def _gateway_in_subnet(self) -> Vlan:
        gw = self.gateway
        if gw is None:
            return self
        if gw not in self.subnet:
            raise _Invalid(f"gateway {gw} is outside subnet {self.subnet}", "gateway")
        if self.subnet.prefixlen < 31 and gw in (self.subnet.network_address, self.subnet.broadcast_address):
            raise _Invalid(f"gateway {gw} is the network or broadcast address of {self.subnet}", "gateway")
        return self


def _check_public_key(value: str) -> str:
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise _Invalid("approval_public_key is not valid base64") from None
    if len(raw) != 32:
        raise _Invalid(f"approval_public_key must decode to 32 bytes, got {len(raw)}")
    return value


class RemoteWork(_Model):
    """A customer's remote annotators: the tunnel range their devices' /32s come from, and whether
    the customer allows remote work at all (the site file changes only by a customer-approved
    change, so this is the customer's decision)."""

    allowed: StrictBool = False
    range: Annotated[ipaddress.IPv4Network, BeforeValidator(_strict_network)]
    # The stricter rules of a remote session (it has no camera seat): which kinds of data it may
    # be shown, and whether every view carries a watermark naming the person and the device.
    modalities: tuple[Literal["text", "audio", "image"], ...] = ("text", "audio")
    watermark: StrictBool = True

    @field_validator("range")
    @classmethod
    def _room_for_peers(cls, value: ipaddress.IPv4Network) -> ipaddress.IPv4Network:
        if value.prefixlen > 30:
            raise _Invalid(f"range {value} leaves no room for peers (use /30 or larger)")
        return value


class Customer(_Model):
    id: Slug
    name: Text
    vlans: tuple[Vlan, ...] = ()
    approval_public_key: Annotated[str, AfterValidator(_check_public_key)] | None = None
    remote: RemoteWork | None = None


class FloorPoint(_Model):
    """A position on the floor map, in metres."""

    x: Float
    y: Float


class TamperThresholds(_Model):
    blackout_luma: Annotated[float, Strict(), Field(ge=0, le=255)] = 20.0
    defocus_ratio: Annotated[float, Strict(), Field(ge=0, le=1)] = 0.5
    moved_px: Annotated[float, Strict(), Field(ge=0)] = 40.0


class Camera(_Model):
    id: Ident
    name: Text
    host: Host
    onvif_port: Port = 80
    username: Text
    password: InlineSecret = Field(default=None, repr=False)  # keep out of logs
    password_env: EnvName | None = None
    password_file: SecretPath | None = None
    resolution: tuple[Annotated[int, Strict(), Field(ge=1)], Annotated[int, Strict(), Field(ge=1)]] = (1920, 1080)
    location: FloorPoint | None = None
    tamper: TamperThresholds = TamperThresholds()

    @model_validator(mode="after")
    def _one_password(self) -> Camera:
        _one_secret(self, "password")
        return self


class SeatView(_Model):
    """Where one seat, and the screen on it, appear in one camera's frame (pixels)."""

    camera: Ident
    seat: Polygon
    screen: Polygon


class Seat(_Model):
    id: Ident
    customer: Slug
    position: FloorPoint
    views: Annotated[tuple[SeatView, ...], Field(min_length=1)]
    min_screen_px: Annotated[int, Strict(), Field(ge=1)] = 2500
    # The seat's computer as the annotation platform sees it: the address its requests come
    # from. A seat without one is never served work.
    workstation: ipaddress.IPv4Address | None = None


def _check_channel(value: str) -> str:
    # Serial device paths are free-form; a TCP bridge must be a real endpoint.
    if value.startswith("tcp://"):
        return _check_endpoint(value)
    return value


class OsdpLink(_Model):
    address: Annotated[int, Strict(), Field(ge=0, le=126)]  # 127 is the broadcast address
    channel: Annotated[str, Field(min_length=1), AfterValidator(_check_channel)]
    baud: Literal[9600, 19200, 38400, 57600, 115200] = 9600
    scbk_env: EnvName | None = None


_DAY = r"(?:mon|tue|wed|thu|fri|sat|sun)"
_HHMM = r"(?:[01][0-9]|2[0-3]):[0-5][0-9]"


class ScheduleWindow(_Model):
    """Weekly window on the site's wall clock; an end not after the start runs past midnight."""

    days: Annotated[str, _matching(rf"{_DAY}(?:-{_DAY})?(?:,{_DAY}(?:-{_DAY})?)*",
                                   "days like mon-fri, sat,sun or mon-wed,fri")]
    time: Annotated[str, _matching(rf"{_HHMM}-{_HHMM}", "a time span like 08:00-20:00")]


class Schedule(_Model):
    id: Ident
    name: Text | None = None
    windows: Annotated[tuple[ScheduleWindow, ...], Field(min_length=1)]


Role = Literal["annotator", "officer", "visitor", "staff"]


class GatePassback(_Model):
    """Anti-passback for the gate's areas. hard: deny and alarm; soft: allow and alarm; timed: hard
    until ``minutes`` after the last passage; off. ``exempt``: people never held by it."""

    mode: Literal["hard", "soft", "timed", "off"] = "hard"
    minutes: Annotated[int, Strict(), Field(ge=1, le=7 * 24 * 60)] | None = None
    exempt: tuple[Ident, ...] = ()

    @model_validator(mode="after")
    def _minutes_for_timed(self) -> GatePassback:
        if self.mode == "timed" and self.minutes is None:
            raise _Invalid("timed anti-passback needs minutes", "minutes")
        if self.mode != "timed" and self.minutes is not None:
            raise _Invalid(f"minutes only applies to timed anti-passback, not {self.mode}", "minutes")
        return self


class GateAccess(_Model):
    """Who may pass: ``roles`` (all when absent) plus named ``people``; ``schedules`` limits a role
    to a schedule's windows (roles not listed have no time limit)."""

    roles: tuple[Role, ...] | None = None
    people: tuple[Ident, ...] = ()
    schedules: dict[Role, Ident] = Field(default_factory=dict)


class Gate(_Model):
    """A turnstile or speed gate; passing in the entry direction moves a person from area_out to area_in."""

    id: Ident
    name: Text
    kind: Literal["full_height_turnstile", "speed_gate"]
    area_in: Ident
    area_out: Ident
    osdp: OsdpLink
    fail_mode: Literal["secure", "safe"] = "secure"
    open_seconds: Annotated[float, Strict(), Field(gt=0, le=300)] = 5.0
    camera: Ident | None = None
    # Where the lane is in that camera's frame: people whose feet are inside it are counted
    # against the grants (camera tailgating). Without it, the camera is only named.
    lane: Polygon | None = None
    position: FloorPoint | None = None  # where the gate stands on the floor plan
    passback: GatePassback = GatePassback()
    access: GateAccess = GateAccess()

    @model_validator(mode="after")
    def _distinct_areas(self) -> Gate:
        if self.area_in == self.area_out:
            raise _Invalid("area_out must differ from area_in", "area_out")
        return self


class SwitchPort(_Model):
    name: Text
    vlan: Annotated[int, Strict(), Field(ge=1, le=4094)]
    mode: Literal["access", "trunk"] = "access"


class Switch(_Model):
    """``svis``: the VLANs this switch routes; each customer VLAN's isolation ACL is bound inbound
    on its routed interface on every switch listed here."""

    id: Ident
    name: Text
    vendor: Literal["cisco_ios", "huawei", "hp_comware"]
    host: Host
    port: Port = 22
    username: Text
    password: InlineSecret = Field(default=None, repr=False)
    password_env: EnvName | None = None
    password_file: SecretPath | None = None
    # The enable secret (privileged mode), for switches whose login lands in user mode.
    secret: InlineSecret = Field(default=None, repr=False)
    secret_env: EnvName | None = None
    secret_file: SecretPath | None = None
    ports: tuple[SwitchPort, ...] = ()
    svis: tuple[Annotated[int, Strict(), Field(ge=1, le=4094)], ...] = ()

    @model_validator(mode="after")
    def _one_password(self) -> Switch:
        _one_secret(self, "password")
        _one_secret(self, "secret", required=False)
        return self


class Service(_Model):
    """A shared destination every customer VLAN may reach by default (the platform, DNS)."""

    id: Ident
    address: ipaddress.IPv4Address
    proto: Literal["tcp", "udp"]
    ports: Annotated[tuple[Annotated[int, Strict(), Field(ge=1, le=65535)], ...], Field(min_length=1)]


class VpnGateway(_Model):
    """The appliance's WireGuard gateway for remote work: its interface, UDP port and MTU, its
    private key (inline, ``_env`` or ``_file``), and the platform addresses a remote peer may
    reach besides its own customer's VLANs."""

    interface: Annotated[
        str, Field(min_length=1, max_length=15),
        _matching(r"[a-z][a-z0-9_-]*", "an interface name (a-z first, then a-z, 0-9, '_', '-')"),
    ] = "sgwg0"
    listen_port: Port = 51820
    mtu: Annotated[int, Strict(), Field(ge=1280, le=9000)] = 1420
    private_key: InlineSecret = Field(default=None, repr=False)
    private_key_env: EnvName | None = None
    private_key_file: SecretPath | None = None
    platform: tuple[ipaddress.IPv4Address, ...] = ()
    # Where clients dial the gateway (a name or address); default: the host the pages are served from.
    endpoint: Annotated[str, Field(min_length=1, max_length=253),
                        _matching(r"[A-Za-z0-9][A-Za-z0-9.:-]*", "a host name or address")] | None = None
    # The gateway's public key, for the clients' configs where the private key is not inline.
    public_key: Annotated[str, _matching(r"[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=", "a WireGuard public key")] | None = None

    @model_validator(mode="after")
    def _one_key(self) -> VpnGateway:
        _one_secret(self, "private_key")
        return self


class Network(_Model):
    """The site's shared network: the platform's VLAN and what customers reach by default."""

    platform_vlan: Vlan | None = None
    services: tuple[Service, ...] = ()
    vpn: VpnGateway | None = None
    drift_check_minutes: Annotated[int, Strict(), Field(ge=1, le=24 * 60)] = 10


class Detector(_Model):
    """The person and screen detector: an ONNX export of a YOLO model, run by OpenCV.

    weights: "builtin" (the model trained on simulator scenes) or a file path. names: the
    model's classes in output order, "coco" for a COCO-trained model, or left out when a
    ``.json`` beside the weights lists them. classes: model class -> person or screen."""

    weights: Text = "builtin"
    names: Literal["coco"] | tuple[Text, ...] | None = None
    classes: dict[Text, Literal["person", "screen"]] | None = None
    input_size: Annotated[int, Strict(), Field(ge=32, le=2048, multiple_of=32)] | None = None
    min_score: Annotated[float, Strict(), Field(gt=0, lt=1)] = 0.35


class Coverage(_Model):
    """How seats are checked: every ``check_seconds`` and at once on a camera state change."""

    check_seconds: Annotated[int, Strict(), Field(ge=2, le=3600)] = 10
    detector: Detector | None = Detector()  # null: no detector (focus and camera health only)
    min_focus_ratio: Annotated[float, Strict(), Field(ge=0, le=1)] = 0.25
    max_occlusion: Annotated[float, Strict(), Field(ge=0, le=1)] = 0.3
    require_screen_detection: StrictBool = True


# (facility max, card number max) per card format; None = no facility code.
_BADGE_LIMITS: dict[str, tuple[int | None, int]] = {
    "wiegand26": (255, 65535),  # 8-bit facility, 16-bit card
    "wiegand34": (65535, 65535),  # 16-bit facility, 16-bit card
    "h10304": (65535, 524287),  # HID 37-bit: 16-bit facility, 19-bit card
    "raw": (None, 10**20),  # whatever the reader sends, as digits
}


def _badge_number_is_text(value: Any) -> Any:
    # YAML reads 0012345 as octal and 12345 as an int; insist on quotes so
    # leading zeros survive and the value is never silently converted.
    if isinstance(value, int) and not isinstance(value, bool):
        raise _Invalid(f'badge number must be quoted, e.g. "{value}", so leading zeros are kept')
    return value


class Badge(_Model):
    # format comes first so number/facility checks can depend on it.
    format: Literal["wiegand26", "wiegand34", "h10304", "raw"] = "wiegand26"
    number: Annotated[
        str,
        BeforeValidator(_badge_number_is_text),
        Field(min_length=1, max_length=20),
        _matching(r"[0-9]+", "a badge number (digits only)"),
        Secret(keep_last=2),  # the card's credential: shown to people by its last digits only
    ]
    facility: Annotated[int, Strict(), Field(ge=0)] | None = None
    valid_from: dt.date | None = None
    valid_until: dt.date | None = None

    @model_validator(mode="after")
    def _fits_format(self) -> Badge:
        facility_max, number_max = _BADGE_LIMITS[self.format]
        if int(self.number) > number_max:
            raise _Invalid(f"{self.format} card numbers go up to {number_max}", "number")
        if self.facility is not None:
            if facility_max is None:
                raise _Invalid(f"{self.format} badges have no facility code", "facility")
            if self.facility > facility_max:
                raise _Invalid(f"{self.format} facility codes go up to {facility_max}", "facility")
        if self.valid_from and self.valid_until and self.valid_until < self.valid_from:
            raise _Invalid(f"valid_until {self.valid_until} is before valid_from {self.valid_from}", "valid_until")
        return self

    def valid_on(self, day: dt.date) -> bool:
        return (self.valid_from is None or self.valid_from <= day) and (
            self.valid_until is None or day <= self.valid_until
        )


class Training(_Model):
    completed: dt.date
    expires: dt.date

    @model_validator(mode="after")
    def _expires_after_completed(self) -> Training:
        if self.expires <= self.completed:
            raise _Invalid(f"expires {self.expires} must be after completed {self.completed}", "expires")
        return self


class Person(_Model):
    id: Ident
    name: Text
    role: Role
    customers: tuple[Slug, ...] = ()
    badges: tuple[Badge, ...] = ()
    training: Training | None = None
    # The controller login this person uses on the annotation platform, if any.
    user: Ident | None = None


# ---------------------------------------------------------------------------
# The whole site
# ---------------------------------------------------------------------------

# Validation context flag: the loader runs cross-checks itself so that each
# problem gets its own line; anything else (e.g. JSON from the wire) gets them
# inside validation.
_DEFER_CROSS_CHECK = "siteguard.site.defer_cross_check"

# Sections whose entries are referred to by id, and what one entry is called.
_ID_SECTIONS = {
    "areas": "area",
    "customers": "customer",
    "cameras": "camera",
    "seats": "seat",
    "gates": "gate",
    "switches": "switch",
    "people": "person",
    "schedules": "schedule",
}


class SiteConfig(_Model):
    site: SiteInfo
    controller: ControllerInfo
    retention: RetentionPolicy = RetentionPolicy()
    areas: tuple[Area, ...] = ()
    customers: tuple[Customer, ...] = ()
    cameras: tuple[Camera, ...] = ()
    seats: tuple[Seat, ...] = ()
    gates: tuple[Gate, ...] = ()
    switches: tuple[Switch, ...] = ()
    people: tuple[Person, ...] = ()
    schedules: tuple[Schedule, ...] = ()
    network: Network = Network()
    coverage: Coverage = Coverage()

    @model_validator(mode="after")
    def _references(self, info: ValidationInfo) -> SiteConfig:
        if info.context and info.context.get(_DEFER_CROSS_CHECK):
            return self
        problems = self.cross_check()
        if problems:
            details = "; ".join(f"{_format_loc(loc)}: {msg}" for loc, msg in problems)
            raise _Invalid(f"{len(problems)} cross-reference problem(s): {details}")
        return self

    def canonical_json(self) -> str:
        """Sorted keys, no whitespace, defaults included: the form that is hashed and sent."""
        return json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"), ensure_ascii=False)

    def config_hash(self) -> str:
        return hashlib.sha256(self.canonical_json().encode("utf-8")).hexdigest()

    def cross_check(self) -> list[tuple[Loc, str]]:
        """Checks that span sections; returns (path, message) pairs, empty when consistent."""
        problems: list[tuple[Loc, str]] = []

        def unique(what: str, entries: list[tuple[Loc, Any]]) -> None:
            first: dict[Any, Loc] = {}
            for loc, key in entries:
                if key in first:
                    problems.append((loc, f"duplicate {what} {key!r} (already used at {_format_loc(first[key])})"))
                else:
                    first[key] = loc

        def known(what: str, value: str, ids: dict[str, Any], loc: Loc) -> bool:
            if value in ids:
                return True
            listed = ", ".join(sorted(ids)[:10]) or "none defined"
            problems.append((loc, f"unknown {what} {value!r} (known: {listed})"))
            return False

        for section, what in _ID_SECTIONS.items():
            unique(f"{what} id", [((section, i, "id"), x.id) for i, x in enumerate(getattr(self, section))])

        vlans = [(("customers", i, "vlans", j), v) for i, c in enumerate(self.customers) for j, v in enumerate(c.vlans)]
        unique("VLAN id", [((*loc, "id"), v.id) for loc, v in vlans])
        for n, (loc, v) in enumerate(vlans):
            for other_loc, other in vlans[:n]:
                if v.subnet.overlaps(other.subnet):
                    problems.append(
                        (
                            (*loc, "subnet"),
                            f"subnet {v.subnet} overlaps {other.subnet} of VLAN {other.id} ({_format_loc(other_loc)})",
                        )
                    )
                    break

        # Remote ranges: a peer's /32 must say whose it is, so no range may share an address with
        # another customer's range or with any VLAN.
        lans = [(f"VLAN {v.id}", v.subnet) for _, v in vlans]
        if self.network.platform_vlan is not None:
            lans.append((f"platform VLAN {self.network.platform_vlan.id}", self.network.platform_vlan.subnet))
        ranges: list[tuple[str, ipaddress.IPv4Network]] = []
        for i, c in enumerate(self.customers):
            if c.remote is None:
                continue
            clash = next(((what, net) for what, net in lans + ranges if c.remote.range.overlaps(net)), None)
            if clash is not None:
                problems.append((("customers", i, "remote", "range"),
                                 f"remote range {c.remote.range} overlaps {clash[1]} of {clash[0]}"))
            ranges.append((f"customer {c.id}'s remote range", c.remote.range))
            if c.remote.allowed and self.network.vpn is None:
                problems.append((("customers", i, "remote", "allowed"),
                                 "remote work needs the site's VPN gateway (network.vpn)"))

        cameras = {c.id: c for c in self.cameras}
        customers = {c.id: c for c in self.customers}
        areas = {a.id: a for a in self.areas}
        schedules = {s.id: s for s in self.schedules}
        people = {p.id: p for p in self.people}
        vlan_ids = {v.id: v for _, v in vlans}

        unique(
            "camera address",
            [(("cameras", i, "onvif_port"), f"{c.host}:{c.onvif_port}") for i, c in enumerate(self.cameras)],
        )

        def inside_frame(points: tuple[tuple[int, int], ...], camera: str, loc: Loc) -> None:
            w, h = cameras[camera].resolution
            for k, (x, y) in enumerate(points):
                # Vertices may sit on the frame edge, hence <= w / <= h.
                if not (0 <= x <= w and 0 <= y <= h):
                    problems.append(((*loc, k), f"point [{x}, {y}] is outside {camera}'s {w}x{h} frame"))

        for i, seat in enumerate(self.seats):
            known("customer", seat.customer, customers, ("seats", i, "customer"))
            for j, view in enumerate(seat.views):
                loc = ("seats", i, "views", j)
                if not known("camera", view.camera, cameras, (*loc, "camera")):
                    continue
                w, h = cameras[view.camera].resolution
                for part in ("seat", "screen"):
                    inside_frame(getattr(view, part), view.camera, (*loc, part))

        unique("workstation address", [(("seats", i, "workstation"), str(seat.workstation))
                                       for i, seat in enumerate(self.seats) if seat.workstation is not None])

        placed: list[tuple[Loc, str]] = []
        for i, area in enumerate(self.areas):
            plan = area.floor_plan
            if plan is None:
                continue
            for j, pc in enumerate(plan.cameras):
                loc = ("areas", i, "floor_plan", "cameras", j)
                placed.append(((*loc, "camera"), pc.camera))
                if not known("camera", pc.camera, cameras, (*loc, "camera")):
                    continue
                cam = cameras[pc.camera]
                if cam.location is None:
                    problems.append(((*loc, "camera"), f"camera {pc.camera} needs a location to stand on the floor plan"))
                w, h = cam.resolution
                if pc.usable_from_row >= h:
                    problems.append(((*loc, "usable_from_row"), f"row {pc.usable_from_row} is outside {pc.camera}'s {w}x{h} frame"))
                for k, pair in enumerate(pc.calibration):
                    x, y = pair.image
                    if not (0 <= x <= w and 0 <= y <= h):
                        problems.append(((*loc, "calibration", k, "image"),
                                         f"point [{x}, {y}] is outside {pc.camera}'s {w}x{h} frame"))
        unique("floor plan camera", placed)

        for i, gate in enumerate(self.gates):
            known("area", gate.area_in, areas, ("gates", i, "area_in"))
            known("area", gate.area_out, areas, ("gates", i, "area_out"))
            if gate.camera is not None:
                if known("camera", gate.camera, cameras, ("gates", i, "camera")) and gate.lane is not None:
                    inside_frame(gate.lane, gate.camera, ("gates", i, "lane"))
            elif gate.lane is not None:
                problems.append((("gates", i, "lane"), "a lane needs the camera that sees it ('camera')"))
            for role, schedule in gate.access.schedules.items():
                known("schedule", schedule, schedules, ("gates", i, "access", "schedules", role))
            for j, person in enumerate(gate.access.people):
                known("person", person, people, ("gates", i, "access", "people", j))
            for j, person in enumerate(gate.passback.exempt):
                known("person", person, people, ("gates", i, "passback", "exempt", j))
        # Two readers answering the same address on one bus would garble each other.
        unique(
            "OSDP address",
            [
                (("gates", i, "osdp", "address"), f"{g.osdp.address} on {g.osdp.channel}")
                for i, g in enumerate(self.gates)
            ],
        )

        routable = dict(vlan_ids)
        platform = self.network.platform_vlan
        if platform is not None:
            if platform.id in vlan_ids:
                problems.append((("network", "platform_vlan", "id"), f"VLAN {platform.id} belongs to a customer"))
            clash = next((v for v in vlan_ids.values() if v.subnet.overlaps(platform.subnet)), None)
            if clash is not None:
                problems.append((("network", "platform_vlan", "subnet"),
                                 f"subnet {platform.subnet} overlaps {clash.subnet} of VLAN {clash.id}"))
            routable[platform.id] = platform
        for i, switch in enumerate(self.switches):
            for j, svi in enumerate(switch.svis):
                if svi not in routable:
                    listed = ", ".join(str(v) for v in sorted(routable)) or "none defined"
                    problems.append((("switches", i, "svis", j), f"unknown VLAN {svi} (known: {listed})"))
            unique("port name", [(("switches", i, "ports", j, "name"), p.name) for j, p in enumerate(switch.ports)])
            for j, port in enumerate(switch.ports):
                if port.vlan not in vlan_ids:
                    listed = ", ".join(str(v) for v in sorted(vlan_ids)) or "none defined"
                    problems.append(
                        (("switches", i, "ports", j, "vlan"), f"unknown VLAN {port.vlan} (known: {listed})")
                    )

        badges: list[tuple[Loc, int]] = []
        for i, person in enumerate(self.people):
            for j, customer in enumerate(person.customers):
                known("customer", customer, customers, ("people", i, "customers", j))
            # Compared as integers: "0042" and "42" are the same card to a reader.
            badges.extend((("people", i, "badges", j, "number"), int(b.number)) for j, b in enumerate(person.badges))
        unique("badge number", badges)
        unique("platform user", [(("people", i, "user"), p.user) for i, p in enumerate(self.people) if p.user])

        return problems


# ---------------------------------------------------------------------------
# Loading: YAML -> nodes with marks -> data -> models -> problems with lines
# ---------------------------------------------------------------------------


def _format_loc(loc: Loc) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _mark_pos(mark: Any) -> tuple[int, int]:
    return (mark.line + 1, mark.column + 1) if mark is not None else (0, 0)


def _scan_nodes(root: yaml.Node) -> tuple[dict[Loc, tuple[int, int]], list[tuple[Loc, tuple[int, int], str]]]:
    """Map every path to its position and find duplicate keys.

    Mapping entries are placed at their key, list items at the item. Must run
    before construction: PyYAML flattens merge keys (<<) into the node in place.
    """
    positions: dict[Loc, tuple[int, int]] = {(): _mark_pos(root.start_mark)}
    duplicates: list[tuple[Loc, tuple[int, int], str]] = []
    on_stack: set[int] = set()  # aliases can make the node graph cyclic

    def walk(node: yaml.Node, path: Loc) -> None:
        if id(node) in on_stack:
            return
        on_stack.add(id(node))
        if isinstance(node, yaml.MappingNode):
            seen: dict[tuple[str, str], int] = {}
            merged: list[yaml.Node] = []
            for key, value in node.value:
                if key.tag == "tag:yaml.org,2002:merge":
                    merged.extend(value.value if isinstance(value, yaml.SequenceNode) else [value])
                    continue
                if not isinstance(key, yaml.ScalarNode):
                    continue
                pos = _mark_pos(key.start_mark)
                ident = (key.tag, key.value)
                child = (*path, key.value)
                if ident in seen:
                    duplicates.append((child, pos, f"duplicate key {key.value!r} (first at line {seen[ident]})"))
                    # PyYAML keeps the last value, so later problems must point into it.
                    for stale in [p for p in positions if p[: len(child)] == child]:
                        del positions[stale]
                else:
                    seen[ident] = pos[0]
                positions[child] = pos
                walk(value, child)
            # Keys pulled in by `<<` point at where they were written, unless overridden here.
            for source in merged:
                if isinstance(source, yaml.MappingNode):
                    for key, value in source.value:
                        if isinstance(key, yaml.ScalarNode) and (*path, key.value) not in positions:
                            positions[(*path, key.value)] = _mark_pos(key.start_mark)
                            walk(value, (*path, key.value))
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                positions[(*path, i)] = _mark_pos(item.start_mark)
                walk(item, (*path, i))
        on_stack.discard(id(node))

    walk(root, ())
    return positions, duplicates


def _position(positions: dict[Loc, tuple[int, int]], loc: Loc) -> tuple[int, int]:
    """Position of the deepest prefix of ``loc`` present in the file."""
    path: Loc = ()
    for part in loc:
        if (*path, part) in positions:
            path = (*path, part)
        elif isinstance(part, int) and (*path, str(part)) in positions:
            path = (*path, str(part))  # an integer mapping key, e.g. `80: x`
        else:
            break
    return positions[path]


def _unwrap_model(annotation: Any) -> type[BaseModel] | None:
    """The model inside ``X | None``, ``tuple[X, ...]`` or ``Annotated[X, ...]``, if any."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    origin = typing.get_origin(annotation)
    if origin in (Union, types.UnionType, tuple, list, Annotated):
        for arg in typing.get_args(annotation):
            found = _unwrap_model(arg)
            if found is not None:
                return found
    return None


def _model_at(loc: Loc) -> type[BaseModel] | None:
    model: type[BaseModel] | None = SiteConfig
    for part in loc:
        if model is None:
            return None
        if isinstance(part, int):
            continue  # list index: same element model
        field = model.model_fields.get(part)
        model = _unwrap_model(field.annotation) if field else None
    return model


def _is_knock_on(error: Any) -> bool:
    """A "too short" error caused only by a bad item being left out of the count."""
    if error["type"] != "too_short":
        return False
    given, needed = error.get("input"), (error.get("ctx") or {}).get("min_length")
    return isinstance(given, (list, tuple)) and isinstance(needed, int) and len(given) >= needed


def _describe(error: Any) -> tuple[Loc, str]:
    """Pydantic error dict -> (path, message), with friendlier text where it helps."""
    loc: Loc = tuple(error["loc"])
    message = error["msg"]
    ours = (error.get("ctx") or {}).get("error")
    if isinstance(ours, _Invalid):
        message = str(ours)  # without pydantic's "Value error, " prefix
        if ours.field:
            loc = (*loc, ours.field)
    if error["type"] == "extra_forbidden" and loc:
        model = _model_at(loc[:-1])
        if model is not None:
            allowed = list(model.model_fields)
            message = f"unknown key {loc[-1]!r}"
            close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
            if close:
                message += f" (did you mean {close[0]!r}?)"
            else:
                message += f" (allowed: {', '.join(allowed)})"
    return loc, message


def _problem_at(filename: str, positions: dict[Loc, tuple[int, int]], loc: Loc, message: str) -> SiteProblem:
    line, column = _position(positions, loc)
    return SiteProblem(filename, line, column, _format_loc(loc), message)


def _yaml_problem(filename: str, text: str, exc: yaml.YAMLError) -> SiteProblem:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    if mark is None and isinstance(exc, yaml.reader.ReaderError):
        before = text[: exc.position]
        line = before.count("\n") + 1
        column = exc.position - (before.rfind("\n") + 1) + 1
        char = f"U+{exc.character:04X}" if isinstance(exc.character, int) else repr(exc.character)
        return SiteProblem(filename, line, column, "", f"YAML error: character {char} is not allowed")
    line, column = _mark_pos(mark)
    if isinstance(exc, yaml.MarkedYAMLError):
        parts = [p for p in (exc.context, exc.problem) if p]
        if exc.context_mark is not None and exc.context and exc.context_mark is not mark:
            parts[0] = f"{exc.context} (line {exc.context_mark.line + 1})"
        detail = ", ".join(parts) or str(exc)
    else:
        detail = str(exc)
    syntax = isinstance(exc, (yaml.scanner.ScannerError, yaml.parser.ParserError))
    kind = "YAML syntax error" if syntax else "YAML error"
    return SiteProblem(filename, line, column, "", f"{kind}: {detail}")


def _bad_timestamps(filename: str, root: yaml.Node, positions: dict[Loc, tuple[int, int]]) -> list[SiteProblem]:
    """Find scalars PyYAML takes for dates but cannot build (e.g. 2025-13-45).

    PyYAML raises a bare ValueError for those, without a position, so look
    for them node by node.
    """
    found: list[SiteProblem] = []
    stack: list[tuple[yaml.Node, Loc]] = [(root, ())]
    seen: set[int] = set()
    checker = yaml.SafeLoader("")
    while stack:
        node, path = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.ScalarNode):
            if node.tag == "tag:yaml.org,2002:timestamp":
                try:
                    checker.construct_yaml_timestamp(node)
                except (ValueError, OverflowError) as exc:
                    line, column = positions.get(path) or _mark_pos(node.start_mark)
                    found.append(
                        SiteProblem(filename, line, column, _format_loc(path), f"invalid date {node.value!r}: {exc}")
                    )
        elif isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                stack.append((key, path))
                stack.append((value, (*path, key.value) if isinstance(key, yaml.ScalarNode) else path))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend((item, (*path, i)) for i, item in enumerate(node.value))
    checker.dispose()
    return sorted(found, key=lambda p: (p.line, p.column))


def parse_site_text(text: str, filename: str = "<site>") -> SiteConfig:
    """Validate a site file's text; raises ``SiteFileError`` listing every problem."""
    try:
        # The reader already rejects control characters here.
        loader = yaml.SafeLoader(text)
    except yaml.YAMLError as exc:
        raise SiteFileError(filename, [_yaml_problem(filename, text, exc)]) from None
    root: yaml.Node | None = None
    positions: dict[Loc, tuple[int, int]] = {}
    try:
        root = loader.get_single_node()
        if root is None:
            raise SiteFileError(filename, [SiteProblem(filename, 0, 0, "", "site file is empty")])
        positions, duplicates = _scan_nodes(root)
        data = loader.construct_document(root)
    except yaml.YAMLError as exc:
        raise SiteFileError(filename, [_yaml_problem(filename, text, exc)]) from None
    except RecursionError:
        raise SiteFileError(filename, [SiteProblem(filename, 0, 0, "", "YAML nesting is too deep")]) from None
    except (ValueError, OverflowError) as exc:
        # In SafeLoader only dates fail this way. Merge flattening may have
        # moved pairs around, but every scalar node is still reachable.
        problems = _bad_timestamps(filename, root, positions) if root is not None else []
        if not problems:
            problems = [SiteProblem(filename, 0, 0, "", f"cannot read YAML: {exc}")]
        raise SiteFileError(filename, problems) from None
    finally:
        loader.dispose()

    if data is None:
        raise SiteFileError(filename, [SiteProblem(filename, 0, 0, "", "site file is empty")])
    if not isinstance(data, dict):
        line, column = positions[()]
        msg = f"top level must be a mapping of sections ({', '.join(SiteConfig.model_fields)})"
        raise SiteFileError(filename, [SiteProblem(filename, line, column, "", msg)])

    problems = [SiteProblem(filename, pos[0], pos[1], _format_loc(loc), msg) for loc, pos, msg in duplicates]
    config: SiteConfig | None = None
    try:
        config = SiteConfig.model_validate(data, context={_DEFER_CROSS_CHECK: True})
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            if _is_knock_on(error):
                continue
            loc, message = _describe(error)
            problems.append(_problem_at(filename, positions, loc, message))
    if config is not None:
        problems.extend(_problem_at(filename, positions, loc, msg) for loc, msg in config.cross_check())

    if problems:
        problems.sort(key=lambda p: (p.line, p.column))
        raise SiteFileError(filename, problems)
    assert config is not None
    return config


def load_site_file(path: str | Path) -> SiteConfig:
    """Read and validate a site file (UTF-8); raises ``SiteFileError`` on any problem."""
    filename = str(path)
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        raise SiteFileError(filename, [SiteProblem(filename, 0, 0, "", "file not found")]) from None
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise SiteFileError(filename, [SiteProblem(filename, 0, 0, "", f"cannot read file: {reason}")]) from None
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]  # editors on Windows add a BOM; it is not content
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        msg = f"not valid UTF-8 (byte 0x{raw[exc.start]:02x}); save the file as UTF-8"
        raise SiteFileError(filename, [SiteProblem(filename, line, column, "", msg)]) from None
    return parse_site_text(text, filename)
