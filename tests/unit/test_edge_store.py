"""The edge store: a fact and its report commit together or not at all, alarms are raised once
and remembered across restarts, and a data folder from before (segment index in its own file)
is taken in."""
from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone

import pytest

from edge_agent.crash import crash_point
from edge_agent.store import EdgeStore, Tx
from retention.policy import LegalHold, RetentionPolicy
from retention.segments import SegmentIndex, SegmentStore

UTC = timezone.utc
T0 = datetime(2026, 1, 1, 10, 0, tzinfo=UTC)
SHA = hashlib.sha256(b"video").digest()
COVERED = {"source": "camera:cam-01", "severity": "critical", "message": "lens covered"}


class Boom(Exception):
    pass


def kinds(store: EdgeStore) -> list[str]:
    return [e.kind for e in store.pending(1000)]


def recorded(rec) -> dict:
    return {"camera": rec.camera, "seq": rec.seq, "start": rec.start.isoformat(), "end": rec.end.isoformat(),
            "bytes": rec.bytes, "sha256": rec.sha256.hex(), "link": rec.link.hex()}


def deleted(rec) -> dict:
    return {"camera": rec.camera, "seq": rec.seq, "deleted_at": T0.isoformat(), "reason": "retention"}


def report_segment(db, rec) -> None:
    Tx(db).append("segment.recorded", recorded(rec))


def test_a_segment_and_its_report_commit_together(tmp_path):
    store = EdgeStore(tmp_path / "edge.db")
    index = SegmentIndex(store.path)
    index.add("cam-01", T0, T0 + timedelta(seconds=4), "a.mp4", 5, SHA, then=report_segment)
    (first,) = index.records("cam-01")
    assert [(e.kind, e.data) for e in store.pending(10)] == [("segment.recorded", recorded(first))]

    def fail_after_report(db, rec):
        report_segment(db, rec)
        raise Boom  # e.g. the report is refused: the segment must not stay without it

    with pytest.raises(Boom):
        index.add("cam-01", T0 + timedelta(seconds=4), T0 + timedelta(seconds=8), "b.mp4", 5, SHA,
                  then=fail_after_report)
    assert [r.seq for r in index.records("cam-01")] == [1]
    assert store.pending_count() == 1


def test_a_tombstone_and_its_report_commit_together(tmp_path):
    store = EdgeStore(tmp_path / "edge.db")
    index = SegmentIndex(store.path)
    index.add("cam-01", T0, T0 + timedelta(seconds=4), "a.mp4", 5, SHA)
    now = T0 + timedelta(days=400)

    def refused(db, rec):
        Tx(db).append("segment.deleted", deleted(rec))
        raise Boom

    with pytest.raises(Boom):
        index.mark_deleted("cam-01", 1, "retention", now, then=refused)
    assert not index.get("cam-01", 1).deleted and store.pending_count() == 0

    seen = []
    tomb = index.mark_deleted("cam-01", 1, "retention", now,
                              then=lambda db, rec: seen.append(Tx(db).append("segment.deleted", deleted(rec))))
    assert tomb.deleted and tomb.deleted_at == now and tomb.deletion_reason == "retention"
    assert kinds(store) == ["segment.deleted"] and len(seen) == 1
    with pytest.raises(ValueError, match="already deleted"):
        index.mark_deleted("cam-01", 1, "retention", now, then=refused)
    with pytest.raises(KeyError):
        index.mark_deleted("cam-01", 9, "retention", now)
    assert store.pending_count() == 1


def test_the_purge_reports_each_deletion_in_its_tombstone_transaction(tmp_path):
    store = EdgeStore(tmp_path / "edge.db")
    policy = RetentionPolicy(min_months=6, max_months=7)
    segments = SegmentStore(tmp_path / "rec", SegmentIndex(store.path), policy, lambda: T0, durable=False)
    src = tmp_path / "seg.mp4"
    src.write_bytes(b"video")
    segments.ingest("cam-01", T0, T0 + timedelta(seconds=4), src, then=report_segment)
    later = T0 + timedelta(days=400)
    gone = segments.purge(later, then=lambda db, rec: Tx(db).append("segment.deleted", deleted(rec)))
    assert [r.seq for r in gone] == [1]
    assert kinds(store) == ["segment.recorded", "segment.deleted"]
    assert not list((tmp_path / "rec").rglob("*.mp4"))


def test_an_index_kept_in_its_own_file_is_taken_in_once(tmp_path):
    legacy = tmp_path / "segments.db"
    old = SegmentIndex(legacy)
    first = old.add("cam-01", T0, T0 + timedelta(seconds=4), "cam-01/a.mp4", 5, SHA)
    old.add_hold(LegalHold("case-1", "cam-01", T0, T0 + timedelta(hours=1), "incident", placed_at=T0))
    old.close()
    store = EdgeStore(tmp_path / "edge.db")
    index = SegmentIndex(store.path)
    assert index.adopt(legacy)
    assert not legacy.exists() and (tmp_path / "segments.db.migrated").exists()
    assert index.records("cam-01") == [first]
    assert [h.id for h in index.list_holds()] == ["case-1"]
    # the chain goes on from the adopted head
    second = index.add("cam-01", T0 + timedelta(seconds=4), T0 + timedelta(seconds=8), "cam-01/b.mp4", 5, SHA)
    assert second.seq == 2 and second.prev_link == first.link
    assert not index.adopt(legacy)  # nothing left to take in
    # a crash before the rename: the next start copies the same rows again, harmlessly
    (tmp_path / "segments.db.migrated").rename(legacy)
    assert index.adopt(legacy)
    assert [r.seq for r in index.records("cam-01")] == [1, 2]


def test_an_alarm_is_raised_once_and_remembered_across_a_restart(tmp_path):
    store = EdgeStore(tmp_path / "edge.db")
    data = {"source": "camera:cam-01", "severity": "critical", "message": "offline"}
    assert store.raise_alarm("camera_offline", data) is not None
    assert store.raise_alarm("camera_offline", data) is None
    assert store.clear_alarm("recorder_stalled", {"source": "camera:cam-01"}) is None  # never raised
    store.close()

    store = EdgeStore(tmp_path / "edge.db")
    assert store.active_alarms() == [("camera_offline", "camera:cam-01")]
    assert store.raise_alarm("camera_offline", data) is None  # not raised twice
    seq = store.clear_alarm("camera_offline", {"source": "camera:cam-01", "camera": "cam-01"})
    assert seq is not None
    assert store.clear_alarm("camera_offline", {"source": "camera:cam-01"}) is None
    events = store.pending(10)
    assert [(e.kind, e.data.get("state")) for e in events] == [("alarm.camera_offline", None),
                                                                ("alarm.camera_offline", "cleared")]
    assert events[1].data == {"source": "camera:cam-01", "camera": "cam-01", "state": "cleared"}
    assert store.active_alarms() == []
    with pytest.raises(ValueError, match="source"):
        store.raise_alarm("camera_offline", {"message": "no source"})


def test_an_alarm_and_its_evidence_record_roll_back_together(tmp_path):
    store = EdgeStore(tmp_path / "edge.db")
    with pytest.raises(Boom):
        with store.transaction() as tx:
            tx.record_evidence("cam-01", "20260101T100000_covered.jpg", "2026-01-01T10:00:00Z")
            tx.raise_alarm("camera_covered", COVERED)
            raise Boom
    assert store.pending_count() == 0 and store.active_alarms() == []
    with store.transaction() as tx:
        tx.record_evidence("cam-01", "20260101T100000_covered.jpg", "2026-01-01T10:00:00Z")
        tx.raise_alarm("camera_covered", COVERED)
    assert store.active_alarms() == [("camera_covered", "camera:cam-01")]


def test_an_evidence_deletion_is_reported_once(tmp_path):
    store = EdgeStore(tmp_path / "edge.db")
    with store.transaction() as tx:
        tx.record_evidence("cam-01", "a.jpg", "2026-01-01T10:00:00Z")
    with store.transaction() as tx:
        # a.jpg is known; b.jpg is a frame from before the store recorded frames
        assert tx.evidence_deleted("cam-01", ["a.jpg", "b.jpg"], "2027-01-01T00:00:00Z") == ["a.jpg", "b.jpg"]
    with store.transaction() as tx:  # the files outlived a crash: deleted again, not reported again
        assert tx.evidence_deleted("cam-01", ["a.jpg", "b.jpg"], "2027-01-02T00:00:00Z") == []


def test_crash_points_are_named_and_idle_unless_asked(monkeypatch):
    monkeypatch.delenv("SITEGUARD_TEST_CRASH_AT", raising=False)
    crash_point("segment_indexed")  # returns: not asked to crash
    with pytest.raises(ValueError, match="unknown crash point"):
        crash_point("nowhere")
