"""A project's export through the API, checked offline by `siteguard verify-export`: it
verifies, one flipped byte is caught and named, the export itself is ledgered, a customer
exports only its own projects (another's reads as missing), annotators may not export, and a
project whose versions still wait for the sequencer is refused until they are integrated."""
from __future__ import annotations

import hashlib
import json

import pytest
from sqlalchemy import select

from annotation.export_bundle import verify_export_bundle
from annotation.versions import LEAF_KIND, Version
from controller.annotation_tables import Annotation, Dataset, Item, Project, Task
from controller.domain_errors import Conflict, Invalid
from controller.ingest import customer_ids
from controller.models import LedgerEntry, Role, User
from controller.services import exports as svc
from controller.services.users import create_user
from tests.conftest import app_with_demo_site, cli, serve

BOXES = [  # per image: each annotator's saved versions, oldest first
    [("ann1", [{"boxes": [{"label": "car", "x": 1, "y": 2, "w": 30, "h": 40}]},
               {"boxes": [{"label": "car", "x": 64, "y": 48, "w": 128, "h": 96}]}]),
     ("ann2", [{"boxes": [{"label": "person", "x": 0, "y": 0, "w": 10, "h": 20}]}])],
    [("ann1", [{"boxes": []}])],
]


def add_project(s, ledger, customer_id: int, slug: str, users: dict[str, User], images=BOXES) -> int:
    """A box project with its items, tasks and saved versions, each version's leaf recorded in
    the version's own transaction, as the work API does."""
    p = Project(customer_id=customer_id, slug=slug, name=slug, modality="image",
                label_schema={"kind": "boxes", "labels": ["car", "person"]}, created_by="test")
    s.add(p)
    s.flush()
    ds = Dataset(project_id=p.id, name="d1", status="done", created_by="test")
    s.add(ds)
    s.flush()
    for n, chains in enumerate(images):
        sha = f"{p.id:02d}{n:02d}".ljust(64, "0")
        item = Item(project_id=p.id, dataset_id=ds.id, sha256=sha, media_type="image/png", size=100,
                    source_name=f"cam/{n}.png", meta={"width": 640, "height": 480})
        s.add(item)
        s.flush()
        task = Task(project_id=p.id, item_id=item.id, wanted=2)
        s.add(task)
        s.flush()
        for annotator, results in chains:
            prev = None
            for v_no, result in enumerate(results, start=1):
                v = Version(project=p.id, task=task.id, item_sha256=sha, annotator=annotator, seat="A1",
                            version=v_no, at=f"2026-12-07T10:00:{v_no:02d}Z", result=result, prev_hash=prev)
                row = Annotation(project_id=p.id, task_id=task.id, annotator_id=users[annotator].id, version=v_no,
                                 result=result, item_sha256=sha, seat="A1", prev_hash=prev, hash=v.hash())
                s.add(row)
                s.flush()
                ledger.record(s, LEAF_KIND, v.leaf(row.id))
                prev = v.hash()
    s.commit()
    return p.id


@pytest.fixture
def site(tmp_path, database_url):
    app, _, _ = app_with_demo_site(tmp_path, database_url)
    core = app.state.core
    with core.sessions() as s:
        ids = customer_ids(s)
        users = {name: create_user(s, core.ledger, name, f"{name}-pass-1", role, ids.get(customer), "test")
                 for name, role, customer in (("off", Role.officer, None), ("acme1", Role.customer, "acme"),
                                              ("bor1", Role.customer, "borealis"), ("ann1", Role.annotator, None),
                                              ("ann2", Role.annotator, None))}
        s.commit()
        acme = add_project(s, core.ledger, ids["acme"], "street", users)
        bor = add_project(s, core.ledger, ids["borealis"], "yard", users, images=BOXES[1:])
    return app, core, acme, bor


def test_an_export_verifies_offline_and_a_flipped_byte_is_caught(site, database_url, tmp_path):
    app, core, acme, bor = site
    core.ledger.integrate_all()
    with serve(app, database_url) as c:
        def as_user(name: str) -> dict:
            token = c.post("/api/auth/token", json={"username": name, "password": f"{name}-pass-1"}).json()["token"]
            return {"Authorization": f"Bearer {token}"}

        r = c.post(f"/api/projects/{acme}/exports", params={"format": "coco"}, headers=as_user("acme1"))
        assert r.status_code == 200, r.text
        assert r.headers["content-type"] == "application/zip" and r.headers["x-export-count"] == "3"
        bundle = r.content
        key = c.get("/api/ledger/checkpoint", headers=as_user("off")).json()["public_key"]

        # A customer cannot tell another customer's project from a missing one; annotators may not export.
        theirs = c.post(f"/api/projects/{bor}/exports", params={"format": "coco"}, headers=as_user("acme1"))
        missing = c.post("/api/projects/999999/exports", params={"format": "coco"}, headers=as_user("acme1"))
        assert (theirs.status_code, theirs.json()) == (missing.status_code, missing.json()) == (
            404, {"detail": "no such project"})
        assert c.post(f"/api/projects/{acme}/exports", params={"format": "coco"},
                      headers=as_user("ann1")).status_code == 403
        # Officers export any customer's project, in any format that fits its labels.
        r = c.post(f"/api/projects/{bor}/exports", params={"format": "yolo"}, headers=as_user("off"))
        assert r.status_code == 200 and r.headers["x-export-count"] == "1"
        r = c.post(f"/api/projects/{bor}/exports", params={"format": "nemo"}, headers=as_user("off"))
        assert r.status_code == 422 and "cannot be exported as nemo" in r.text

    # The export is ledgered with who, what and the zip's digest.
    core.ledger.integrate_all()
    with core.sessions() as s:
        leaves = [json.loads(x)["data"] for x in
                  s.scalars(select(LedgerEntry.leaf).where(LedgerEntry.kind == svc.EXPORT_KIND))]
    assert {"by": "acme1", "project": acme, "format": "coco", "count": 3, "versions": 4,
            "sha256": hashlib.sha256(bundle).hexdigest()}.items() <= leaves[0].items()

    path = tmp_path / "street-coco.zip"
    path.write_bytes(bundle)
    keyfile = tmp_path / "ledger.pub"
    keyfile.write_text(key + "\n")
    ok = cli("verify-export", str(path), "--key", str(keyfile))
    assert "OK: coco export of project" in ok.stdout and "4 versions in 3 chains" in ok.stdout

    flipped = bytearray(bundle)
    at = bundle.index(b'"annotation":') + 20  # inside annotations.jsonl's first line
    flipped[at] ^= 0x01
    path.write_bytes(bytes(flipped))
    bad = cli("verify-export", str(path), "--key", key, check=False)
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "FAIL: annotations.jsonl: damaged" in bad.stdout and "does NOT verify" in bad.stdout
    assert "FAIL: annotations.jsonl line 1 (annotation " in bad.stdout  # the record, not just the file

    # The site's key only: another key fails, a key that is no key is refused as input.
    path.write_bytes(bundle)
    wrong = cli("verify-export", str(path), "--key", "ab" * 32, check=False)
    assert wrong.returncode == 1 and "not the trusted key" in wrong.stdout
    assert cli("verify-export", str(path), "--key", "zz", check=False).returncode == 2
    assert cli("verify-export", str(tmp_path / "none.zip"), "--key", key, check=False).returncode == 2


def test_versions_not_yet_integrated_are_refused_until_they_are(site):
    app, core, acme, _ = site
    with core.sessions() as s:
        officer = s.scalar(select(User).where(User.username == "off"))
        with pytest.raises(Conflict, match="not yet integrated"):
            svc.create_export(s, core.ledger, officer, acme, "coco")
        with pytest.raises(Invalid, match="cannot be exported as nemo"):
            svc.create_export(s, core.ledger, officer, acme, "nemo")
    core.ledger.integrate_all()
    with core.sessions() as s:
        officer = s.scalar(select(User).where(User.username == "off"))
        export = svc.create_export(s, core.ledger, officer, acme, "jsonl")
        # A version whose leaf was never written is refused for good, not "try again".
        s.add(Annotation(project_id=acme, task_id=s.scalar(select(Task.id).where(Task.project_id == acme)),
                         annotator_id=officer.id, version=1, result={"boxes": []}, item_sha256="0" * 64,
                         prev_hash=None, hash="f" * 64))
        s.commit()
        core.ledger.integrate_all()  # the export's own leaf: nothing waits any more
        with pytest.raises(Conflict, match="have no ledger leaf"):
            svc.create_export(s, core.ledger, officer, acme, "coco")
        data = b"".join(export.chunks())
    report = verify_export_bundle(data, core.ledger.public_key)
    assert report.ok, report.problems
    assert report.counts["exported"] == 3 and report.format == "jsonl"
