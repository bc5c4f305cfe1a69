"""kill -9 of HTTP workers, the link and the sequencer at random moments while some 10,000 mixed
facts are written (users and their roles, agent events and the alarms they raise and clear,
network changes and the customers' signed approvals); then a restart. Every committed fact has
exactly one ledger leaf, no leaf lacks its fact, and `siteguard verify-ledger` passes on the
export.

The agent is the edge's own link code (EdgeStore + ControllerLink) run in this process, so its
events are real frames over CurveZMQ with the edge's resend-until-acked behaviour."""
from __future__ import annotations

import collections
import json
import os
import random
import signal
import threading
from pathlib import Path

import httpx
import pytest
import yaml
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import text

from edge_agent.link import ControllerLink
from edge_agent.store import EdgeStore
from edge_agent.wire.keys import ensure_keypair, load_public_key
from edge_agent.wire.kinds import AlarmKind, EventKind
from network_policy.approval import public_key_text
from tests.conftest import (
    DEMO_SITE,
    ControllerRig,
    cli,
    fresh_postgres,
    port_free,
    wait_for,
)
from tests.network_site import sign_digest

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

EVENTS = 9_000        # agent events; each is a fact, segment reports are ledgered one by one
USERS = 200           # users made over HTTP, each then moved to another role
CHANGES = 40          # network changes, each approved by both customers
CAMERAS = [f"cam-0{i}" for i in range(1, 9)]
KEYS = {"acme": Ed25519PrivateKey.generate(), "borealis": Ed25519PrivateKey.generate()}  # the customers'


def children(pid: int) -> list[tuple[int, bytes]]:
    """(pid, command line) of the direct children of ``pid``."""
    out = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            stat = (proc / "stat").read_text()
            cmd = (proc / "cmdline").read_bytes()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            out.append((int(proc.name), cmd))
    return out


def victims(rig: ControllerRig) -> dict[str, list[int]]:
    found: dict[str, list[int]] = collections.defaultdict(list)
    for pid, cmd in children(rig.proc.p.pid):
        if b"--role\0link" in cmd:
            found["link"].append(pid)
        elif b"--role\0sequencer" in cmd:
            found["sequencer"].append(pid)
        elif b"spawn_main" in cmd:  # a uvicorn worker (not the resource tracker)
            found["http"].append(pid)
    return found


class Edge:
    """The edge's outbox and link, pumped until every event is acknowledged."""

    def __init__(self, tmp: Path, rig: ControllerRig) -> None:
        data = tmp / "edge"
        pub = cli("agent-key", "--data", str(data)).stdout.strip()
        (tmp / "edge.pub").write_text(pub)
        rig.siteguard("enroll-agent", "--name", "edge-chaos", "--site", "demo-floor3",
                      "--public-key", str(tmp / "edge.pub"))
        public, secret = ensure_keypair(data / "keys", "agent")
        self.store = EdgeStore(data / "edge.db")
        self.link = ControllerLink(rig.wire, load_public_key(rig.key_file), public, secret, self.store,
                                   site="demo-floor3", config_hash=lambda: None, ack_timeout_s=2.0,
                                   heartbeat_s=1.0)
        self.halt = threading.Event()
        self.thread = threading.Thread(target=self._pump, daemon=True)

    def _pump(self) -> None:
        while not self.halt.is_set():
            self.link.poll(50, on_message=lambda msg: None, status=lambda: {})

    def write(self, rng: random.Random, n: int) -> None:
        """n events: segment reports, alarms raised and cleared, seat states."""
        seg_seq = collections.Counter()
        for i in range(n):
            cam = rng.choice(CAMERAS)
            pick = rng.random()
            if pick < 0.6:
                seg_seq[cam] += 1
                start = f"2026-12-01T{(seg_seq[cam] // 60) % 24:02d}:{seg_seq[cam] % 60:02d}:00Z"
                self.store.append(EventKind.SEGMENT_RECORDED, {
                    "camera": cam, "seq": seg_seq[cam], "start": start, "end": start, "bytes": 1000 + i,
                    "sha256": f"{i:064x}", "link": f"{i + 1:064x}", "codec": "h264", "width": 640,
                    "height": 360, "frames": 150})
            elif pick < 0.8:
                data = {"camera": cam, "source": f"camera:{cam}"}
                if self.store.alarm_active(AlarmKind.CAMERA_COVERED, data["source"]):
                    self.store.clear_alarm(AlarmKind.CAMERA_COVERED, data)
                else:
                    self.store.raise_alarm(AlarmKind.CAMERA_COVERED, {
                        **data, "severity": "critical", "message": f"camera {cam} covered ({i})"})
            else:
                self.store.append(EventKind.SEAT_STATE, {
                    "seat": "A1", "customer": "acme", "covered": rng.random() < 0.5, "reasons": [],
                    "camera": "cam-01", "views": []})


def retrying(call, what: str, deadline_s: float = 120):
    """An HTTP call retried through a killed worker (connection reset, 5xx) until it answers."""
    def answered():
        try:
            r = call()
        except httpx.HTTPError:
            return None
        return r if r.status_code < 500 else None
    return wait_for(answered, timeout=deadline_s, interval=0.05, what=what)


def chaos_site(tmp: Path, keys: dict[str, Ed25519PrivateKey]) -> Path:
    doc = yaml.safe_load(DEMO_SITE.read_text())
    for c in doc["customers"]:
        c["approval_public_key"] = public_key_text(keys[c["id"]].public_key())
    path = tmp / "site.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def leaves(engine, kind: str) -> list[dict]:
    with engine.connect() as c:
        rows = c.execute(text("SELECT leaf FROM ledger_entries WHERE kind = :k ORDER BY index"), {"k": kind})
        return [json.loads(bytes(r[0]))["data"] for r in rows]


def test_kill_9_anywhere_in_the_controller_loses_no_evidence(tmp_path):
    with fresh_postgres() as url:
        rig = ControllerRig(tmp_path, url, site=chaos_site(tmp_path, KEYS), workers=4)
        try:
            run_chaos(tmp_path, rig)
        finally:
            stray = [pid for pids in victims(rig).values() for pid in pids] if rig.proc.p else []
            rig.proc.stop()
            for pid in stray:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass


def run_chaos(tmp: Path, rig: ControllerRig) -> None:
    rng = random.Random(12)
    keys = KEYS
    rig.start()
    rig.seed_users({"adm": ("admin", None), "off": ("officer", None),
                    "acme1": ("customer", "acme"), "bor1": ("customer", "borealis")})
    engine = rig.db()
    edge = Edge(tmp, rig)
    edge.thread.start()
    kills: collections.Counter = collections.Counter()
    errors: list[BaseException] = []
    done = threading.Event()

    def guarded(fn):
        def run() -> None:
            try:
                fn()
            except BaseException as exc:  # noqa: BLE001 - reported by the test below
                errors.append(exc)
        return threading.Thread(target=run)

    def tokens() -> dict[str, dict]:
        return {u: {"Authorization": "Bearer " + retrying(lambda u=u: httpx.post(
            rig.url + "/api/auth/token", json={"username": u, "password": f"{u}-pass"}, timeout=30),
            f"token of {u}").json()["token"]} for u in ("adm", "off", "acme1", "bor1")}

    auth = tokens()
    sid = retrying(lambda: httpx.get(rig.url + "/api/sites", headers=auth["off"], timeout=30), "sites").json()[0]["id"]

    def users() -> None:
        roles = ["officer", "inspector", "annotator"]
        with httpx.Client(base_url=rig.url, timeout=30, headers=auth["adm"]) as c:
            for i in range(USERS):
                r = retrying(lambda i=i: c.post("/api/users", json={
                    "username": f"chaos{i}", "password": "chaos-password", "role": roles[i % 3]}), f"user {i}")
                assert r.status_code in (201, 409), r.text  # 409: the killed try had committed
                uid = next(u["id"] for u in retrying(lambda: c.get("/api/users"), "users").json()
                           if u["username"] == f"chaos{i}")
                r = retrying(lambda uid=uid, i=i: c.patch(f"/api/users/{uid}", json={"role": roles[(i + 1) % 3]}),
                             f"role of {i}")
                assert r.status_code == 200, r.text

    def network() -> None:
        with httpx.Client(base_url=rig.url, timeout=30) as c:
            for i in range(CHANGES):
                r = retrying(lambda i=i: c.post(f"/api/sites/{sid}/network/changes", headers=auth["off"], json={
                    "title": f"chaos {i}", "vlans": {"110": None, "120": None}}), f"change {i}")
                assert r.status_code == 201, r.text
                cid = r.json()["id"]
                for who, user in (("acme", "acme1"), ("borealis", "bor1")):
                    doc = retrying(lambda: c.get(f"/api/network/changes/{cid}", headers=auth[user]), "doc").json()
                    sig = sign_digest(keys[who], doc["signing"][0]["digest"])
                    r = retrying(lambda: c.post(f"/api/network/changes/{cid}/approve", headers=auth[user],
                                                json={"signature": sig}), f"approval of {cid}")
                    assert r.status_code in (200, 409), r.text

    def agent() -> None:
        edge.write(rng, EVENTS)

    def killer() -> None:
        """One victim at a time, at a random moment once the last one is back."""
        while not done.is_set():
            if done.wait(rng.uniform(1.0, 3.0)):
                return
            role = rng.choice(["http", "http", "link", "sequencer"])
            before = victims(rig)
            if not before[role]:
                continue
            pid = rng.choice(before[role])
            os.kill(pid, signal.SIGKILL)
            kills[role] += 1
            back = lambda: len(victims(rig)[role]) == len(before[role]) and pid not in victims(rig)[role]  # noqa: E731
            wait_for(back, timeout=60, what=f"{role} back after kill -9")

    writers = [guarded(f) for f in (users, network, agent)]
    chaos = threading.Thread(target=killer)
    try:
        chaos.start()
        for w in writers:
            w.start()
        for w in writers:
            w.join(600)
        assert not errors, errors
        wait_for(lambda: edge.store.pending_count() == 0, timeout=180, what="every event acknowledged")
    finally:
        done.set()
        chaos.join()
    assert kills["http"] >= 3 and kills["link"] >= 1 and kills["sequencer"] >= 1, kills

    # A restart of the whole controller; then the sequencer integrates everything queued.
    rig.proc.kill9()  # its link, sequencer and HTTP workers end with it (parent_death)
    wait_for(lambda: port_free(rig.http_port), timeout=60, what="the killed controller's port released")
    rig.start()

    def settled() -> bool:
        with engine.connect() as c:
            return c.execute(text("SELECT count(*) FROM ledger_queue")).scalar() == 0
    wait_for(settled, timeout=120, what="the ledger queue drained")
    edge.halt.set()
    edge.thread.join()
    rig.proc.stop()

    with engine.connect() as c:
        q = lambda sql: list(c.execute(text(sql)))  # noqa: E731
        made = {r[0] for r in q("SELECT username FROM users")}
        roles = dict(q("SELECT username, role FROM users WHERE username LIKE 'chaos%'"))
        events = [(seq, kind, data if isinstance(data, dict) else json.loads(data)) for seq, kind, data in q(
            "SELECT seq, kind, data FROM events WHERE agent_id = (SELECT id FROM agents WHERE name = 'edge-chaos')")]
        alarms = q("SELECT id, state FROM alarms")
        changes = {r[0] for r in q("SELECT id FROM network_changes")}
        approvals = collections.Counter((r[0], r[1]) for r in q(
            "SELECT a.change_id, c.slug FROM network_approvals a JOIN customers c ON c.id = a.customer_id"))
        indexes = [r[0] for r in q("SELECT index FROM ledger_entries ORDER BY index")]
    facts = len(made) + len(events) + len(alarms) + len(changes) + sum(approvals.values())
    assert facts >= 10_000, facts
    assert indexes == list(range(len(indexes)))

    # Users: one user.created leaf per user; each role change's last leaf says the role it has.
    assert sorted(d["username"] for d in leaves(engine, "user.created")) == sorted(made)
    last_role = {d["username"]: d["after"]["role"] for d in leaves(engine, "user.changed")}
    assert {u: last_role[u] for u in roles} == {u: str(r) for u, r in roles.items()}
    # Agent events: each stored once; each segment report has exactly one leaf, none lacks its event.
    assert sorted(seq for seq, _, _ in events) == list(range(1, EVENTS + 1))
    reported = collections.Counter((d["camera"], d["seq"]) for _, kind, d in events if kind == "segment.recorded")
    assert collections.Counter((d["camera"], d["seq"]) for d in leaves(engine, "segment.recorded")) == reported
    # Alarms: one raised leaf per alarm, one cleared leaf per cleared alarm, none for anything else.
    raised = collections.Counter(d["alarm"] for d in leaves(engine, "alarm.raised"))
    cleared = collections.Counter(d["alarm"] for d in leaves(engine, "alarm.cleared"))
    assert raised == collections.Counter(a for a, _ in alarms)
    assert cleared == collections.Counter(a for a, state in alarms if state == "cleared")
    # Network: one leaf per change requested, one per customer's approval.
    assert collections.Counter(d["change"] for d in leaves(engine, "network.change_requested")) == \
        collections.Counter(changes)
    assert collections.Counter((d["change"], d["customer"]) for d in leaves(engine, "network.change_approved")) \
        == approvals
    assert set(approvals.values()) == {1} and len(changes) == CHANGES

    out = tmp / "ledger.export"
    key = rig.siteguard("export-ledger", str(out)).stdout.rsplit("public key", 1)[1].strip()
    res = cli("verify-ledger", str(out), "--key", key, check=False)  # needs no server, no database
    assert res.returncode == 0, res.stdout + res.stderr
    engine.dispose()
