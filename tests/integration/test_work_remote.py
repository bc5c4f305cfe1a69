"""Remote annotation work over the site's WireGuard peers: a request from a customer's remote
range is judged by the customer's remote rules instead of a seat's (allowed, the kinds of data,
an active peer of this very person at the address), the person rules but presence still hold,
the content carries the watermark (a header for text, burnt into an image's pixels), and every
refusal is named and counted."""
from __future__ import annotations

import hashlib
import io
import random
from urllib.parse import unquote

import pytest
from PIL import Image, ImageChops
from sqlalchemy import select

from controller.annotation_tables import Dataset, Item, Project, ProjectMember, Task, TaskSlot
from controller.ingest import customer_ids, store_events
from controller.models import Role, Site, VpnPeer, WorkRefusalHour, utcnow
from controller.services import work
from controller.services.users import create_user
from controller.sites import apply_site_config
from edge_agent.wire.messages import Event
from edge_agent.wire.site import parse_site_text
from tests.conftest import DEMO_SITE, app_with_demo_site, serve
from tests.vpn_site import wg_keypair

PEOPLE = {"ann": "p-003", "ann4": "p-004", "ann5": "p-005", "ann6": "p-006"}
DEMO_LOGINS = {"ann": "annotator", "ann4": "wangfang", "ann5": "liuyang", "ann6": "zhaolei"}
# Peers' addresses in acme's remote range (10.200.0.0/24) and borealis's (10.201.0.0/24).
ANN_PEER, ANN4_PEER, ANN5_PEER, REQUESTED, NO_PEER, ANN6_PEER = (
    "10.200.0.5", "10.200.0.6", "10.200.0.8", "10.200.0.7", "10.200.0.9", "10.201.0.5")
WATERMARK_HEADER = "x-siteguard-watermark"


def _site_text(acme_modalities: str = "[text, audio]") -> str:
    text = DEMO_SITE.read_text()
    for user, demo_login in DEMO_LOGINS.items():
        text = text.replace(f"    user: {demo_login}\n", f"    user: {user}\n")
    text = text.replace("        gateway: 10.110.0.1\n", "        gateway: 10.110.0.1\n    remote: {allowed: true, "
                        f"range: 10.200.0.0/24, modalities: {acme_modalities}, watermark: true}}\n", 1)
    text = text.replace("        gateway: 10.120.0.1\n",
                        "        gateway: 10.120.0.1\n    remote: {allowed: false, range: 10.201.0.0/24}\n", 1)
    return text.replace("  drift_check_minutes: 10\n", "  drift_check_minutes: 10\n  vpn:\n"
                        f"    private_key: \"{GATEWAY_KEY}\"\n    platform: [10.0.0.10]\n", 1)


GATEWAY_KEY = wg_keypair()[0]


def _png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (320, 240), (200, 220, 240)).save(buf, "PNG")
    return buf.getvalue()


def _project(s, customer_id: int, members: list[int], modality: str, body: bytes, media_type: str, data_dir) -> int:
    kind = "boxes" if modality == "image" else "classification"
    project = Project(customer_id=customer_id, slug=f"p{random.randrange(10**9)}", name=modality, modality=modality,
                      label_schema={"kind": kind, "labels": ["a", "b"]}, annotators_per_task=2, gold_share=0.0,
                      created_by="test")
    s.add(project)
    s.flush()
    ds = Dataset(project_id=project.id, name="batch 1", status="done", created_by="test")
    s.add(ds)
    s.flush()
    sha = hashlib.sha256(body).hexdigest()
    path = work.content_path(data_dir, sha)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(body)
    item = Item(project_id=project.id, dataset_id=ds.id, sha256=sha, media_type=media_type, size=len(body),
                source_name="x", meta={})
    s.add(item)
    s.flush()
    task = Task(project_id=project.id, item_id=item.id, wanted=2)
    s.add(task)
    s.flush()
    s.add_all(TaskSlot(project_id=project.id, task_id=task.id, slot=n) for n in range(2))
    s.add_all(ProjectMember(project_id=project.id, user_id=u, added_by="test") for u in members)
    s.commit()
    return project.id


@pytest.fixture
def rig(tmp_path, database_url, monkeypatch):
    monkeypatch.setenv("SITEGUARD_TRUSTED_PROXIES", "127.0.0.1")  # the tests speak through a "proxy"
    app, site_id, agent_id = app_with_demo_site(tmp_path, database_url)
    core = app.state.core
    data_dir = core.settings.data_dir
    with core.sessions() as s:
        apply_site_config(s, parse_site_text(_site_text()))
        ids = customer_ids(s)
        users = {u: create_user(s, core.ledger, u, f"{u}-pass-1", Role.annotator, None, "test").id for u in PEOPLE}
        s.commit()
        acme_members = [users[u] for u in ("ann", "ann4", "ann5")]
        projects = {
            "text": _project(s, ids["acme"], acme_members, "text", b"customer text", "text/plain", data_dir),
            "image": _project(s, ids["acme"], acme_members, "image", _png(), "image/png", data_dir),
            "borealis": _project(s, ids["borealis"], [users["ann6"]], "text", b"borealis text", "text/plain",
                                 data_dir)}
        for person, address, customer, status in [
                ("p-003", ANN_PEER, "acme", "active"), ("p-004", ANN4_PEER, "acme", "active"),
                ("p-005", ANN5_PEER, "acme", "active"), ("p-003", REQUESTED, "acme", "requested"),
                ("p-006", ANN6_PEER, "borealis", "active")]:
            s.add(VpnPeer(site_id=site_id, customer_id=ids[customer], person=person, public_key=wg_keypair()[1],
                          address=address, status=status, created_by="test"))
        # The gates last put ann outside: a remote worker is never inside, and that is no reason.
        at = utcnow().isoformat()
        store_events(s, agent_id, site_id, [Event(seq=1, ts=at, kind="gate.passage", data={
            "gate": "gate-main", "at": at, "direction": "exit", "person": "p-003", "cause": "grant",
            "area_to": "outside"})], customer_ids(s))
        s.commit()
    with serve(app, database_url, client=("127.0.0.1", 50000)) as c:
        tokens = {}

        def as_user(name: str, address: str) -> dict:
            if name not in tokens:
                r = c.post("/api/auth/token", json={"username": name, "password": f"{name}-pass-1"})
                tokens[name] = r.json()["token"]
            return {"Authorization": f"Bearer {tokens[name]}", "X-Forwarded-For": address}

        yield c, core, site_id, projects, as_user


def test_remote_work_follows_the_customers_remote_rules_and_carries_the_watermark(rig):
    c, core, site_id, projects, as_user = rig

    def nxt(project: str, user: str, address: str):
        return c.post(f"/api/work/projects/{projects[project]}/next", headers=as_user(user, address))

    def refused(project: str, user: str, address: str) -> list[str]:
        r = nxt(project, user, address)
        assert r.status_code == 403, r.text
        return r.json()["reasons"]

    # ann over her own active peer: a text task, marked with her person id and the peer's address.
    r = nxt("text", "ann", ANN_PEER)
    assert r.status_code == 200, r.text
    task = r.json()
    assert task["watermark"] == f"p-003 · {ANN_PEER}"
    assert task["seat"].endswith(f"/vpn:{ANN_PEER}")
    r = c.get(task["content"], headers=as_user("ann", ANN_PEER))
    assert r.status_code == 200 and r.content == b"customer text"
    assert unquote(r.headers[WATERMARK_HEADER]) == f"p-003 · {ANN_PEER}"
    beat = c.post(f"/api/work/tasks/{task['task']}/heartbeat", headers=as_user("ann", ANN_PEER)).json()
    assert beat["allowed"] and beat["watermark"] == f"p-003 · {ANN_PEER}"
    # At a seat nothing is watermarked by the server, and no header says otherwise.
    assert "watermark" in task and c.post(f"/api/work/tasks/{task['task']}/heartbeat",
                                          headers=as_user("ann", "10.110.0.11")).json()["watermark"] is None

    # Each remote rule alone refuses with its name.
    assert refused("image", "ann", ANN_PEER) == ["modality_not_allowed_remotely"]
    assert refused("borealis", "ann6", ANN6_PEER) == ["remote_work_denied"]
    assert refused("text", "ann", NO_PEER) == ["unknown_remote_peer"]
    assert refused("text", "ann", REQUESTED) == ["unknown_remote_peer"]  # only an active peer counts
    assert refused("text", "ann", ANN4_PEER) == ["remote_peer_of_another_person"]
    assert refused("text", "ann5", ANN5_PEER) == ["training_expired"]
    # Several at once, from borealis's range over p-006's device: all named.
    assert refused("text", "ann", ANN6_PEER) == ["remote_work_denied", "remote_range_of_another_customer",
                                                 "remote_peer_of_another_person"]
    # The content of a held task is refused the same way from another person's peer.
    r = c.get(task["content"], headers=as_user("ann", ANN4_PEER))
    assert r.status_code == 403 and r.json()["reasons"] == ["remote_peer_of_another_person"]

    # Counted per hour like every refusal, each under its own reason.
    with core.sessions() as s:
        counts = dict(s.execute(select(WorkRefusalHour.reason, WorkRefusalHour.count)
                                .where(WorkRefusalHour.site_id == site_id)).all())
    assert counts["remote_peer_of_another_person"] == 3 and counts["unknown_remote_peer"] == 2
    assert counts["modality_not_allowed_remotely"] == 1 and counts["remote_work_denied"] == 2
    assert counts["remote_range_of_another_customer"] == 1 and counts["training_expired"] == 1

    # acme lets images out remotely now (a new site file: the cached one is read again): the image
    # comes back with the watermark in its pixels, not only beside it.
    with core.sessions() as s:
        apply_site_config(s, parse_site_text(_site_text("[text, audio, image]")))
        s.commit()
        assert s.scalar(select(Site.version).where(Site.id == site_id)) >= 2
    r = nxt("image", "ann", ANN_PEER)
    assert r.status_code == 200, r.text
    assert r.json()["watermark"] == f"p-003 · {ANN_PEER}"
    r = c.get(r.json()["content"], headers=as_user("ann", ANN_PEER))
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    assert unquote(r.headers[WATERMARK_HEADER]) == f"p-003 · {ANN_PEER}"
    marked, original = Image.open(io.BytesIO(r.content)), Image.open(io.BytesIO(_png()))
    assert marked.size == original.size
    changed = ImageChops.difference(marked.convert("RGB"), original.convert("RGB")).getbbox()
    assert changed is not None
    # Across the picture, not in one corner: the mark cannot be cropped away.
    left, top, right, bottom = changed
    assert right - left > original.width * 0.8 and bottom - top > original.height * 0.8


def test_a_peer_whose_key_is_being_rotated_keeps_serving_its_address_until_its_successor_does(rig):
    c, core, site_id, projects, as_user = rig

    def status_of_next() -> int:
        return c.post(f"/api/work/projects/{projects['text']}/next", headers=as_user("ann", ANN_PEER)).status_code

    with core.sessions() as s:
        old = s.scalar(select(VpnPeer).where(VpnPeer.site_id == site_id, VpnPeer.address == ANN_PEER))
        old.status = "rotating"  # its new key's change is not signed yet: the gateway still holds the old key
        new = VpnPeer(site_id=site_id, customer_id=old.customer_id, person="p-003", public_key=wg_keypair()[1],
                      address=ANN_PEER, status="requested", created_by="test")
        s.add(new)
        s.commit()
        old_id, new_id = old.id, new.id
    assert status_of_next() == 200
    with core.sessions() as s:  # the rotation ran: the successor serves the same address
        s.get(VpnPeer, old_id).status, s.get(VpnPeer, new_id).status = "rotated", "active"
        s.commit()
    assert status_of_next() == 200
    with core.sessions() as s:
        s.get(VpnPeer, new_id).status = "removed"
        s.commit()
    r = c.post(f"/api/work/projects/{projects['text']}/next", headers=as_user("ann", ANN_PEER))
    assert r.status_code == 403 and r.json()["reasons"] == ["unknown_remote_peer"]
