"""Tests for retention.chain (the per-camera hash chain and its audit) and the
SegmentIndex/SegmentStore that keep it on disk.

Every tampering case must be reported with the camera and seq it touched, and
nothing else; a deletion the policy allowed must not be reported at all.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import sqlite3
from datetime import datetime, timedelta, timezone

import pytest

from retention.chain import (
    AuditReport,
    ProblemKind,
    SegmentRecord,
    audit_chain,
    gaps,
    genesis,
    link_hash,
    new_record,
    record_bytes,
)
from retention.policy import LegalHold, RetentionPolicy, RetentionViolation, SegmentInfo
from retention.segments import SegmentIndex, SegmentStore

UTC = timezone.utc
POLICY = RetentionPolicy(min_months=6, max_months=7)
T0 = datetime(2026, 5, 1, 10, 0, tzinfo=UTC)
NOW = datetime(2026, 6, 15, tzinfo=UTC)


def content(seq: int) -> bytes:
    return f"segment {seq} video bytes".encode()


def build_chain(n: int = 10, camera: str = "cam-01") -> list[SegmentRecord]:
    records, prev = [], genesis(camera)
    for seq in range(1, n + 1):
        start = T0 + timedelta(minutes=seq - 1)
        r = new_record(camera, seq, start, start + timedelta(minutes=1), len(content(seq)),
                       hashlib.sha256(content(seq)).digest(), prev)
        records.append(r)
        prev = r.link
    return records


def files_of(records) -> dict[int, bytes]:
    return {r.seq: hashlib.sha256(content(r.seq)).digest() for r in records}


def relink(records: list[SegmentRecord], from_index: int) -> list[SegmentRecord]:
    """What an attacker with write access to the index can do: recompute every later link."""
    out = list(records[:from_index])
    prev = out[-1].link if out else genesis(records[0].camera)
    for r in records[from_index:]:
        fixed = new_record(r.camera, r.seq, r.start, r.end, r.bytes, r.sha256, prev)
        out.append(fixed)
        prev = fixed.link
    return out


def kinds(report: AuditReport) -> list[tuple[str, int | None, ProblemKind]]:
    return [(p.camera, p.seq, p.kind) for p in report.problems]


# --- encoding ---------------------------------------------------------------------


def test_record_encoding_is_domain_separated_canonical_json():
    r = build_chain(1)[0]
    raw = record_bytes(r.prev_link, r)
    prefix = b"siteguard-segment-v1\x00"
    assert raw.startswith(prefix)
    body = raw[len(prefix):]
    assert json.loads(body) == {
        "bytes": len(content(1)),
        "camera": "cam-01",
        "end": "2026-05-01T10:01:00.000000Z",
        "prev": genesis("cam-01").hex(),
        "seq": 1,
        "sha256": hashlib.sha256(content(1)).hexdigest(),
        "start": "2026-05-01T10:00:00.000000Z",
    }
    assert body == json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
    assert r.link == hashlib.sha256(raw).digest() == link_hash(r.prev_link, r)


def test_genesis_is_per_camera():
    assert genesis("cam-01") == hashlib.sha256(b"siteguard-segment-genesis\x00cam-01").digest()
    assert genesis("cam-01") != genesis("cam-02")


def test_link_commits_to_every_field():
    r = build_chain(1)[0]
    for change in (dict(camera="cam-02"), dict(seq=2), dict(start=r.start - timedelta(seconds=1)),
                   dict(end=r.end + timedelta(microseconds=1)), dict(bytes=r.bytes + 1),
                   dict(sha256=bytes(32))):
        assert link_hash(r.prev_link, dataclasses.replace(r, **change)) != r.link
    assert link_hash(bytes(32), r) != r.link
    # Deletion fields are written later and are not part of the link.
    assert link_hash(r.prev_link, dataclasses.replace(r, deleted_at=NOW, deletion_reason="x")) == r.link


def test_new_record_validates_input():
    with pytest.raises(ValueError):
        new_record("cam-01", 0, T0, T0, 1, bytes(32), bytes(32))
    with pytest.raises(ValueError):
        new_record("cam-01", 1, T0, T0, 1, bytes(31), bytes(32))
    with pytest.raises(ValueError):
        new_record("cam-01", 1, T0.replace(tzinfo=None), T0.replace(tzinfo=None), 1, bytes(32), bytes(32))


# --- audit of the pure chain ---------------------------------------------------------


def test_intact_chain_passes():
    records = build_chain()
    report = audit_chain(records, files_of(records), POLICY, [], NOW, expected_head=(10, records[-1].link))
    assert report.ok and report.records_checked == 10 and report.cameras == ("cam-01",)


def test_one_edited_byte_is_reported():
    records = build_chain()
    hashes = files_of(records)
    edited = bytearray(content(5))
    edited[3] ^= 0x01
    hashes[5] = hashlib.sha256(bytes(edited)).digest()
    report = audit_chain(records, hashes, POLICY, [], NOW)
    assert report.messages() == [
        "cam-01 segment 5 (2026-05-01 10:04–10:05 UTC): file content changed (sha256 mismatch)"
    ]
    assert kinds(report) == [("cam-01", 5, ProblemKind.CONTENT_CHANGED)]


def test_missing_file_is_reported():
    records = build_chain()
    hashes = files_of(records)
    hashes[4] = None
    del hashes[7]
    report = audit_chain(records, hashes, POLICY, [], NOW)
    assert kinds(report) == [("cam-01", 4, ProblemKind.FILE_MISSING), ("cam-01", 7, ProblemKind.FILE_MISSING)]
    assert report.messages()[0] == (
        "cam-01 segment 4 (2026-05-01 10:03–10:04 UTC): file missing but not deleted by retention"
    )


def test_removed_index_rows_are_a_seq_gap():
    records = build_chain()
    one = [r for r in records if r.seq != 6]
    report = audit_chain(one, files_of(records), POLICY, [], NOW)
    assert report.messages() == ["cam-01 seq gap 6..6: records removed from the index"]
    several = [r for r in records if r.seq not in (1, 2, 5, 6, 7)]
    report = audit_chain(several, files_of(records), POLICY, [], NOW)
    assert kinds(report) == [("cam-01", 1, ProblemKind.SEQ_GAP), ("cam-01", 5, ProblemKind.SEQ_GAP)]
    assert report.messages()[1] == "cam-01 seq gap 5..7: records removed from the index"


def test_reordered_records_break_the_chain_where_they_were_swapped():
    records = build_chain()
    # Swap the seq numbers of rows 4 and 5 (their files move with them).
    swapped = [dataclasses.replace(r, seq={4: 5, 5: 4}.get(r.seq, r.seq)) for r in records]
    hashes = {r.seq: r.sha256 for r in swapped}
    report = audit_chain(swapped, hashes, POLICY, [], NOW)
    assert {p.seq for p in report.problems} == {4, 5, 6}
    assert all(p.camera == "cam-01" for p in report.problems)
    assert ("cam-01", 4, ProblemKind.CHAIN_BROKEN) in kinds(report)
    assert "chain broken at seq 4 (prev link mismatch)" in report.messages()[0]
    # The order in which the list arrives is irrelevant: seq decides.
    assert audit_chain(list(reversed(records)), files_of(records), POLICY, [], NOW).ok


def test_altered_index_fields_are_reported():
    records = build_chain()
    records[6] = dataclasses.replace(records[6], end=records[6].end + timedelta(minutes=5))
    report = audit_chain(records, files_of(records), POLICY, [], NOW)
    assert kinds(report) == [("cam-01", 7, ProblemKind.RECORD_ALTERED)]
    relinked = relink(records, 6)
    report = audit_chain(relinked, files_of(records), POLICY, [], NOW)
    assert report.ok  # a consistent rewrite needs the signed head to be caught


def test_rewritten_chain_and_truncated_tail_are_caught_by_the_signed_head():
    records = build_chain()
    head = (10, records[-1].link)
    truncated = records[:8]
    assert audit_chain(truncated, files_of(records), POLICY, [], NOW).ok  # invisible without a head
    report = audit_chain(truncated, files_of(records), POLICY, [], NOW, expected_head=head)
    assert kinds(report) == [("cam-01", 10, ProblemKind.HEAD_MISMATCH)]
    assert report.messages()[0] == (
        "cam-01: head does not match the signed head (records truncated): "
        "signed head is seq 10, the index ends at seq 8"
    )
    # Edit a file and rewrite its hash and every later link: only the head gives it away.
    forged = list(records)
    forged[4] = dataclasses.replace(forged[4], sha256=hashlib.sha256(b"forged").digest())
    forged = relink(forged, 4)
    hashes = files_of(records) | {5: hashlib.sha256(b"forged").digest()}
    assert audit_chain(forged, hashes, POLICY, [], NOW).ok
    report = audit_chain(forged, hashes, POLICY, [], NOW, expected_head=records[-1].link)
    assert kinds(report) == [("cam-01", None, ProblemKind.HEAD_MISMATCH)]
    # A chain that grew after signing still contains the signed head.
    assert audit_chain(records, files_of(records), POLICY, [], NOW, expected_head=(8, records[7].link)).ok


def test_empty_index_against_a_signed_head():
    report = audit_chain([], {}, POLICY, [], NOW, expected_head=(3, bytes(32)), camera="cam-01")
    assert kinds(report) == [("cam-01", 3, ProblemKind.HEAD_MISMATCH)]
    assert "the index ends at no records" in report.messages()[0]


def test_early_deletion_is_reported_with_both_dates():
    records = build_chain()
    records[2] = dataclasses.replace(records[2], deleted_at=datetime(2026, 6, 1, tzinfo=UTC),
                                     deletion_reason="manual")
    hashes = files_of(records)
    del hashes[3]
    report = audit_chain(records, hashes, POLICY, [], NOW)
    assert report.messages() == [
        "cam-01 segment 3 (2026-05-01 10:02–10:03 UTC): deleted on 2026-06-01 00:00 UTC before its "
        "minimum retention ended on 2026-11-01 10:03 UTC (early deletion)"
    ]
    assert kinds(report) == [("cam-01", 3, ProblemKind.EARLY_DELETION)]
    # One microsecond early is early.
    minimum = datetime(2026, 11, 1, 10, 3, tzinfo=UTC)
    records[2] = dataclasses.replace(records[2], deleted_at=minimum - timedelta(microseconds=1))
    report = audit_chain(records, hashes, POLICY, [], datetime(2026, 12, 1, tzinfo=UTC))
    assert kinds(report) == [("cam-01", 3, ProblemKind.EARLY_DELETION)]


def test_policy_deletion_is_not_reported():
    records = build_chain()
    later = datetime(2026, 12, 15, tzinfo=UTC)
    for i in (0, 1):  # past the 7-month maximum on Dec 1
        records[i] = dataclasses.replace(records[i], deleted_at=datetime(2026, 12, 2, tzinfo=UTC),
                                         deletion_reason="retention")
    hashes = {seq: h for seq, h in files_of(records).items() if seq > 2}
    assert audit_chain(records, hashes, POLICY, [], later, expected_head=records[-1].link).ok
    # Deleted on the exact day the minimum ended is also fine.
    records[2] = dataclasses.replace(records[2], deleted_at=datetime(2026, 11, 1, 10, 3, tzinfo=UTC),
                                     deletion_reason="manual")
    assert audit_chain(records, hashes, POLICY, [], later).ok


def test_deletion_under_hold_and_in_the_future_are_reported():
    records = build_chain()
    later = datetime(2026, 12, 15, tzinfo=UTC)
    hold = LegalHold("case-9", "cam-01", T0, T0 + timedelta(minutes=2), "dispute",
                     released_at=datetime(2026, 12, 10, tzinfo=UTC))
    records[0] = dataclasses.replace(records[0], deleted_at=datetime(2026, 12, 2, tzinfo=UTC), deletion_reason="r")
    records[4] = dataclasses.replace(records[4], deleted_at=datetime(2027, 1, 2, tzinfo=UTC), deletion_reason="r")
    hashes = {seq: h for seq, h in files_of(records).items() if seq not in (1, 5)}
    report = audit_chain(records, hashes, POLICY, [hold], later)
    assert kinds(report) == [("cam-01", 1, ProblemKind.DELETED_UNDER_HOLD),
                             ("cam-01", 5, ProblemKind.DELETION_IN_FUTURE)]
    assert "while under legal hold case-9 (dispute)" in report.messages()[0]


def test_audit_checks_one_camera_at_a_time():
    with pytest.raises(ValueError):
        audit_chain(build_chain(2) + build_chain(2, "cam-02"), {}, POLICY, [], NOW)
    with pytest.raises(ValueError):
        audit_chain([], {}, POLICY, [], NOW)


def test_gaps_in_recording_time():
    records = [r for r in build_chain(10) if r.seq not in (4, 5)] + build_chain(3, "cam-02")
    found = gaps(records, tolerance_s=5)
    assert len(found) == 1
    g = found[0]
    assert (g.camera, g.start, g.end, g.seconds) == ("cam-01", T0 + timedelta(minutes=3), T0 + timedelta(minutes=5), 120)
    assert gaps(records, tolerance_s=120) == []
    assert gaps([], 1) == []


# --- the index and store on disk ---------------------------------------------------


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def store(tmp_path):
    index = SegmentIndex(tmp_path / "index.db")
    clock = Clock(T0)
    s = SegmentStore(tmp_path / "segments", index, POLICY, clock)
    incoming = tmp_path / "incoming"
    incoming.mkdir()
    for cam in ("cam-01", "cam-02"):
        for i in range(6):
            start = T0 + timedelta(minutes=i)
            src = incoming / f"{cam}-{i}.mp4"
            src.write_bytes(f"{cam} {i}".encode() * 10)
            clock.now = start + timedelta(minutes=1)
            s.ingest(cam, start, start + timedelta(minutes=1), src)
    clock.now = NOW
    yield s
    index.close()


def db(tmp_path) -> sqlite3.Connection:
    """A second connection, as someone editing the index by hand would open."""
    return sqlite3.connect(tmp_path / "index.db", isolation_level=None)


def path_of(store, camera, seq):
    return store.root / store.index.paths(camera)[seq]


def test_ingest_moves_hashes_and_chains(store, tmp_path):
    assert not any((tmp_path / "incoming").iterdir())
    recs = store.index.records("cam-01")
    assert [r.seq for r in recs] == [1, 2, 3, 4, 5, 6]
    assert recs[0].prev_link == genesis("cam-01")
    assert all(b.prev_link == a.link for a, b in zip(recs, recs[1:]))
    assert recs[2].sha256 == hashlib.sha256(b"cam-01 2" * 10).digest()
    assert store.index.paths("cam-01")[1] == "cam-01/2026/05/01/20260501T100000Z.mp4"
    assert store.index.heads() == {"cam-01": (6, recs[-1].link), "cam-02": (6, store.index.records("cam-02")[-1].link)}
    assert store.usage() == sum(r.bytes for c in ("cam-01", "cam-02") for r in store.index.records(c))
    assert store.audit(expected_heads=store.index.heads()).ok
    src = tmp_path / "incoming" / "dup.mp4"
    src.write_bytes(b"x")
    with pytest.raises(FileExistsError):
        store.ingest("cam-01", T0, T0 + timedelta(minutes=1), src)
    assert src.exists()
    with pytest.raises(ValueError):
        store.ingest("../etc", T0, T0 + timedelta(minutes=1), src)


def test_records_window_and_bitrates(store):
    window = store.index.records("cam-02", since=T0 + timedelta(minutes=2), until=T0 + timedelta(minutes=4))
    assert [r.seq for r in window] == [3, 4]
    rates = store.index.bitrates(T0, T0 + timedelta(hours=1))
    assert rates["cam-01"] == pytest.approx(sum(r.bytes for r in store.index.records("cam-01")) * 8 / 360)


def test_store_audit_reports_each_tampering(store, tmp_path):
    heads = store.index.heads()
    # Edit one byte of cam-01 seq 2.
    p = path_of(store, "cam-01", 2)
    data = bytearray(p.read_bytes())
    data[0] ^= 0xFF
    p.write_bytes(bytes(data))
    # Delete the file of cam-02 seq 3.
    path_of(store, "cam-02", 3).unlink()
    # Remove the index row of cam-01 seq 4 (its file stays behind).
    conn = db(tmp_path)
    conn.execute("DELETE FROM segments WHERE camera = 'cam-01' AND seq = 4")
    # Truncate the tail of cam-02 (seq 6) from the index.
    tail = path_of(store, "cam-02", 6)
    conn.execute("DELETE FROM segments WHERE camera = 'cam-02' AND seq = 6")
    tail.unlink()
    report = store.audit(expected_heads=heads)
    assert kinds(report) == [
        ("cam-01", None, ProblemKind.ORPHAN_FILE),
        ("cam-01", 2, ProblemKind.CONTENT_CHANGED),
        ("cam-01", 4, ProblemKind.SEQ_GAP),
        ("cam-02", 3, ProblemKind.FILE_MISSING),
        ("cam-02", 6, ProblemKind.HEAD_MISMATCH),
    ]
    assert "cam-01/2026/05/01/20260501T100300Z.mp4 has no record" in report.messages()[0]


def test_store_audit_reports_reordered_rows(store, tmp_path):
    conn = db(tmp_path)
    conn.execute("UPDATE segments SET seq = -1 WHERE camera = 'cam-02' AND seq = 2")
    conn.execute("UPDATE segments SET seq = 2 WHERE camera = 'cam-02' AND seq = 3")
    conn.execute("UPDATE segments SET seq = 3 WHERE camera = 'cam-02' AND seq = -1")
    report = store.audit()
    assert {(p.camera, p.seq) for p in report.problems} == {("cam-02", 2), ("cam-02", 3), ("cam-02", 4)}
    assert ("cam-02", 2, ProblemKind.CHAIN_BROKEN) in kinds(report)


def test_store_audit_reports_early_deletion_by_hand(store, tmp_path):
    conn = db(tmp_path)
    when = datetime(2026, 6, 1, tzinfo=UTC)
    us = (when - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)
    path_of(store, "cam-01", 5).unlink()
    conn.execute("UPDATE segments SET deleted_at_us = ?, deletion_reason = 'cleanup' "
                 "WHERE camera = 'cam-01' AND seq = 5", (us,))
    report = store.audit()
    assert kinds(report) == [("cam-01", 5, ProblemKind.EARLY_DELETION)]
    assert report.messages()[0].endswith(
        "deleted on 2026-06-01 00:00 UTC before its minimum retention ended on 2026-11-01 10:05 UTC (early deletion)"
    )


def test_purge_deletes_only_expired_and_leaves_a_clean_audit(store):
    store.index.add_hold(LegalHold("case-1", "cam-02", T0, T0 + timedelta(minutes=1), "incident",
                                   placed_at=NOW))
    assert store.purge(datetime(2026, 11, 30, tzinfo=UTC)) == []  # past min, not max
    later = datetime(2026, 12, 1, 10, 3, tzinfo=UTC)  # segments ending by 10:03 are 7 months old
    deleted = store.purge(later)
    assert sorted((r.camera, r.seq) for r in deleted) == [("cam-01", 1), ("cam-01", 2), ("cam-01", 3),
                                                           ("cam-02", 3)]
    assert all(r.deleted_at == later and r.deletion_reason.startswith("retention") for r in deleted)
    assert not path_of(store, "cam-01", 1).exists()
    assert path_of(store, "cam-02", 1).exists()  # held (seq 1 and 2 touch the held minutes)
    heads = store.index.heads()
    assert store.audit(later, expected_heads=heads).ok
    store.index.release_hold("case-1", later + timedelta(days=1))
    assert {(r.camera, r.seq) for r in store.purge(later + timedelta(days=2))} == {
        ("cam-02", 1), ("cam-02", 2), ("cam-01", 4), ("cam-01", 5), ("cam-01", 6),
        ("cam-02", 4), ("cam-02", 5), ("cam-02", 6)}
    assert store.usage() == 0
    assert store.audit(later + timedelta(days=2), expected_heads=heads).ok


def test_purge_rechecks_each_deletion_right_before_unlinking(store, monkeypatch):
    young = store.index.records("cam-01")[0].info()
    from retention.policy import PurgePlan

    monkeypatch.setattr(store, "plan", lambda now=None: PurgePlan(delete=[young]))
    with pytest.raises(RetentionViolation):
        store.purge(NOW)
    assert path_of(store, "cam-01", 1).exists()
    assert not store.index.records("cam-01")[0].deleted


def test_a_hold_placed_after_planning_still_stops_the_purge(store, monkeypatch):
    later = datetime(2026, 12, 2, tzinfo=UTC)
    plan = store.plan(later)
    assert len(plan.delete) == 12
    store.index.add_hold(LegalHold("late", "cam-02", T0, T0, "placed mid-purge", placed_at=later))
    monkeypatch.setattr(store, "plan", lambda now=None: plan)
    with pytest.raises(RetentionViolation, match="cam-02 segment 1 .*under legal hold late"):
        store.purge(later)
    assert path_of(store, "cam-02", 1).exists()
    assert not store.index.get("cam-02", 1).deleted


def test_holds_are_stored_released_and_kept(store):
    h = LegalHold("case-2", None, T0, T0 + timedelta(hours=1), "police request", placed_at=NOW)
    store.index.add_hold(h)
    with pytest.raises(ValueError):
        store.index.add_hold(h)
    assert store.index.list_holds() == [h]
    released = store.index.release_hold("case-2", NOW + timedelta(days=3))
    assert released.released_at == NOW + timedelta(days=3)
    assert store.index.list_holds() == [released]
    with pytest.raises(ValueError):
        store.index.release_hold("case-2", NOW + timedelta(days=4))
    with pytest.raises(KeyError):
        store.index.release_hold("nope", NOW)


def test_mark_deleted_keeps_the_row(store):
    rec = store.index.mark_deleted("cam-01", 1, "retention", NOW)
    assert rec.deleted_at == NOW and rec.link == store.index.get("cam-01", 1).link
    with pytest.raises(ValueError):
        store.index.mark_deleted("cam-01", 1, "again", NOW)
    with pytest.raises(KeyError):
        store.index.mark_deleted("cam-01", 99, "missing", NOW)
    assert len(store.index.records("cam-01")) == 6


def test_segment_info_of_a_record():
    r = build_chain(1)[0]
    assert r.info() == SegmentInfo(1, "cam-01", r.start, r.end, r.bytes)
