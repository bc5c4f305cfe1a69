"""Alarm evidence frames are kept like recordings: at least the minimum, gone after the maximum,
never while a legal hold covers their camera and moment, never when the name is not ours. The
edge's retention round deletes exactly those files and reports them."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import yaml

from edge_agent.store import EdgeStore
from edge_agent.video import EVIDENCE_NAMES_PER_EVENT, VideoService
from edge_agent.wire.site import load_site_file
from retention.evidence import EvidenceFrame, evidence_name, evidence_to_delete, parse_evidence_name
from retention.policy import LegalHold, RetentionPolicy
from tests.conftest import DEMO_SITE

UTC = timezone.utc
POLICY = RetentionPolicy(min_months=6, max_months=7, timezone="UTC")
TAKEN = datetime(2026, 1, 10, 8, 30, 5, tzinfo=UTC)


def test_names_round_trip_and_foreign_names_are_left_alone():
    name = evidence_name(TAKEN, "seat_A2")
    assert name == "20260110T083005_seat_A2.jpg"
    assert parse_evidence_name("cam-01", name, 10) == EvidenceFrame("cam-01", name, TAKEN, 10)
    for foreign in ("notes.jpg", "20260110T083005.jpg", "2026-01-10_seat.jpg", "20260110T083005_x.png"):
        assert parse_evidence_name("cam-01", foreign) is None


def test_kept_until_the_maximum_then_deleted():
    frame = EvidenceFrame("cam-01", evidence_name(TAKEN, "covered"), TAKEN)
    assert evidence_to_delete([frame], POLICY, [], datetime(2026, 8, 10, 8, 30, 4, tzinfo=UTC)) == []
    assert evidence_to_delete([frame], POLICY, [], datetime(2026, 8, 10, 8, 30, 5, tzinfo=UTC)) == [frame]
    forever = RetentionPolicy(min_months=6, max_months=None, timezone="UTC")
    assert evidence_to_delete([frame], forever, [], datetime(2030, 1, 1, tzinfo=UTC)) == []


def test_a_legal_hold_on_its_camera_and_moment_keeps_it():
    frame = EvidenceFrame("cam-01", evidence_name(TAKEN, "covered"), TAKEN)
    later = datetime(2026, 9, 1, tzinfo=UTC)
    hold = LegalHold("case-9", "cam-01", TAKEN - timedelta(hours=1), TAKEN + timedelta(hours=1), "incident 9")
    assert evidence_to_delete([frame], POLICY, [hold], later) == []
    other_camera = LegalHold("case-10", "cam-02", hold.start, hold.end, "incident 10")
    released = LegalHold("case-9", "cam-01", hold.start, hold.end, "incident 9", released_at=later - timedelta(days=1))
    assert evidence_to_delete([frame], POLICY, [other_camera], later) == [frame]
    assert evidence_to_delete([frame], POLICY, [released], later) == [frame]


NOW = datetime(2026, 9, 1, tzinfo=UTC)


def video_service(tmp_path) -> tuple[VideoService, EdgeStore]:
    doc = yaml.safe_load(DEMO_SITE.read_text())
    doc["retention"].update({"min_months": 6, "max_months": 7})
    site = tmp_path / "site.yaml"
    site.write_text(yaml.safe_dump(doc, sort_keys=False))
    store = EdgeStore(tmp_path / "edge.db")
    (tmp_path / "data").mkdir()
    return VideoService(load_site_file(site), tmp_path / "data", store, clock=lambda: NOW, discovery_port=0), store


def test_the_retention_round_deletes_due_frames_and_reports_them(tmp_path):
    now = NOW
    video, store = video_service(tmp_path)
    old, fresh = TAKEN, now - timedelta(days=30)
    files = {
        "old_seat": video.evidence_root / "cam-01" / evidence_name(old, "seat_A2"),
        "old_tamper": video.evidence_root / "cam-02" / evidence_name(old, "covered"),
        "fresh": video.evidence_root / "cam-01" / evidence_name(fresh, "seat_A1"),
        "held": video.evidence_root / "cam-03" / evidence_name(old, "turned"),
        "foreign": video.evidence_root / "cam-01" / "officer-notes.jpg",
    }
    for f in files.values():
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_bytes(b"\xff\xd8jpeg")
    video.index.add_hold(LegalHold("case-3", "cam-03", old - timedelta(minutes=5), old + timedelta(minutes=5),
                                   "incident 3"))
    video.run_retention()
    assert {k for k, f in files.items() if f.exists()} == {"fresh", "held", "foreign"}
    reported = [e.data for e in store.pending(1000) if e.kind == "evidence.deleted"]
    assert [(r["camera"], r["names"]) for r in reported] == [
        ("cam-01", [files["old_seat"].name]), ("cam-02", [files["old_tamper"].name])]
    video.run_retention()  # nothing left to do: nothing more reported
    assert len([e for e in store.pending(1000) if e.kind == "evidence.deleted"]) == 2
    seen = len(store.pending(1000))
    video._capacity_check()  # the retention loop's other step, on the same service
    assert "retention.capacity" in [e.kind for e in store.pending(1000)[seen:]]
    store.close()


def test_a_large_purge_is_reported_in_bounded_events_and_every_name_once(tmp_path):
    video, store = video_service(tmp_path)
    folder = video.evidence_root / "cam-01"
    folder.mkdir(parents=True)
    names = {evidence_name(TAKEN + timedelta(seconds=i), "seat_A1") for i in range(EVIDENCE_NAMES_PER_EVENT * 2 + 7)}
    for name in names:
        (folder / name).write_bytes(b"\xff\xd8")
    assert {f.name for f in video.prune_evidence(NOW)} == names
    reported = [e.data["names"] for e in store.pending(1000) if e.kind == "evidence.deleted"]
    assert [len(r) for r in reported] == [EVIDENCE_NAMES_PER_EVENT, EVIDENCE_NAMES_PER_EVENT, 7]
    assert {n for r in reported for n in r} == names and not any(folder.iterdir())
    store.close()
