"""Audit bundles: a simulated period's bundle verifies offline with only the ledger's key; each
tampering is named exactly by the verifier; only inspectors, officers and admins may make one."""
from __future__ import annotations

import datetime as dt
import io
import os
import tarfile
from pathlib import Path

import pytest
from sqlalchemy import select

from controller.ingest import access_batch, customer_ids, store_events
from controller.models import Customer, Role
from controller.services.audit_bundle import BundleRequest, LocalRecordings, build
from controller.services.users import create_user
from edge_agent.wire import messages as m
from retention.audit_bundle import verify_bundle
from retention.policy import RetentionPolicy
from retention.segments import SegmentIndex, SegmentStore
from tests.conftest import app_with_demo_site, cli, serve, wait_for

T0 = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.timezone.utc)
CAMERAS = ("cam-01", "cam-02")


def iso(t: dt.datetime) -> str:
    return t.isoformat()


class Site:
    """The demo site's controller with a recorded period fed in as its edge reports it."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.app, self.site_id, self.agent_id = app_with_demo_site(tmp, f"sqlite:///{tmp / 'controller.db'}")
        self.core = self.app.state.core
        self.seq = 0
        self.recordings = tmp / "recordings"
        clock = lambda: T0 + dt.timedelta(hours=2)  # noqa: E731
        self.index = SegmentIndex(tmp / "segments.db", durable=False)
        self.store = SegmentStore(self.recordings, self.index, RetentionPolicy(6, 12, "Asia/Shanghai"), clock,
                                  durable=False)

    def send(self, *events: tuple[str, dict]) -> None:
        batch = []
        for kind, data in events:
            self.seq += 1
            batch.append(m.Event(seq=self.seq, ts=iso(T0), kind=kind, data=data))
        with self.core.sessions() as s:  # as the link stores a batch (wire_server._on_events)
            result = store_events(s, self.agent_id, self.site_id, batch, customer_ids(s))
            for kind, data in result.ledger:
                self.core.ledger.record(s, kind, data)
            if result.access:
                self.core.ledger.record(s, "access.batch", access_batch(self.site_id, self.agent_id, result.access))
            s.commit()

    def record(self, camera: str, start: dt.datetime, seconds: int = 60) -> None:
        src = self.tmp / "incoming.mp4"
        src.write_bytes(os.urandom(3000) + camera.encode() + start.isoformat().encode())
        rec = self.store.ingest(camera, start, start + dt.timedelta(seconds=seconds), src)
        self.send(("segment.recorded", {"camera": camera, "seq": rec.seq, "start": iso(rec.start),
                                        "end": iso(rec.end), "bytes": rec.bytes, "sha256": rec.sha256.hex(),
                                        "link": rec.link.hex()}))

    def bundle(self, path: Path, **kw) -> Path:
        req = BundleRequest(self.site_id, T0, T0 + dt.timedelta(hours=1), by="insp", reason="inspection", **kw)
        with path.open("wb") as out:
            build(self.core.sessions, self.core.ledger, req, out,
                  None if kw.get("manifests_only") else LocalRecordings(self.recordings))
        return path

    @property
    def key(self) -> bytes:
        return self.core.ledger.public_key


@pytest.fixture
def site(tmp_path) -> Site:
    s = Site(tmp_path)
    for camera in CAMERAS:
        for i in range(6):
            if camera == "cam-02" and i == 3:
                continue  # cam-02 was down 08:03-08:04: a gap
            s.record(camera, T0 + dt.timedelta(minutes=i))
    s.send(("gate.decision", {"gate": "gate-main", "at": iso(T0 + dt.timedelta(minutes=1)), "direction": "entry",
                              "person": "p-001", "granted": True, "reason": "granted"}),
           ("gate.passage", {"gate": "gate-main", "at": iso(T0 + dt.timedelta(minutes=1, seconds=2)),
                             "direction": "entry", "person": "p-001", "cause": "granted"}))
    return s


def rewrite(src: Path, dst: Path, edit) -> Path:
    """A copy of the bundle with ``edit(name, data)`` applied to each member (None drops it)."""
    with tarfile.open(src) as tin, tarfile.open(dst, "w") as tout:
        for member in tin:
            data = tin.extractfile(member).read()
            new = edit(member.name, data)
            if new is None:
                continue
            info = tarfile.TarInfo(member.name)
            info.size = len(new)
            tout.addfile(info, io.BytesIO(new))
    return dst


def test_a_recorded_period_verifies_offline(site, tmp_path):
    path = site.bundle(tmp_path / "b.tar")
    report = verify_bundle(str(path), site.key)
    assert report.ok, report.problems
    assert report.segments == 11 and report.files_hashed == 11
    assert report.gaps == 1 and report.deletions == 0 and report.access_events == 2
    hours = report.hours()
    assert hours["cam-01"] == pytest.approx(0.1) and hours["cam-02"] == pytest.approx(5 / 60)
    assert hours["cam-03"] == 0
    assert report.warnings == []
    with tarfile.open(path) as tar:
        names = tar.getnames()
        assert names[:2] == ["README.txt", "bundle.json"]
        gaps = tar.extractfile("gaps.jsonl").read().decode()
    assert "cam-02" in gaps and "08:03:00" in gaps and "08:04:00" in gaps
    # the CLI says the same, and fails on a wrong key
    res = cli("verify-bundle", str(path), "--key", site.key.hex())
    assert "OK: audit bundle" in res.stdout and "cam-01 0.10 h" in res.stdout
    res = cli("verify-bundle", str(path), "--key", "11" * 32, check=False)
    assert res.returncode == 1 and "ledger/checkpoint.txt: signature does not verify" in res.stdout


def test_a_manifests_only_bundle_and_its_creation_is_ledgered(site, tmp_path):
    path = site.bundle(tmp_path / "m.tar", manifests_only=True, cameras=["cam-02"])
    report = verify_bundle(str(path), site.key)
    assert report.ok, report.problems
    assert report.segments == 5 and report.files_hashed == 0
    assert site.core.ledger.count_kind("audit.bundle") == 1
    assert site.core.ledger.count_kind("access.batch") == 1


def one_failure(site, path: Path) -> str:
    report = verify_bundle(str(path), site.key)
    assert not report.ok
    return "\n".join(report.problems)


def test_each_tampering_is_named(site, tmp_path):
    good = site.bundle(tmp_path / "b.tar")
    with tarfile.open(good) as tar:
        seg = next(n for n in tar.getnames() if n.startswith("segments/cam-01/0000000003_"))
        proofs = [n for n in tar.getnames() if n.startswith("proofs/")]

    def flip(name, data, target):
        return (data[:100] + bytes([data[100] ^ 1]) + data[101:]) if name == target else data

    edited = one_failure(site, rewrite(good, tmp_path / "t1.tar", lambda n, d: flip(n, d, seg)))
    assert f"{seg}: camera cam-01 segment 3 content changed" in edited

    removed = one_failure(site, rewrite(good, tmp_path / "t2.tar", lambda n, d: None if n == seg else d))
    assert ("manifests/cam-01.jsonl line 3 (camera cam-01 segment 3): segment file missing from the bundle "
            "and not deleted") in removed

    def edit_line(name, data):
        if name != "manifests/cam-01.jsonl":
            return data
        lines = data.split(b"\n")
        lines[1] = lines[1].replace(b'"bytes":', b'"bytes":1')
        return b"\n".join(lines)
    line = one_failure(site, rewrite(good, tmp_path / "t3.tar", edit_line))
    assert "manifests/cam-01.jsonl line 2 (camera cam-01 segment 2): record altered" in line

    def alter_proof(name, data):
        if name != proofs[0]:
            return data
        lines = data.split(b"\n")
        lines[2] = b"A" * 43 + b"="
        return b"\n".join(lines)
    proof = one_failure(site, rewrite(good, tmp_path / "t4.tar", alter_proof))
    assert f"{proofs[0]}: ledger entry {proofs[0][7:-11]}" in proof and "not proven" in proof

    def break_sig(name, data):
        if name != "ledger/checkpoint.txt":
            return data
        text = data.decode()
        return (text[:-5] + ("A" if text[-5] != "A" else "B") + text[-4:]).encode()
    sig = one_failure(site, rewrite(good, tmp_path / "t5.tar", break_sig))
    assert "ledger/checkpoint.txt: signature does not verify" in sig


def test_a_deletion_inside_the_minimum_retention_is_named(site, tmp_path):
    site.send(("segment.deleted", {"camera": "cam-01", "seq": 2, "deleted_at": iso(T0 + dt.timedelta(days=3)),
                                   "reason": "disk full"}))
    path = site.bundle(tmp_path / "d.tar")
    problems = one_failure(site, path)
    assert ("deletions.jsonl line 1 (camera cam-01 segment 2): deleted on 2026-03-05T08:00:00.000000Z inside the "
            "minimum retention of 6 months") in problems
    assert "disk full" in problems
    assert verify_bundle(str(path), site.key).deletions == 1


USERS = {"adm": ("admin", None), "off": ("officer", None), "insp": ("inspector", None),
         "acme1": ("customer", "acme"), "ann": ("annotator", None)}


def test_only_inspectors_officers_and_admins_make_bundles(site, tmp_path):
    core = site.core
    with core.sessions() as s:
        for username, (role, cust) in USERS.items():
            cid = s.scalar(select(Customer.id).where(Customer.slug == cust)) if cust else None
            create_user(s, core.ledger, username, f"{username}-pass", Role(role), cid, "test")
    body = {"from": iso(T0), "to": iso(T0 + dt.timedelta(hours=1)), "reason": "inspection",
            "manifests_only": True}
    with serve(site.app, f"sqlite:///{tmp_path / 'controller.db'}") as client:
        def headers(user):
            r = client.post("/api/auth/token", json={"username": user, "password": f"{user}-pass"})
            return {"Authorization": f"Bearer {r.json()['token']}"}
        for user in ("acme1", "ann"):
            h = headers(user)
            assert client.post(f"/api/sites/{site.site_id}/audit-bundles", json=body, headers=h).status_code == 403
            assert client.get("/audit", headers=h).status_code == 403
        h = headers("insp")
        r = client.post(f"/api/sites/{site.site_id}/audit-bundles", json=body, headers=h)
        assert r.status_code == 202, r.text
        job = r.json()["id"]
        wait_for(lambda: client.get(f"/api/audit-bundles/{job}", headers=h).json()["state"] == "done",
                 what="the bundle")
        for user in ("acme1", "ann"):
            assert client.get(f"/api/audit-bundles/{job}/file", headers=headers(user)).status_code == 403
        r = client.get(f"/api/audit-bundles/{job}/file", headers=headers("off"))
        assert r.status_code == 200
        out = tmp_path / "web.tar"
        out.write_bytes(r.content)
        assert verify_bundle(str(out), site.key).ok
        page = client.get("/audit", headers=headers("off"))
        assert page.status_code == 200 and 'id="bundle-form"' in page.text


def test_checking_manifests_in_worker_processes_or_from_a_stream_reports_the_same(site, tmp_path):
    site.send(("segment.deleted", {"camera": "cam-01", "seq": 2, "deleted_at": iso(T0 + dt.timedelta(days=3)),
                                   "reason": "disk full"}))
    good = site.bundle(tmp_path / "b.tar")

    def edit_lines(name, data):
        if name == "manifests/cam-01.jsonl":
            lines = data.split(b"\n")
            lines[1] = lines[1].replace(b'"bytes":', b'"bytes":1')
            del lines[3]
            return b"\n".join(lines)
        if name == "manifests/cam-02.jsonl":
            return data.replace(b'"camera":"cam-02"', b'"camera":"cam-03"', 1)
        return data
    for path in (good, rewrite(good, tmp_path / "t.tar", edit_lines)):
        one = verify_bundle(str(path), site.key, workers=1)
        with path.open("rb") as stream:
            streamed = verify_bundle(stream, site.key)
        for other in (verify_bundle(str(path), site.key, workers=2), streamed):
            assert other.problems == one.problems and other.warnings == one.warnings
            assert (other.segments, other.hours(), other.gaps, other.deletions) == (
                one.segments, one.hours(), one.gaps, one.deletions)
    assert any("deletions.jsonl line 1 (camera cam-01 segment 2)" in p for p in one.problems)
    assert "manifests/cam-01.jsonl line 2 (camera cam-01 segment 2): record altered" in "\n".join(one.problems)
    assert any("segments 4..4 removed from the manifest" in p for p in one.problems)
    assert "manifests/cam-02.jsonl line 1: not a canonical segment record of camera cam-02" in one.problems


def test_a_segment_time_that_is_no_time_is_named_not_a_crash(site, tmp_path):
    good = site.bundle(tmp_path / "b.tar")

    def bad_time(name, data):
        if name != "manifests/cam-01.jsonl":
            return data
        lines = data.split(b"\n")
        lines[1] = lines[1].replace(b'"start":"', b'"start":"x', 1)
        return b"\n".join(lines)
    problems = one_failure(site, rewrite(good, tmp_path / "t.tar", bad_time))
    assert "manifests/cam-01.jsonl (camera cam-01): after line" in problems
    assert "is not an ISO 8601 time with its zone" in problems
