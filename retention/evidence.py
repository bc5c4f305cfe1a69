"""Evidence frames: the picture saved with a camera-tamper or seat-coverage alarm.

They are kept like the recordings they illustrate: at least the minimum retention, deleted once
the maximum is over (never, without one), and never while a legal hold covers their camera and
moment. A frame is a moment, so it is judged as a segment that starts and ends when it was taken.
Files are ``<camera>/<UTC stamp>_<what>.jpg`` under the evidence folder; a name without a stamp is
not ours to delete.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Iterable

from .policy import LegalHold, RetentionPolicy, SegmentInfo, deletion_due, is_held

STAMP = "%Y%m%dT%H%M%S"


@dataclass(frozen=True)
class EvidenceFrame:
    camera: str
    name: str
    taken_at: datetime
    bytes: int = 0


def evidence_name(taken_at: datetime, what: str) -> str:
    return f"{taken_at.astimezone(timezone.utc).strftime(STAMP)}_{what}.jpg"


def parse_evidence_name(camera: str, name: str, size: int = 0) -> EvidenceFrame | None:
    """The frame a file name stands for; None for a name not written by ``evidence_name``."""
    stamp, sep, rest = name.partition("_")
    if not sep or not rest.endswith(".jpg"):
        return None
    try:
        taken = datetime.strptime(stamp, STAMP).replace(tzinfo=timezone.utc)
    except ValueError:
        return None
    return EvidenceFrame(camera, name, taken, size)


def evidence_to_delete(frames: Iterable[EvidenceFrame], policy: RetentionPolicy,
                       holds: Iterable[LegalHold], now: datetime) -> list[EvidenceFrame]:
    holds = list(holds)
    out = []
    for f in frames:
        moment = SegmentInfo(f.name, f.camera, f.taken_at, f.taken_at, f.bytes)
        due = deletion_due(moment, policy)
        if due is not None and now >= due and is_held(moment, holds, now) is None:
            out.append(f)
    return out
