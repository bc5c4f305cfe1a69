"""Controller tables. Alembic migrations in controller/migrations mirror these exactly."""
from __future__ import annotations

import datetime as dt
from enum import Enum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from controller.db import Base


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def aware(t: dt.datetime | None) -> dt.datetime | None:
    """SQLite hands back naive datetimes; every stored time is UTC."""
    return t.replace(tzinfo=dt.timezone.utc) if t is not None and t.tzinfo is None else t


def iso(t: dt.datetime | None) -> str | None:
    return aware(t).isoformat() if t is not None else None


class Role(str, Enum):
    admin = "admin"
    officer = "officer"
    customer = "customer"
    inspector = "inspector"
    annotator = "annotator"


class Customer(Base):
    __tablename__ = "customers"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    approval_public_key: Mapped[str | None] = mapped_column(String(100))


class Site(Base):
    __tablename__ = "sites"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    config_json: Mapped[str] = mapped_column(Text)
    config_hash: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Vlan(Base):
    __tablename__ = "vlans"
    __table_args__ = (UniqueConstraint("site_id", "vlan_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    vlan_id: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(100))
    subnet: Mapped[str] = mapped_column(String(50))


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    language: Mapped[str | None] = mapped_column(String(8))  # the pages' language it chose; None: the browser's


class ApiToken(Base):
    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    label: Mapped[str] = mapped_column(String(100), default="")
    client: Mapped[str] = mapped_column(String(64), default="")
    # Set by its owner or an admin revoking it, by logout, by disabling the user or by a new
    # password; a revoked token never works again, whatever happens to the user later.
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class UserSession(Base):
    """A browser login. The cookie carries only a random id; this row says whether it still
    holds, so logout, disabling and a password change end it everywhere at once."""

    __tablename__ = "user_sessions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sid_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    client: Mapped[str] = mapped_column(String(64), default="")
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class LoginBucket(Base):
    """Failed logins counted per account, address and pair of both (controller/throttle.py)."""

    __tablename__ = "login_buckets"
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    window_start: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    locked_until: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    lockouts: Mapped[int] = mapped_column(Integer, default=0)
    # Failures not yet in the ledger: it gets one entry per pair and burst, not one per attempt.
    unreported: Mapped[int] = mapped_column(Integer, default=0)
    first_unreported_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    last_failure_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class Agent(Base):
    __tablename__ = "agents"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id"))
    public_key: Mapped[str] = mapped_column(String(40), unique=True)
    enrolled_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    last_seen_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    config_hash: Mapped[str | None] = mapped_column(String(64))
    pending: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class Event(Base):
    """An event from an agent, stored once per (agent, seq) whatever the retries."""

    __tablename__ = "events"
    __table_args__ = (UniqueConstraint("agent_id", "seq", name="uq_events_agent_seq"),)
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id"))
    seq: Mapped[int] = mapped_column(BigInteger)
    ts: Mapped[str] = mapped_column(String(40))
    received_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)
    kind: Mapped[str] = mapped_column(String(80), index=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    # A report that only repeats what was known (a camera's heartbeat with its state unchanged,
    # a recorded segment): kept like any other, left out of the pages' event feeds.
    routine: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class Alarm(Base):
    __tablename__ = "alarms"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(80), index=True)
    severity: Mapped[str] = mapped_column(String(20))
    message: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(20), default="active", index=True)
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id"))
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    source: Mapped[str] = mapped_column(String(120), default="")  # what it is about, for de-dup
    raised_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    cleared_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    acknowledged_by: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Raised again while active: counted here instead of a new row.
    repeats: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_raised_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    acknowledged_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    ack_note: Mapped[str] = mapped_column(Text, default="", server_default="")
    assigned_to: Mapped[str | None] = mapped_column(String(64))
    assigned_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class LedgerEntry(Base):
    """One leaf of the evidence Merkle log; `leaf` holds the exact bytes that were hashed."""

    __tablename__ = "ledger_entries"
    index: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    ts: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(80), index=True)
    leaf: Mapped[bytes] = mapped_column(LargeBinary)
    leaf_hash: Mapped[bytes] = mapped_column(LargeBinary(32))


class LedgerQueued(Base):
    """A ledger leaf written in the transaction of the fact it records, waiting for the sequencer
    to give it an index. Queue order (`id`) is the order of integration."""

    __tablename__ = "ledger_queue"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    ts: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(80))
    data: Mapped[bytes] = mapped_column(LargeBinary)  # canonical JSON, checked when queued


class LedgerCheckpoint(Base):
    __tablename__ = "ledger_checkpoints"
    size: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    note: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Segment(Base):
    """A recorded video segment as the edge reported it: the index the inspectors audit."""

    __tablename__ = "segments"
    __table_args__ = (UniqueConstraint("site_id", "camera", "seq", name="uq_segments_camera_seq"),)
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"))
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id"))
    camera: Mapped[str] = mapped_column(String(64))
    seq: Mapped[int] = mapped_column(BigInteger)
    start: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)
    end: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    link: Mapped[str] = mapped_column(String(64))
    deleted_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    deletion_reason: Mapped[str | None] = mapped_column(String(200))


class CameraState(Base):
    """Latest health of each camera, as reported by its site's edge agent."""

    __tablename__ = "camera_states"
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), primary_key=True)
    camera: Mapped[str] = mapped_column(String(64), primary_key=True)
    state: Mapped[str] = mapped_column(String(30))
    detail: Mapped[str] = mapped_column(Text, default="")
    health: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Person(Base):
    """Someone who may badge at a site's gates; from the site file, kept current by officers."""

    __tablename__ = "people"
    __table_args__ = (UniqueConstraint("site_id", "person", name="uq_people_site_person"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    person: Mapped[str] = mapped_column(String(64))  # the site file's person id
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    customers: Mapped[list[str]] = mapped_column(JSON, default=list)
    badges: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class TrainingRecord(Base):
    """Confidentiality training a person completed; access needs one not yet expired."""

    __tablename__ = "training_records"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    course: Mapped[str] = mapped_column(String(100), default="confidentiality")
    completed: Mapped[dt.date] = mapped_column(Date)
    expires: Mapped[dt.date] = mapped_column(Date)
    recorded_by: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class AccessEvent(Base):
    """A gate decision or passage as the edge reported it: the officers' event log."""

    __tablename__ = "access_events"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)
    gate: Mapped[str] = mapped_column(String(64), index=True)
    person: Mapped[str | None] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(30))  # decision, passage
    direction: Mapped[str] = mapped_column(String(10))
    granted: Mapped[bool | None] = mapped_column(Boolean)
    reason: Mapped[str] = mapped_column(String(60), default="")
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class Presence(Base):
    """Where each person is now, from completed passages."""

    __tablename__ = "presence"
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True)
    person: Mapped[str] = mapped_column(String(64), primary_key=True)
    area: Mapped[str] = mapped_column(String(64))
    since: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    gate: Mapped[str] = mapped_column(String(64))


class GateState(Base):
    __tablename__ = "gate_states"
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), primary_key=True)
    gate: Mapped[str] = mapped_column(String(64), primary_key=True)
    state: Mapped[str] = mapped_column(String(30))
    online: Mapped[bool] = mapped_column(Boolean, default=False)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class VlanPolicy(Base):
    """The approved isolation intent of one customer VLAN: what it may reach beyond itself.
    Absent: the site's default (its shared services only)."""

    __tablename__ = "vlan_policies"
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True)
    vlan_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    allows: Mapped[list[Any]] = mapped_column(JSON, default=list)
    change_id: Mapped[str | None] = mapped_column(String(40))  # the change that set it
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class NetworkChange(Base):
    """A change request: the intent before and after, rendered per device, and its fate."""

    __tablename__ = "network_changes"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # pending -> approved | rejected; approved -> applying -> applied | rolled_back | failed;
    # approved -> refused (by the edge)
    status: Mapped[str] = mapped_column(String(20), default="pending", index=True)
    customers: Mapped[list[str]] = mapped_column(JSON, default=list)  # slugs that must approve
    before: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # vlan -> allows
    after: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    devices: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # device -> plan and texts
    analysis: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    expires: Mapped[str] = mapped_column(String(30))  # the approvals' expiry, RFC 3339 UTC
    result: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    # acl: VLAN isolation on the switches; vpn: a remote peer on the site's WireGuard gateway;
    # remote: a customer's remote-work rules. ``spec`` holds what a vpn or remote change is about.
    kind: Mapped[str] = mapped_column(String(10), default="acl", server_default="acl")
    spec: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=dict)


class VpnPeer(Base):
    """A remote annotator's device on a site's WireGuard gateway: requested by a change its
    customer signs, active once the edge ran it, ended by an approved removal or at once by an
    officer's revocation, or replaced by a new key at the same address (a rotation). Only the
    device's public key is held here, never its private key."""

    __tablename__ = "vpn_peers"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    person: Mapped[str] = mapped_column(String(64))  # the site file's person id who uses the device
    label: Mapped[str] = mapped_column(String(100), default="")
    public_key: Mapped[str] = mapped_column(String(44))
    address: Mapped[str] = mapped_column(String(15))
    # requested -> active | rejected | refused; active -> removing -> removed; active -> revoked;
    # active -> rotating -> rotated (its successor, a new row at the same address, went active)
    status: Mapped[str] = mapped_column(String(12), default="requested", index=True)
    add_change: Mapped[str | None] = mapped_column(String(40))
    remove_change: Mapped[str | None] = mapped_column(String(40))
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    active_since: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    ended_by: Mapped[str | None] = mapped_column(String(64))
    end_reason: Mapped[str] = mapped_column(String(500), default="")


class NetworkApproval(Base):
    __tablename__ = "network_approvals"
    __table_args__ = (UniqueConstraint("change_id", "customer_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    change_id: Mapped[str] = mapped_column(ForeignKey("network_changes.id", ondelete="CASCADE"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    decision: Mapped[str] = mapped_column(String(10))  # approve | reject
    signature: Mapped[str | None] = mapped_column(String(200))
    comment: Mapped[str] = mapped_column(String(500), default="")
    by: Mapped[str] = mapped_column(String(64))
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


# The annotation platform's tables live in a module of their own; importing it here registers
# them wherever the models are (Alembic, the app, the CLI).
from controller import annotation_tables  # noqa: E402,F401


class CameraCalibration(Base):
    """One version of a camera's floor calibration: the point pairs an officer clicked and the
    homography (image pixels to floor metres) fitted to them. The newest version is in force;
    without any, the site file's calibration is."""

    __tablename__ = "camera_calibrations"
    __table_args__ = (UniqueConstraint("site_id", "camera", "version", name="uq_camera_calibrations_version"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", name="fk_camera_calibrations_site"), index=True)
    camera: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    pairs: Mapped[list[Any]] = mapped_column(JSON)
    homography: Mapped[list[Any]] = mapped_column(JSON)
    rms_m: Mapped[float] = mapped_column(Float)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class BlindAreaHour(Base):
    """Per site, area and hour (UTC): the largest and the latest blind area seen, for the daily
    report. Written at every recompute (camera state or calibration change) and by the hourly chore."""

    __tablename__ = "blind_area_hours"
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", name="fk_blind_area_hours_site"), primary_key=True)
    area: Mapped[str] = mapped_column(String(64), primary_key=True)
    hour: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    work_area_m2: Mapped[float] = mapped_column(Float)
    max_blind_m2: Mapped[float] = mapped_column(Float)
    last_blind_m2: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class DailyReport(Base):
    """A site's daily security report in one language: its HTML, its PDF, the PDF's SHA-256 and
    the signed note over that hash (the ledger's key; controller/services/daily_report.py)."""

    __tablename__ = "daily_reports"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", name="fk_daily_reports_site"), index=True)
    day: Mapped[dt.date] = mapped_column(Date)  # the site's own calendar day it covers
    lang: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_by: Mapped[str] = mapped_column(String(64))  # a username, or "schedule"
    summary: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # the headline counts
    html: Mapped[str] = mapped_column(Text)
    pdf: Mapped[bytes] = mapped_column(LargeBinary)
    sha256: Mapped[str] = mapped_column(String(64))
    signature: Mapped[str] = mapped_column(Text)  # a signed note naming site, day, language and hash


class WorkRefusalHour(Base):
    """Annotation access the site's policy refused, counted per site, hour (UTC) and reason: what
    the daily report lists as annotation access denials."""

    __tablename__ = "work_refusal_hours"
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", name="fk_work_refusal_hours_site"), primary_key=True)
    hour: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    reason: Mapped[str] = mapped_column(String(80), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)


class EmergencyPlan(Base):
    """One version of a site's emergency plan (fire, evacuation, power loss, intrusion, data
    leak): its text and checklist in Chinese and English. Versions are never changed; a new one
    supersedes the last, and each is ledgered (controller/services/drills.py)."""

    __tablename__ = "emergency_plans"
    __table_args__ = (UniqueConstraint("site_id", "kind", "version", name="uq_emergency_plans_version"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", name="fk_emergency_plans_site"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    version: Mapped[int] = mapped_column(Integer)
    title: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # language -> text
    body: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # language -> text
    checklist: Mapped[list[Any]] = mapped_column(JSON, default=list)  # [{id, text: {language: text}}]
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_by: Mapped[str] = mapped_column(String(64))


class Drill(Base):
    """A fire or evacuation drill: the gates released, the muster (who was inside by area when
    it began, who was marked safe, when), the plan's checklist with its ticks, the findings."""

    __tablename__ = "drills"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", name="fk_drills_site"), index=True)
    scenario: Mapped[str] = mapped_column(String(32))
    trigger: Mapped[str] = mapped_column(String(64))  # "officer", or "fire_input:<gate>"
    state: Mapped[str] = mapped_column(String(16), default="running")  # running, ended
    plan_id: Mapped[int | None] = mapped_column(ForeignKey("emergency_plans.id", name="fk_drills_plan"))
    started_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    started_by: Mapped[str] = mapped_column(String(64))
    ended_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    ended_by: Mapped[str | None] = mapped_column(String(64))
    lanes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # gate -> {released_at, relocked_at, ...}
    roll: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # person -> area when it began
    safe: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # person -> {at, how, where}
    accounted_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    checklist: Mapped[list[Any]] = mapped_column(JSON, default=list)
    findings: Mapped[str] = mapped_column(Text, default="")
    passback_reset: Mapped[bool] = mapped_column(Boolean, default=False)
