"""The bodies that cross the wire: one model per event kind, per alarm, and per command's
arguments and result.

The edge builds every event body and every command answer through these models, and the
controller reads them only through `read_event` and `read_command_result`; so a field renamed on
one side is a failing test, not an event the other side silently misreads. A body that does not
fit its model is refused with a `WireError` whose reason is "malformed_body" and whose text names
the field.

The JSON stays what the edge has always sent (the same field names; a body is dumped with
exactly the fields it was built with), so events waiting in an edge's outbox still replay.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Annotated, Any, Literal, TypeAlias, Union

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    TypeAdapter,
    ValidationError,
    model_validator,
)

from edge_agent.wire.kinds import AlarmKind, CommandName, EventKind, is_known_kind
from edge_agent.wire.messages import UNKNOWN_COMMAND, UNKNOWN_KIND, WireError

MALFORMED_BODY = "malformed_body"

# Bounds of the fields. A whole event's body is also capped by MAX_EVENT_DATA_BYTES, a command's
# reply by MAX_MESSAGE_BYTES; these keep each field to what it can really hold.
MAX_TEXT = 2000
MAX_LIST = 1000
MAX_B64_EVENT = 60_000  # a thumbnail inside one event
MAX_B64_REPLY = 900_000  # a snapshot or a segment chunk inside one reply


def _timestamp(value: str) -> str:
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise ValueError("not an ISO 8601 timestamp") from None
    if parsed.tzinfo is None:
        raise ValueError("a timestamp needs its UTC offset")
    return value


def when(value: str) -> dt.datetime:
    """The moment a validated `Timestamp` names."""
    return dt.datetime.fromisoformat(value)


# A timestamp travels as the string the edge wrote (so stored bodies replay byte for byte) and
# must be ISO 8601 with an offset; `when()` turns it into a datetime.
Timestamp = Annotated[str, Field(min_length=10, max_length=40), AfterValidator(_timestamp)]
Id = Annotated[str, Field(min_length=1, max_length=64)]
Source = Annotated[str, Field(min_length=1, max_length=120)]
Short = Annotated[str, Field(max_length=60)]
Text = Annotated[str, Field(max_length=MAX_TEXT)]
Hex64 = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
Count = Annotated[int, Field(ge=0, le=1 << 53)]
Number = int | float  # a figure the edge rounds to an int or a float; kept as sent
Lines = Annotated[list[Text], Field(max_length=10_000)]
Direction = Literal["entry", "exit"]
Severity = Literal["info", "warning", "critical"]


class Body(BaseModel):
    """A body with a known field set: strict types, no extra fields, immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


# --- events ---------------------------------------------------------------------------------

class AgentStarted(Body):
    site: Id
    config_hash: Annotated[str, Field(max_length=64)]


class ConfigApplied(Body):
    config_hash: Annotated[str, Field(max_length=64)]


class CameraHealth(Body):
    fps: Number
    bitrate_bps: Number
    last_frame_at: Timestamp | None = None
    recorder: Short
    recorder_restarts: Count
    tamper: Annotated[list[Short], Field(max_length=20)]
    model: Annotated[str, Field(max_length=200)]


class CameraState(Body):
    camera: Id
    state: Annotated[str, Field(min_length=1, max_length=30)]
    detail: Text = ""
    health: CameraHealth | None = None


class CameraDiscovered(Body):
    endpoint: Annotated[str, Field(max_length=400)]
    xaddrs: Annotated[list[Annotated[str, Field(max_length=400)]], Field(max_length=20)]
    scopes: Annotated[list[Annotated[str, Field(max_length=400)]], Field(max_length=50)]


class SegmentRecorded(Body):
    camera: Id
    seq: Count
    start: Timestamp
    end: Timestamp
    bytes: Count
    sha256: Hex64
    link: Hex64
    codec: Short = ""
    width: Count = 0
    height: Count = 0
    frames: Count = 0


class SegmentDeleted(Body):
    camera: Id
    seq: Count
    deleted_at: Timestamp
    reason: Annotated[str, Field(max_length=200)]


class EvidenceDeleted(Body):
    camera: Id
    names: Annotated[list[Annotated[str, Field(min_length=1, max_length=200)]], Field(max_length=500)]
    deleted_at: Timestamp
    reason: Annotated[str, Field(max_length=200)]


class RetentionCapacity(Body):
    ok: bool
    message: Text
    needed_bytes: Count
    available_bytes: Count


class HoldView(Body):
    """A legal hold as the edge reports it (events and the legal_hold command's answer)."""

    id: Id
    camera: Id | None = None
    start: Timestamp
    end: Timestamp
    reason: Annotated[str, Field(max_length=500)]
    placed_at: Timestamp | None = None
    released_at: Timestamp | None = None


class HoldChanged(HoldView):
    by: Id | Literal[""]


class SeatView(Body):
    camera: Id
    reasons: Annotated[list[Short], Field(max_length=32)]
    screen_px: Number
    occlusion: Number | None = None
    person_seen: bool | None = None
    screen_seen: bool | None = None
    detections: Annotated[list[Annotated[list[int | float | str], Field(max_length=6)]], Field(max_length=200)]


class SeatState(Body):
    seat: Id
    customer: Id
    covered: bool
    reasons: Annotated[list[Short], Field(max_length=32)]
    camera: Id | None = None
    occupied: bool | None = None
    evidence: Annotated[str, Field(max_length=200)] | None = None
    views: Annotated[list[SeatView], Field(max_length=32)]


class SiteCoverage(Body):
    percent: Annotated[Number, Field(ge=0, le=100)]
    seats: Count
    covered: Count


class CoverageGap(Body):
    since: Timestamp
    until: Timestamp
    seats: Annotated[list[Id], Field(max_length=MAX_LIST)]


class GateDecision(Body):
    gate: Id
    at: Timestamp
    direction: Direction
    person: Id | None = None
    granted: bool
    reason: Short
    card: Annotated[str, Field(max_length=120)] | None = None
    detail: Annotated[str, Field(max_length=200)] | None = None


class GatePassage(Body):
    gate: Id
    at: Timestamp
    direction: Direction
    person: Id | None = None
    cause: Short
    area_from: Id | None = None
    area_to: Id | None = None


class GateGrantCancelled(Body):
    gate: Id
    at: Timestamp
    direction: Direction
    person: Id | None = None
    reason: Short


class GatePassbackReset(Body):
    person: Id | None = None


class GateState(Body):
    gate: Id
    state: Annotated[str, Field(min_length=1, max_length=30)]
    online: bool


class NetworkChangeRefused(Body):
    change: Annotated[str, Field(max_length=100)]
    reason: Short
    detail: Text


class VpnPeerApplied(Body):
    """A customer-approved peer change ran on the site's WireGuard gateway."""
    change: Annotated[str, Field(max_length=100)]
    action: Literal["add", "remove"]
    customer: Id
    public_key: Annotated[str, Field(max_length=44)]
    address: Annotated[str, Field(max_length=18)]
    lines: Annotated[list[Text], Field(max_length=MAX_LIST)]


class VpnPeerRefused(Body):
    """A peer change the edge refused before any wg or nft line ran."""
    change: Annotated[str, Field(max_length=100)]
    reason: Short
    detail: Text


class VpnPeerRevoked(Body):
    """An officer cut a peer off at once (a lost device, say); no customer signature needed."""
    customer: Id
    public_key: Annotated[str, Field(max_length=44)]
    address: Annotated[str, Field(max_length=18)]
    officer: Id
    reason: Text
    seconds: Annotated[float, Field(ge=0)]


class NetworkChangeStarted(Body):
    change: Annotated[str, Field(max_length=100)]
    devices: Annotated[list[Id], Field(max_length=MAX_LIST)]


class NetworkChangeProgress(Body):
    change: Annotated[str, Field(max_length=100)]
    device: Id
    status: Short


class DeviceResult(Body):
    device: Id
    status: Short
    error: Text
    sent: Lines
    rollback: Lines
    seconds: Number


class NetworkChangeResult(Body):
    change: Annotated[str, Field(max_length=100)]
    status: Short
    devices: Annotated[list[DeviceResult], Field(max_length=MAX_LIST)]
    error: Annotated[str, Field(max_length=500)] | None = None


class NetworkDrift(Body):
    device: Id
    in_sync: bool | None = None
    repair: Lines | None = None
    vlans: Annotated[dict[Annotated[str, Field(max_length=10)], bool], Field(max_length=4096)] | None = None
    intended: Lines | None = None
    actual: Lines | None = None
    diff: Lines | None = None
    error: Annotated[str, Field(max_length=500)] | None = None


# --- alarms ---------------------------------------------------------------------------------

class AlarmBody(Body):
    """An alarm raised for `source`, or (state "cleared") cleared for it. A raised alarm says
    how bad it is and what happened."""

    source: Source
    severity: Severity | None = None
    message: Text | None = None
    state: Literal["cleared"] | None = None

    @model_validator(mode="after")
    def _raised_says_what(self) -> "AlarmBody":
        if self.state is None and (self.severity is None or self.message is None):
            raise ValueError("a raised alarm needs its severity and message")
        return self

    @property
    def cleared(self) -> bool:
        return self.state == "cleared"


class GateAlarm(AlarmBody):
    gate: Id | None = None
    person: Id | None = None
    direction: Short | None = None
    count: Count | None = None
    expected: Count | None = None
    noise_bytes: Count | None = None
    bad_frames: Count | None = None
    frames: Count | None = None


class CameraAlarm(AlarmBody):
    camera: Id | None = None
    metrics: Annotated[dict[Short, Number | Text | None], Field(max_length=40)] | None = None
    evidence: Annotated[str, Field(max_length=200)] | None = None
    frame_jpeg_b64: Annotated[str, Field(max_length=MAX_B64_EVENT)] | None = None
    file: Annotated[str, Field(max_length=200)] | None = None
    error: Text | None = None
    gap_start: Timestamp | None = None
    gap_end: Timestamp | None = None
    seconds: Number | None = None


class DiscoveryAlarm(AlarmBody):
    xaddrs: Annotated[list[Annotated[str, Field(max_length=400)]], Field(max_length=20)] | None = None


class VpnPeerAlarm(AlarmBody):
    """A remote device's tunnel down (or back): whose device it is, so its customer sees it."""
    customer: Id | None = None
    address: Annotated[str, Field(max_length=15)] | None = None


class SeatAlarm(AlarmBody):
    customer: Id | None = None
    seat: Id | None = None
    reasons: Annotated[list[Short], Field(max_length=32)] | None = None
    camera: Id | None = None
    evidence: Annotated[str, Field(max_length=200)] | None = None
    frame_jpeg_b64: Annotated[str, Field(max_length=MAX_B64_EVENT)] | None = None


class NetworkAlarm(AlarmBody):
    change: Annotated[str, Field(max_length=100)] | None = None
    reason: Short | None = None
    device: Id | None = None


class RetentionAlarm(AlarmBody):
    days_left: Number | None = None


A = AlarmKind
ALARM_MODELS: dict[AlarmKind, type[AlarmBody]] = {
    **{k: GateAlarm for k in (A.PASSBACK, A.DOOR_FORCED, A.DOOR_HELD, A.TAILGATING, A.TAMPER, A.FIRE_ALARM,
                              A.POWER_LOST, A.GATE_OFFLINE, A.GATE_SECURE_CHANNEL, A.GRANTED_NO_ENTRY,
                              A.OSDP_LINE_NOISE)},
    **{k: CameraAlarm for k in (A.CAMERA_OFFLINE, A.CAMERA_BLACKOUT, A.CAMERA_COVERED, A.CAMERA_DEFOCUS,
                                A.CAMERA_MOVED, A.RECORDER_STALLED, A.RECORDING_GAP, A.SEGMENT_CORRUPT)},
    A.CAMERA_UNREGISTERED: DiscoveryAlarm,
    A.SEAT_UNCOVERED: SeatAlarm,
    A.RETENTION_CAPACITY: RetentionAlarm,
    A.RETENTION_DISK_CRITICAL: RetentionAlarm,
    **{k: NetworkAlarm for k in (A.NETWORK_CHANGE_REFUSED, A.NETWORK_CHANGE_FAILED, A.NETWORK_DRIFT)},
    **{k: AlarmBody for k in (A.GATES_NOT_STARTED, A.CONFIG_REJECTED, A.DETECTOR_UNAVAILABLE,
                                     A.VPN_NOT_STARTED)},
    A.VPN_PEER_DOWN: VpnPeerAlarm,
}
del A

E = EventKind
EVENT_MODELS: dict[str, type[Body]] = {
    E.AGENT_STARTED: AgentStarted,
    E.CONFIG_APPLIED: ConfigApplied,
    E.CAMERA_STATE: CameraState,
    E.CAMERA_DISCOVERED: CameraDiscovered,
    E.SEGMENT_RECORDED: SegmentRecorded,
    E.SEGMENT_DELETED: SegmentDeleted,
    E.EVIDENCE_DELETED: EvidenceDeleted,
    E.RETENTION_CAPACITY: RetentionCapacity,
    E.RETENTION_HOLD_PLACED: HoldChanged,
    E.RETENTION_HOLD_RELEASED: HoldChanged,
    E.SEAT_STATE: SeatState,
    E.SITE_COVERAGE: SiteCoverage,
    E.COVERAGE_GAP: CoverageGap,
    E.GATE_DECISION: GateDecision,
    E.GATE_PASSAGE: GatePassage,
    E.GATE_GRANT_CANCELLED: GateGrantCancelled,
    E.GATE_PASSBACK_RESET: GatePassbackReset,
    E.GATE_STATE: GateState,
    E.NETWORK_CHANGE_REFUSED: NetworkChangeRefused,
    E.NETWORK_CHANGE_STARTED: NetworkChangeStarted,
    E.NETWORK_CHANGE_PROGRESS: NetworkChangeProgress,
    E.NETWORK_CHANGE_RESULT: NetworkChangeResult,
    E.NETWORK_DRIFT: NetworkDrift,
    E.VPN_PEER_APPLIED: VpnPeerApplied,
    E.VPN_PEER_REFUSED: VpnPeerRefused,
    E.VPN_PEER_REVOKED: VpnPeerRevoked,
    **{a.event: model for a, model in ALARM_MODELS.items()},
}
del E


# --- commands -------------------------------------------------------------------------------

class NoArgs(Body):
    pass


class PingResult(Body):
    pong: Timestamp


class StatusResult(Body):
    video: dict[Id, dict[str, Any]]
    gate_states: dict[Id, dict[str, Any]]
    seats: dict[Id, dict[str, Any]]
    uptime_s: Number
    site: Id
    cameras: Count
    gates: Count
    switches: Count
    sent_events: Count
    acked_events: Count
    pending_events: Count
    config_hash: Annotated[str, Field(max_length=64)]


class ReloadResult(Body):
    reloading: bool


class Training(Body):
    completed: Annotated[str, Field(max_length=40)]
    expires: Annotated[str, Field(max_length=40)]
    recorded_by: Annotated[str, Field(max_length=120)] | None


class PersonDoc(Body):
    person: Id
    name: Annotated[str, Field(max_length=200)]
    role: Short
    customers: Annotated[list[Id], Field(max_length=MAX_LIST)]
    active: bool
    badges: Annotated[list[dict[str, Any]], Field(max_length=100)]
    training_status: Literal["none", "current", "expired"]
    training: Training | None


class CredentialsArgs(Body):
    site: Id
    version: Annotated[str, Field(max_length=64)]
    people: Annotated[list[PersonDoc], Field(max_length=100_000)]


class CredentialsResult(Body):
    people: Count
    version: Annotated[str, Field(max_length=64)] | None


class ResetPassbackArgs(Body):
    person: Id | None = None


class ResetPassbackResult(Body):
    reset: Id


class ReleaseGatesArgs(Body):
    """An evacuation or drill: every lane released (``on``) or relocked; on relock, the people
    evacuated are reset to neutral for anti-passback."""
    on: bool
    reset_passback: Annotated[list[Id], Field(max_length=100_000)] = []


class LaneRelease(Body):
    gate: Id
    at: Timestamp  # when this edge commanded the lane (released or relocked)
    state: Annotated[str, Field(min_length=1, max_length=30)]
    online: bool


class ReleaseGatesResult(Body):
    on: bool
    lanes: Annotated[list[LaneRelease], Field(max_length=1000)]
    reset: Count = 0


class DeviceSpec(Body):
    vendor: Short
    before: Any
    after: Any
    commands: Lines


class ApprovalDoc(Body):
    change_id: Annotated[str, Field(max_length=100)]
    customer: Id
    expires: Annotated[str, Field(max_length=40)]
    signature: Annotated[str, Field(max_length=400)]


class NetworkApplyArgs(Body):
    change: Annotated[str, Field(max_length=100)]
    devices: Annotated[dict[Id, DeviceSpec], Field(max_length=MAX_LIST)]
    approvals: Annotated[list[ApprovalDoc], Field(max_length=100)]


class NetworkApplyResult(Body):
    accepted: Annotated[str, Field(max_length=100)]
    devices: Annotated[list[Id], Field(max_length=MAX_LIST)]


class VpnPeerSpec(Body):
    public_key: Annotated[str, Field(max_length=44)]
    address: Annotated[str, Field(max_length=15)]
    customer: Id


class VpnApplyArgs(Body):
    """A customer-approved peer change: the lines the customer signed and its approvals. A
    rotation names the key it ``replaces`` (the peer's old key); no other action has one."""
    change: Annotated[str, Field(max_length=100)]
    action: Literal["add", "remove", "rotate"]
    peer: VpnPeerSpec
    lines: Annotated[list[Text], Field(max_length=100)]
    approvals: Annotated[list[ApprovalDoc], Field(max_length=100)]
    replaces: Annotated[str, Field(max_length=44)] | None = None

    @model_validator(mode="after")
    def _rotation_names_the_old_key(self) -> "VpnApplyArgs":
        if (self.action == "rotate") != (self.replaces is not None):
            raise ValueError("replaces: a rotation names the key it replaces, and only a rotation does")
        return self


class VpnApplyResult(Body):
    applied: Annotated[str, Field(max_length=100)]
    action: Literal["add", "remove", "rotate"]
    public_key: Annotated[str, Field(max_length=44)]


class VpnRevokeArgs(Body):
    public_key: Annotated[str, Field(max_length=44)]
    officer: Id
    reason: Text


class VpnRevokeResult(Body):
    revoked: Annotated[str, Field(max_length=44)]
    seconds: Annotated[float, Field(ge=0)]
    held: bool = True  # False: the gateway held no such peer, so there was nothing to cut

    @classmethod
    def of(cls, public_key: str, seconds: float | None) -> "VpnRevokeResult":
        return cls(revoked=public_key, seconds=seconds or 0.0, held=seconds is not None)


class VpnStatusResult(Body):
    peers: Annotated[list[dict[str, Any]], Field(max_length=MAX_LIST)]


class DriftCheckResult(Body):
    started: bool


class SnapshotArgs(Body):
    camera: Id


class SnapshotResult(Body):
    jpeg_b64: Annotated[str, Field(max_length=MAX_B64_REPLY)]


class SegmentChunkArgs(Body):
    camera: Id
    seq: Count
    offset: Count
    length: Annotated[int, Field(ge=0, le=1 << 20)]


class SegmentChunkResult(Body):
    data_b64: Annotated[str, Field(max_length=MAX_B64_REPLY)]
    size: Count


class AuditResult(Body):
    ok: bool
    records_checked: Count
    problems: Annotated[list[Text], Field(max_length=100_000)]


class LegalHoldArgs(Body):
    action: Literal["place", "release", "list"]
    id: Id | None = None
    camera: Id | None = None
    start: Timestamp | None = None
    end: Timestamp | None = None
    reason: Annotated[str, Field(max_length=500)] | None = None
    by: Id | Literal[""] | None = None

    @model_validator(mode="after")
    def _what_each_action_needs(self) -> "LegalHoldArgs":
        needs = {"place": ("id", "start", "end"), "release": ("id",), "list": ()}[self.action]
        missing = [f for f in needs if getattr(self, f) is None]
        if missing:
            raise ValueError(f"{self.action} needs {', '.join(missing)}")
        return self


class HoldList(Body):
    holds: Annotated[list[HoldView], Field(max_length=MAX_LIST)]


def _hold_result(value: Any) -> str:
    return "list" if isinstance(value, dict) and "holds" in value else "hold"


# A list of holds for "list", the one hold placed or released otherwise.
LegalHoldResult: TypeAlias = Annotated[
    Union[Annotated[HoldList, Tag("list")], Annotated[HoldView, Tag("hold")]], Discriminator(_hold_result)]


class SeatFrameArgs(Body):
    seat: Id
    customer: Id | None = None


class SeatZones(Body):
    seat: Id
    customer: Id
    seat_zone: Annotated[list[list[Number]], Field(max_length=64)]
    screen_zone: Annotated[list[list[Number]], Field(max_length=64)]


class SeatFrameResult(Body):
    seat: Id
    camera: Id
    width: Count
    height: Count
    judged_at: Number
    jpeg_b64: Annotated[str, Field(max_length=MAX_B64_REPLY)] | None
    seats: Annotated[list[SeatZones], Field(max_length=MAX_LIST)]
    detections: Annotated[list[Annotated[list[int | float | str], Field(max_length=6)]], Field(max_length=200)]
    reasons: Annotated[list[Short], Field(max_length=32)] | None
    covered: bool | None
    occupied: bool | None


C = CommandName
COMMAND_MODELS: dict[CommandName, tuple[type[Body], Any]] = {
    C.PING: (NoArgs, PingResult),
    C.STATUS: (NoArgs, StatusResult),
    C.RELOAD_CONFIG: (NoArgs, ReloadResult),
    C.SET_CREDENTIALS: (CredentialsArgs, CredentialsResult),
    C.RESET_PASSBACK: (ResetPassbackArgs, ResetPassbackResult),
    C.RELEASE_GATES: (ReleaseGatesArgs, ReleaseGatesResult),
    C.NETWORK_APPLY: (NetworkApplyArgs, NetworkApplyResult),
    C.NETWORK_DRIFT_CHECK: (NoArgs, DriftCheckResult),
    C.VPN_APPLY: (VpnApplyArgs, VpnApplyResult),
    C.VPN_REVOKE: (VpnRevokeArgs, VpnRevokeResult),
    C.VPN_STATUS: (NoArgs, VpnStatusResult),
    C.SNAPSHOT: (SnapshotArgs, SnapshotResult),
    C.SEGMENT_CHUNK: (SegmentChunkArgs, SegmentChunkResult),
    C.AUDIT_RECORDINGS: (NoArgs, AuditResult),
    C.LEGAL_HOLD: (LegalHoldArgs, LegalHoldResult),
    C.SEAT_FRAME: (SeatFrameArgs, SeatFrameResult),
}
del C

_ADAPTERS: dict[Any, TypeAdapter[Any]] = {}


def _adapter(tp: Any) -> TypeAdapter[Any]:
    if tp not in _ADAPTERS:
        _ADAPTERS[tp] = TypeAdapter(tp)
    return _ADAPTERS[tp]


# --- building and reading -------------------------------------------------------------------

def body_dict(body: BaseModel | Mapping[str, Any]) -> dict[str, Any]:
    """The JSON form of a body: exactly the fields it was built with (a mapping as it is)."""
    if isinstance(body, BaseModel):
        return body.model_dump(mode="json", exclude_unset=True)
    return dict(body)


def _read(what: str, tp: Any, body: Any) -> Any:
    """`body` parsed into `tp`; anything that does not fit is a WireError naming the field."""
    if isinstance(body, BaseModel):
        body = body_dict(body)
    try:
        return _adapter(tp).validate_python(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        # a union's branch tag is no help to the reader; the field is
        where = ".".join(str(p) for p in first["loc"] if p not in ("list", "hold")) or "body"
        raise WireError(f"{what}: {where}: {first['msg']}"[:500], MALFORMED_BODY) from None
    except Exception as exc:  # RecursionError, or whatever else hostile input finds
        raise WireError(f"{what}: unreadable body ({type(exc).__name__})", MALFORMED_BODY) from None


def event_model(kind: str) -> type[Body]:
    model = EVENT_MODELS.get(str(kind)) if isinstance(kind, str) else None
    if model is None or not is_known_kind(kind):
        raise WireError(f"unknown event kind {kind!r}", UNKNOWN_KIND)
    return model


def read_event(kind: str, body: Any) -> Body:
    """The body of a `kind` event as its model; WireError (malformed_body) when it does not fit."""
    return _read(str(kind), event_model(kind), body)


def build_event(kind: str, body: BaseModel | Mapping[str, Any] | None) -> dict[str, Any]:
    """The JSON body of a `kind` event, checked against the kind's model (a mapping is parsed,
    a model must be the kind's own)."""
    model = event_model(kind)
    if isinstance(body, BaseModel) and type(body) is not model:
        raise WireError(f"{kind}: body is a {type(body).__name__}, not a {model.__name__}", MALFORMED_BODY)
    return body_dict(read_event(kind, {} if body is None else body))


def _command(name: Any) -> tuple[CommandName, tuple[type[Body], Any]]:
    try:
        name = CommandName(name)
    except ValueError:
        raise WireError(f"unknown command {name!r}", UNKNOWN_COMMAND) from None
    return name, COMMAND_MODELS[name]


def read_command_args(name: CommandName | str, args: Any) -> Any:
    name, (args_model, _) = _command(name)
    return _read(f"{name} arguments", args_model, {} if args is None else args)


def build_command_args(name: CommandName | str, args: BaseModel | Mapping[str, Any] | None) -> dict[str, Any]:
    return body_dict(read_command_args(name, args))


def read_command_result(name: CommandName | str, result: Any) -> Any:
    name, (_, result_model) = _command(name)
    return _read(f"{name} result", result_model, result)


def build_command_result(name: CommandName | str, result: BaseModel | Mapping[str, Any]) -> dict[str, Any]:
    return body_dict(read_command_result(name, result))
