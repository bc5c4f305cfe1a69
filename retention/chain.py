"""Per-camera SHA-256 hash chains over recorded segments, and their audit.

Each segment record commits to its camera, sequence number, times, size, the
SHA-256 of its file and the link of the record before it, so editing a file,
editing or removing an index row, reordering rows or cutting off the tail all
leave a trace. A record deleted by the retention policy stays in the chain as
a tombstone (no file expected), so deletion never breaks the chain; the audit
then checks that the deletion itself was allowed.

Tail truncation is only visible against a head kept elsewhere (signed and
sent off the site): pass it as ``expected_head``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from enum import StrEnum

from .policy import (
    LegalHold,
    RetentionPolicy,
    SegmentInfo,
    earliest_deletion,
    format_span,
    format_time,
    is_held,
)

__all__ = [
    "AuditReport",
    "Gap",
    "LINK_SIZE",
    "Problem",
    "ProblemKind",
    "SegmentRecord",
    "audit_chain",
    "gaps",
    "genesis",
    "link_hash",
    "new_record",
    "record_bytes",
]

LINK_SIZE = 32
_RECORD_DOMAIN = b"siteguard-segment-v1\x00"
_GENESIS_DOMAIN = b"siteguard-segment-genesis\x00"


def genesis(camera: str) -> bytes:
    """The link before a camera's first record: SHA-256(domain || camera id)."""
    return hashlib.sha256(_GENESIS_DOMAIN + camera.encode("utf-8")).digest()


@dataclass(frozen=True)
class SegmentRecord:
    """One segment in a camera's chain; ``deleted_at`` set means a retention tombstone.

    Deletion fields are not part of the link: they are written later, and the
    audit checks them against the policy instead.
    """

    camera: str
    seq: int
    start: datetime
    end: datetime
    bytes: int
    sha256: bytes
    prev_link: bytes
    link: bytes
    deleted_at: datetime | None = None
    deletion_reason: str | None = None

    @property
    def deleted(self) -> bool:
        return self.deleted_at is not None

    def info(self) -> SegmentInfo:
        """The record as the retention policy sees it (id = seq)."""
        return SegmentInfo(self.seq, self.camera, self.start, self.end, self.bytes)


def _utc_text(moment: datetime) -> str:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("segment times must be timezone-aware")
    return moment.astimezone(timezone.utc).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def record_bytes(prev_link: bytes, record: SegmentRecord) -> bytes:
    """Canonical, domain-separated encoding of what a link commits to.

    Sorted-key compact ASCII JSON with times as UTC microseconds and hashes
    as lowercase hex: one byte form per record, readable by any verifier.
    """
    doc = {
        "bytes": record.bytes,
        "camera": record.camera,
        "end": _utc_text(record.end),
        "prev": bytes(prev_link).hex(),
        "seq": record.seq,
        "sha256": bytes(record.sha256).hex(),
        "start": _utc_text(record.start),
    }
    return _RECORD_DOMAIN + json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("ascii")


def link_hash(prev_link: bytes, record: SegmentRecord) -> bytes:
    """SHA-256 of the record's canonical bytes chained onto ``prev_link``."""
    return hashlib.sha256(record_bytes(prev_link, record)).digest()


def new_record(
    camera: str, seq: int, start: datetime, end: datetime, size: int, sha256: bytes, prev_link: bytes
) -> SegmentRecord:
    """A fresh record with its link computed; validates what a recorder may hand in."""
    if not isinstance(camera, str) or not camera:
        raise ValueError("camera must be a non-empty string")
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 1:
        raise ValueError("seq must be a positive int")
    # SegmentInfo validates times and size.
    SegmentInfo(seq, camera, start, end, size)
    for name, value in (("sha256", sha256), ("prev_link", prev_link)):
        if not isinstance(value, (bytes, bytearray)) or len(value) != LINK_SIZE:
            raise ValueError(f"{name} must be {LINK_SIZE} bytes")
    draft = SegmentRecord(camera, seq, start, end, size, bytes(sha256), bytes(prev_link), b"")
    return SegmentRecord(camera, seq, start, end, size, bytes(sha256), bytes(prev_link),
                         link_hash(prev_link, draft))


class ProblemKind(StrEnum):
    CONTENT_CHANGED = "content_changed"
    FILE_MISSING = "file_missing"
    EARLY_DELETION = "early_deletion"
    DELETED_UNDER_HOLD = "deleted_under_hold"
    DELETION_IN_FUTURE = "deletion_in_future"
    CHAIN_BROKEN = "chain_broken"
    RECORD_ALTERED = "record_altered"
    SEQ_GAP = "seq_gap"
    DUPLICATE_SEQ = "duplicate_seq"
    HEAD_MISMATCH = "head_mismatch"
    INVALID_RECORD = "invalid_record"
    ORPHAN_FILE = "orphan_file"


@dataclass(frozen=True)
class Problem:
    camera: str
    seq: int | None
    kind: ProblemKind
    message: str


@dataclass(frozen=True)
class AuditReport:
    problems: tuple[Problem, ...]
    records_checked: int
    cameras: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.problems

    def messages(self) -> list[str]:
        return [p.message for p in self.problems]

    @classmethod
    def merged(cls, reports: Iterable[AuditReport], extra: Iterable[Problem] = ()) -> AuditReport:
        reports = list(reports)
        problems = [p for r in reports for p in r.problems] + list(extra)
        problems.sort(key=lambda p: (p.camera, p.seq if p.seq is not None else -1))
        cameras = sorted({c for r in reports for c in r.cameras} | {p.camera for p in problems})
        return cls(tuple(problems), sum(r.records_checked for r in reports), tuple(cameras))


def _label(record: SegmentRecord, tz) -> str:
    try:
        span = format_span(record.start, record.end, tz)
    except (ValueError, TypeError, AttributeError, OverflowError):
        span = "invalid times"
    return f"{record.camera} segment {record.seq} ({span})"


def _expected(expected_head: bytes | tuple[int, bytes]) -> tuple[int | None, bytes]:
    if isinstance(expected_head, tuple):
        seq, link = expected_head
        return seq, bytes(link)
    return None, bytes(expected_head)


def audit_chain(
    records: Sequence[SegmentRecord],
    file_hashes: Mapping[int, bytes | None],
    policy: RetentionPolicy,
    holds: Sequence[LegalHold],
    now: datetime,
    expected_head: bytes | tuple[int, bytes] | None = None,
    *,
    camera: str | None = None,
) -> AuditReport:
    """Check one camera's chain, its files and its deletions; list every problem found.

    ``file_hashes`` maps seq to the SHA-256 of the file on disk (None or absent:
    no file). ``expected_head`` is a previously signed head, either its link or
    (seq, link); the chain must still contain it. ``camera`` names the chain
    when ``records`` may be empty.
    """
    cams = {r.camera for r in records}
    if camera is not None:
        cams.add(camera)
    if len(cams) != 1:
        raise ValueError("audit_chain checks exactly one camera's records")
    (cam,) = cams
    zone = policy.zone
    holds = list(holds)
    problems: list[Problem] = []

    def report(seq: int | None, kind: ProblemKind, text: str) -> None:
        problems.append(Problem(cam, seq, kind, text))

    ordered = sorted(records, key=lambda r: r.seq)
    prev: SegmentRecord | None = None
    for r in ordered:
        label = _label(r, zone)
        if prev is not None and r.seq == prev.seq:
            report(r.seq, ProblemKind.DUPLICATE_SEQ, f"{label}: seq {r.seq} appears more than once in the index")
            continue
        expected_seq = 1 if prev is None else prev.seq + 1
        if r.seq > expected_seq:
            report(expected_seq, ProblemKind.SEQ_GAP,
                   f"{cam} seq gap {expected_seq}..{r.seq - 1}: records removed from the index")
        elif r.seq < expected_seq:
            report(r.seq, ProblemKind.INVALID_RECORD, f"{label}: invalid sequence number {r.seq}")
        else:
            # After a gap the missing record's link is unknown; the gap is the finding.
            want = genesis(cam) if prev is None else prev.link
            if not hmac.compare_digest(bytes(r.prev_link), want):
                report(r.seq, ProblemKind.CHAIN_BROKEN, f"{label}: chain broken at seq {r.seq} (prev link mismatch)")
        try:
            intact = hmac.compare_digest(link_hash(r.prev_link, r), bytes(r.link))
        except (ValueError, TypeError, AttributeError):
            intact = False
        if not intact:
            report(r.seq, ProblemKind.RECORD_ALTERED,
                   f"{label}: index record altered (its link does not match its content)")
        _audit_file_or_deletion(r, label, file_hashes, policy, holds, now, report)
        prev = r

    if expected_head is not None:
        head_seq, head_link = _expected(expected_head)
        found = any(
            hmac.compare_digest(bytes(r.link), head_link) and (head_seq is None or r.seq == head_seq)
            for r in ordered
        )
        if not found:
            last = f"seq {ordered[-1].seq}" if ordered else "no records"
            signed = f"seq {head_seq}" if head_seq is not None else f"link {head_link.hex()[:16]}"
            report(head_seq, ProblemKind.HEAD_MISMATCH,
                   f"{cam}: head does not match the signed head (records truncated): "
                   f"signed head is {signed}, the index ends at {last}")

    return AuditReport(tuple(problems), len(ordered), (cam,))


def _audit_file_or_deletion(r, label, file_hashes, policy, holds, now, report) -> None:
    if r.deleted_at is None:
        actual = file_hashes.get(r.seq)
        if actual is None:
            report(r.seq, ProblemKind.FILE_MISSING, f"{label}: file missing but not deleted by retention")
        elif not hmac.compare_digest(bytes(actual), bytes(r.sha256)):
            report(r.seq, ProblemKind.CONTENT_CHANGED, f"{label}: file content changed (sha256 mismatch)")
        return
    # A tombstone: whether its file lingers (a purge interrupted between
    # marking and unlinking) does not matter; whether the deletion was allowed does.
    zone = policy.zone
    try:
        info = r.info()
        when = r.deleted_at
        if when.tzinfo is None or when.utcoffset() is None:
            raise ValueError("naive deletion time")
        deleted_text = format_time(when, zone)
    except (ValueError, TypeError, AttributeError):
        report(r.seq, ProblemKind.INVALID_RECORD, f"{label}: record has invalid times or size")
        return
    if when > now:
        report(r.seq, ProblemKind.DELETION_IN_FUTURE,
               f"{label}: deletion recorded on {deleted_text}, after the audit time (index edited)")
    earliest = earliest_deletion(info, policy)
    if when < earliest:
        report(r.seq, ProblemKind.EARLY_DELETION,
               f"{label}: deleted on {deleted_text} before its minimum retention ended on "
               f"{format_time(earliest, zone)} (early deletion)")
    hold = is_held(info, holds, when)
    if hold is not None:
        report(r.seq, ProblemKind.DELETED_UNDER_HOLD,
               f"{label}: deleted on {deleted_text} while under legal hold {hold.id} ({hold.reason})")


@dataclass(frozen=True)
class Gap:
    camera: str
    start: datetime
    end: datetime
    seconds: float


def gaps(records: Iterable[SegmentRecord], tolerance_s: float) -> list[Gap]:
    """Stretches of time longer than ``tolerance_s`` that no segment of a camera covers.

    Tombstones count as covered: the recording existed and was deleted by policy.
    """
    by_camera: dict[str, list[SegmentRecord]] = {}
    for r in records:
        by_camera.setdefault(r.camera, []).append(r)
    found: list[Gap] = []
    for cam in sorted(by_camera):
        ordered = sorted(by_camera[cam], key=lambda r: r.start)
        covered_until = ordered[0].end
        for r in ordered[1:]:
            seconds = (r.start - covered_until).total_seconds()
            if seconds > tolerance_s:
                found.append(Gap(cam, covered_until, r.start, seconds))
            covered_until = max(covered_until, r.end)
    return found
