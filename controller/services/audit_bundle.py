"""Audit bundles (retention/audit_bundle.py says what is in one): gathered from the controller's
database and ledger, written as a tar stream member by member, never whole in memory. The
segments' bytes come from a source: the site's recordings folder, or its edge agent."""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
import tarfile
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Protocol

from sqlalchemy import or_, select

from controller.domain_errors import Invalid, NotFound
from controller.ledger import Ledger
from controller.models import (
    AccessEvent,
    Agent,
    Alarm,
    Customer,
    Event,
    LedgerEntry,
    NetworkApproval,
    NetworkChange,
    Segment,
    Site,
    aware,
)
from controller.projections import access_record
from controller.services.drills import drill_rows
from retention.audit_bundle import (
    BUNDLE_FORMAT,
    COVERED_FILES,
    GAP_TOLERANCE_S,
    add_member,
    iso_z,
    readme,
    segment_member,
)
from retention.chain import _RECORD_DOMAIN, SegmentRecord, genesis, record_bytes
from retention.checkpoint import format_verifier_key
from retention.segments import segment_relative_path
from retention.tlog_proof import TlogProof

_DOMAIN_LEN = len(_RECORD_DOMAIN)
_CHUNK = 1 << 20
GAP_CAUSES = ("camera_offline", "recording_gap", "segment_corrupt", "camera_tampered")


class SegmentSource(Protocol):
    def open(self, camera: str, seq: int, start: dt.datetime, size: int) -> tuple[int, Iterator[bytes]] | None:
        """(size, chunks) of the segment's file, or None when it is not there."""


class LocalRecordings:
    """Segments read from a site's recordings folder (the edge's store, on the same appliance)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def open(self, camera, seq, start, size):
        path = self.root / segment_relative_path(camera, start)
        try:
            f = path.open("rb")
        except OSError:
            return None

        def chunks() -> Iterator[bytes]:
            with f:
                while data := f.read(_CHUNK):
                    yield data
        return path.stat().st_size, chunks()


class EdgeRecordings:
    """Segments fetched from the site's edge agent, a chunk at a time."""

    def __init__(self, edge, site_id: int, timeout: float) -> None:
        self.edge, self.site_id, self.timeout = edge, site_id, timeout

    def open(self, camera, seq, start, size):
        from controller.services.cameras import segment_chunks
        row = Segment(site_id=self.site_id, camera=camera, seq=seq)
        try:
            return size, segment_chunks(self.edge, row, 0, max(size - 1, 0), self.timeout)
        except Exception:  # noqa: BLE001 - an offline edge or a file gone: the verifier names it missing
            return None


@dataclass
class BundleRequest:
    site_id: int
    start: dt.datetime
    end: dt.datetime
    by: str
    reason: str = ""
    cameras: list[str] | None = None
    manifests_only: bool = False


@dataclass
class BundleSummary:
    segments: int = 0
    files: int = 0
    missing: list[str] = field(default_factory=list)
    bytes_total: int = 0
    creation_index: int = -1


Progress = Callable[[str, int, int], None]  # stage, done, total (bytes of segments)


def _line(rec: SegmentRecord) -> bytes:
    return record_bytes(rec.prev_link, rec)[_DOMAIN_LEN:]


def _jsonl(rows) -> bytes:
    return b"".join(json.dumps(r, sort_keys=True, ensure_ascii=False).encode() + b"\n" for r in rows)


def build(sessions, ledger: Ledger, req: BundleRequest, out: IO[bytes], source: SegmentSource | None,
          progress: Progress | None = None) -> BundleSummary:
    """Write the bundle of ``req`` to ``out`` (a stream; written front to back)."""
    say = progress or (lambda *_: None)
    start, end = aware(req.start), aware(req.end)
    if start >= end:
        raise Invalid("the period must end after it starts")
    summary = BundleSummary()
    spool = Path(tempfile.mkdtemp(prefix="siteguard-bundle-"))
    try:
        with sessions() as s:
            site = s.get(Site, req.site_id)
            if site is None:
                raise NotFound("no such site")
            config = json.loads(site.config_json)
            known = [c["id"] for c in config.get("cameras", [])]
            cameras = req.cameras or known
            unknown = sorted(set(cameras) - set(known))
            if unknown:
                raise Invalid(f"site {site.slug} has no camera {', '.join(unknown)}")
            retention = config.get("retention", {})
            policy = {"min_months": retention.get("min_months", 6), "max_months": retention.get("max_months"),
                      "timezone": config.get("site", {}).get("timezone", "UTC")}
            agents = set(s.scalars(select(Agent.id).where(Agent.site_id == site.id)))
            say("manifests", 0, 0)
            (spool / "manifests").mkdir()
            heads, deletions, gaps, live = {}, [], [], []
            for camera in cameras:
                _manifest(s, site.id, camera, start, end, spool, heads, deletions, gaps, live)
            summary.segments = sum(h["segments"] for h in heads.values())
            _gap_causes(s, site.id, gaps)
            holds = _holds(s, agents)
            network = _network(s, site.id, start, end)
            access = [access_record({"at": a.at, "gate": a.gate, "person": a.person, "kind": a.kind,
                                     "direction": a.direction, "granted": a.granted, "reason": a.reason})
                      for a in s.scalars(select(AccessEvent).where(AccessEvent.site_id == site.id,
                                                                   AccessEvent.at >= start, AccessEvent.at < end)
                                         .order_by(AccessEvent.at, AccessEvent.id))]
            drills = drill_rows(s, site.id, start, end)
            slug = site.slug
        ledger.integrate_all()
        cited: dict[int, dict] = {}
        _find_heads(sessions, agents, heads, cited)
        _find_deletions(sessions, agents, deletions, cited)
        _find_access(sessions, site.id, start, access, cited)
        _find_drills(sessions, site.id, start, drills, cited)
        files = {
            "policy.json": json.dumps({"policy": policy, "holds": holds}, sort_keys=True, indent=1).encode(),
            "heads.json": json.dumps({c: {k: h[k] for k in ("seq", "link", "ledger_index")}
                                      for c, h in heads.items() if h.get("seq")}, sort_keys=True, indent=1).encode(),
            "gaps.jsonl": _jsonl(gaps), "deletions.jsonl": _jsonl(deletions), "network.jsonl": _jsonl(network),
            "access.jsonl": _jsonl(access), "drills.jsonl": _jsonl(drills),
        }
        hashes = {name: hashlib.sha256(data).hexdigest() for name, data in files.items()}
        for camera in cameras:
            hashes[f"manifests/{camera}.jsonl"] = heads[camera]["sha256"]
        created = iso_z(dt.datetime.now(dt.timezone.utc))
        creation = {"id": uuid.uuid4().hex, "site": slug, "cameras": cameras, "from": iso_z(start),
                    "to": iso_z(end), "by": req.by, "reason": req.reason, "created_at": created,
                    "manifests_only": req.manifests_only, "files": hashes}
        ledger.append("audit.bundle", creation)
        ledger.integrate_all()
        with sessions() as s:
            for row in s.scalars(select(LedgerEntry).where(LedgerEntry.kind == "audit.bundle")
                                 .order_by(LedgerEntry.index.desc()).limit(50)):
                doc = json.loads(row.leaf)
                if doc["data"].get("id") == creation["id"]:
                    cited[row.index] = doc
                    summary.creation_index = row.index
                    break
        note, proofs = ledger.inclusion_many(sorted(cited))
        bundle = {"format": BUNDLE_FORMAT, "origin": ledger.origin, "public_key": ledger.public_key.hex(),
                  "manifests_only": req.manifests_only, "creation": creation,
                  "creation_index": summary.creation_index,
                  "drills": len(drills),
                  "segments": summary.segments}
        summary.bytes_total = sum(size for *_rest, size in live) if not req.manifests_only else 0
        now = time.time()
        with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tar:
            add_member(tar, "README.txt", readme(slug, ledger.origin, ledger.public_key.hex(), req.manifests_only),
                       now)
            add_member(tar, "bundle.json", json.dumps(bundle, sort_keys=True, indent=1).encode(), now)
            for name in ("policy.json", "heads.json"):
                add_member(tar, name, files[name], now)
            for camera in cameras:
                path = spool / "manifests" / f"{camera}.jsonl"
                info = tarfile.TarInfo(f"manifests/{camera}.jsonl")
                info.size, info.mtime, info.mode = path.stat().st_size, int(now), 0o644
                with path.open("rb") as f:
                    tar.addfile(info, f)
            for name in COVERED_FILES:
                if name not in ("policy.json", "heads.json"):
                    add_member(tar, name, files[name], now)
            add_member(tar, "ledger/key.txt", (f"origin {ledger.origin}\nkey {ledger.public_key.hex()}\n"
                                               f"vkey {format_verifier_key(ledger.origin, ledger.public_key)}\n")
                       .encode(), now)
            add_member(tar, "ledger/checkpoint.txt", (note or "").encode(), now)
            add_member(tar, "ledger/entries.jsonl",
                       _jsonl([cited[i] for i in sorted(cited) if i in proofs]), now)
            for index in sorted(proofs):
                add_member(tar, f"proofs/{index}.tlog-proof",
                           TlogProof(index, tuple(proofs[index]), note).encode().encode(), now)
            if not req.manifests_only:
                done = 0
                for camera, seq, seg_start, start_text, size in live:
                    opened = source.open(camera, seq, seg_start, size) if source is not None else None
                    if opened is None:
                        summary.missing.append(f"{camera} segment {seq}")
                        continue
                    actual, chunks = opened
                    info = tarfile.TarInfo(segment_member(camera, seq, start_text))
                    info.size, info.mtime, info.mode = actual, int(now), 0o644
                    tar.addfile(info, _ChunkReader(chunks))
                    done += size
                    summary.files += 1
                    say("segments", done, summary.bytes_total)
        say("done", summary.bytes_total, summary.bytes_total)
        return summary
    finally:
        shutil.rmtree(spool, ignore_errors=True)


class _ChunkReader:
    """A file-like face over an iterator of chunks, for tarfile's copy."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks, self._buf = chunks, b""

    def read(self, n: int = -1) -> bytes:
        while n < 0 or len(self._buf) < n:
            try:
                self._buf += next(self._chunks)
            except StopIteration:
                break
        if n < 0:
            data, self._buf = self._buf, b""
        else:
            data, self._buf = self._buf[:n], self._buf[n:]
        return data


def _manifest(s, site_id, camera, start, end, spool, heads, deletions, gaps, live) -> None:
    rows = s.execute(select(Segment.seq, Segment.start, Segment.end, Segment.bytes, Segment.sha256, Segment.link,
                            Segment.deleted_at, Segment.deletion_reason)
                     .where(Segment.site_id == site_id, Segment.camera == camera, Segment.end > start,
                            Segment.start < end).order_by(Segment.seq).execution_options(yield_per=5000))
    h = hashlib.sha256()
    head = {"segments": 0}
    prev_seq, prev_link, last_end = None, None, None
    with (spool / "manifests" / f"{camera}.jsonl").open("wb") as f:
        for seq, s_start, s_end, size, sha, link, deleted_at, reason in rows:
            s_start, s_end = aware(s_start), aware(s_end)
            if prev_seq is not None and seq == prev_seq + 1:
                prev = prev_link
            elif seq == 1:
                prev = genesis(camera)
            else:
                before = s.scalar(select(Segment.link).where(Segment.site_id == site_id, Segment.camera == camera,
                                                             Segment.seq == seq - 1))
                prev = bytes.fromhex(before) if before else b"\0" * 32
            rec = SegmentRecord(camera, seq, s_start, s_end, size, bytes.fromhex(sha), prev, b"")
            line = _line(rec) + b"\n"
            f.write(line)
            h.update(line)
            start_text = iso_z(s_start)
            if deleted_at is not None:
                deletions.append({"camera": camera, "seq": seq, "deleted_at": iso_z(aware(deleted_at)),
                                  "reason": reason or ""})
            else:
                live.append((camera, seq, s_start, start_text, size))
            if last_end is not None and (s_start - last_end).total_seconds() > GAP_TOLERANCE_S:
                gaps.append({"camera": camera, "start": iso_z(last_end), "end": start_text,
                             "seconds": round((s_start - last_end).total_seconds(), 3)})
            last_end = s_end if last_end is None else max(last_end, s_end)
            prev_seq, prev_link = seq, bytes.fromhex(link)
            head.update(seq=seq, link=link, segments=head["segments"] + 1)
    head["sha256"] = h.hexdigest()
    heads[camera] = head


def _gap_causes(s, site_id, gaps) -> None:
    for g in gaps:
        g_start, g_end = dt.datetime.fromisoformat(g["start"]), dt.datetime.fromisoformat(g["end"])
        alarms = s.scalars(select(Alarm).where(Alarm.site_id == site_id, Alarm.kind.in_(GAP_CAUSES),
                                               Alarm.raised_at <= g_end,
                                               or_(Alarm.cleared_at.is_(None), Alarm.cleared_at >= g_start)))
        causes = [f"{a.kind}: {a.message}" for a in alarms if g["camera"] in (a.source or "")]
        g["cause"] = "; ".join(causes) or "no alarm recorded for the span"


def _holds(s, agents) -> list[dict]:
    holds: dict[str, dict] = {}
    rows = s.scalars(select(Event).where(Event.agent_id.in_(agents) if agents else False,
                                         Event.kind.in_(["retention.hold_placed", "retention.hold_released"]))
                     .order_by(Event.id))
    for e in rows:
        d = e.data
        holds[d["id"]] = {k: d.get(k) for k in ("id", "camera", "start", "end", "reason", "placed_at", "released_at",
                                                 "by")}
    return list(holds.values())


def _network(s, site_id, start, end) -> list[dict]:
    out = []
    changes = s.scalars(select(NetworkChange).where(NetworkChange.site_id == site_id,
                                                    NetworkChange.created_at < end,
                                                    or_(NetworkChange.finished_at.is_(None),
                                                        NetworkChange.finished_at >= start))
                        .order_by(NetworkChange.created_at))
    for c in changes:
        approvals = [{"customer": slug, "decision": a.decision, "signature": a.signature, "by": a.by,
                      "at": iso_z(aware(a.at)), "comment": a.comment}
                     for a, slug in s.execute(select(NetworkApproval, Customer.slug)
                                              .join(Customer, Customer.id == NetworkApproval.customer_id)
                                              .where(NetworkApproval.change_id == c.id))]
        out.append({"id": c.id, "title": c.title, "created_by": c.created_by, "created_at": iso_z(aware(c.created_at)),
                    "status": c.status, "customers": c.customers, "before": c.before, "after": c.after,
                    "devices": c.devices, "expires": c.expires, "result": c.result, "approvals": approvals,
                    "finished_at": iso_z(aware(c.finished_at)) if c.finished_at else None})
    return out


def _scan(sessions, kind: str, since_ts: str | None = None):
    with sessions() as s:
        q = select(LedgerEntry.index, LedgerEntry.leaf).where(LedgerEntry.kind == kind)
        if since_ts is not None:
            q = q.where(LedgerEntry.ts >= since_ts)
        for index, leaf in s.execute(q.order_by(LedgerEntry.index.desc()).execution_options(yield_per=2000)):
            yield index, json.loads(leaf)


def _find_heads(sessions, agents, heads, cited) -> None:
    wanted = {(c, h["seq"]): c for c, h in heads.items() if h.get("seq")}
    for index, doc in _scan(sessions, "segment.recorded"):
        if not wanted:
            break
        d = doc["data"]
        camera = wanted.get((d.get("camera"), d.get("seq")))
        if camera is not None and d.get("agent") in agents and d.get("link") == heads[camera]["link"]:
            heads[camera]["ledger_index"] = index
            cited[index] = doc
            del wanted[(d.get("camera"), d.get("seq"))]
    for camera, h in heads.items():
        h.setdefault("ledger_index", None)


def _find_deletions(sessions, agents, deletions, cited) -> None:
    wanted = {(d["camera"], d["seq"]): d for d in deletions}
    for index, doc in _scan(sessions, "segment.deleted"):
        if not wanted:
            break
        d = doc["data"]
        rec = wanted.pop((d.get("camera"), d.get("seq")), None)
        if rec is not None and d.get("agent") in agents:
            rec["ledger_index"] = index
            cited[index] = doc
    for d in deletions:
        d.setdefault("ledger_index", None)


def _find_access(sessions, site_id, start, access, cited) -> None:
    wanted: dict[str, list[dict]] = {}
    for a in access:
        wanted.setdefault(json.dumps(a, sort_keys=True), []).append(a)
        a["ledger_index"] = None
    if not wanted:
        return
    for index, doc in _scan(sessions, "access.batch", iso_z(start - dt.timedelta(days=1))):
        if doc["data"].get("site_id") != site_id:
            continue
        hit = False
        for e in doc["data"].get("events", []):
            for a in wanted.pop(json.dumps(e, sort_keys=True), []):
                a["ledger_index"] = index
                hit = True
        if hit:
            cited[index] = doc
        if not wanted:
            break


def _find_drills(sessions, site_id, start, drills, cited) -> None:
    """Each ended drill's "drill.ended" ledger entry (its line is that entry's record)."""
    wanted = {d["id"]: d for d in drills if d["state"] == "ended"}
    if not wanted:
        return
    for index, doc in _scan(sessions, "drill.ended", iso_z(start - dt.timedelta(days=1))):
        d = doc["data"]
        if d.get("site_id") == site_id and d.get("id") in wanted:
            wanted.pop(d["id"])["ledger_index"] = index
            cited[index] = doc
        if not wanted:
            break
