"""A flood of bad logins against a real controller process: the edge link keeps ingesting, the
flooders are locked out, the ledger is not buried, and an officer lifts the lock-out."""
from __future__ import annotations

import json
import threading
import time

import httpx
import pytest
from sqlalchemy import text

from edge_agent.store import EdgeStore
from tests.conftest import ControllerRig, make_agent, wait_for

pytestmark = pytest.mark.slow

FLOODERS = 50


@pytest.fixture
def rig(tmp_path, database_url):
    r = ControllerRig(tmp_path, database_url).start()
    r.seed_users({"off": ("officer", None), "adm": ("admin", None)})
    yield r
    r.proc.stop()


def flood(url: str, attempts_each: int) -> list[int]:
    codes: list[int] = []
    lock = threading.Lock()
    go = threading.Barrier(FLOODERS)

    def one(i: int) -> None:
        with httpx.Client(base_url=url, timeout=60) as c:
            go.wait()
            for _ in range(attempts_each):
                r = c.post("/api/auth/token", json={"username": ("off", "adm", f"nobody{i}")[i % 3],
                                                    "password": f"wrong-{i}"})
                with lock:
                    codes.append(r.status_code)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(FLOODERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return codes


def test_fifty_concurrent_bad_logins_leave_the_link_ingesting(tmp_path, rig):
    agent = make_agent(tmp_path, rig).start()
    officer = rig.client("off", "off-pass")  # a token held from before the flood
    engine = rig.db()
    try:
        wait_for(lambda: any(a["online"] for a in officer.get("/api/agents").json()), what="agent online")
        codes = flood(rig.url, attempts_each=3)
        assert set(codes) <= {401, 429} and codes.count(401) >= 30, sorted(set(codes))
        assert 429 in codes  # the address was locked part-way through the flood

        health = httpx.get(rig.url + "/healthz", timeout=5)
        assert health.status_code == 200 and health.json()["link"] == "up", health.text
        EdgeStore(tmp_path / "edge-1" / "edge.db").append("network.change_progress",
                                                          {"change": "c", "device": "sw-1", "status": "sent"})
        t0 = time.monotonic()

        def stored() -> int:
            with engine.connect() as c:
                return c.execute(text("SELECT count(*) FROM events WHERE kind = 'network.change_progress'")).scalar()

        wait_for(lambda: stored() == 1, timeout=5, interval=0.05, what="event ingested after the flood")
        assert time.monotonic() - t0 < 5
        metrics = officer.get("/metrics").text
        assert "siteguard_link_up 1.0" in metrics and "siteguard_agents_online 1.0" in metrics
        assert 'siteguard_logins_total{outcome="locked"}' in metrics

        # The flooders' address is locked, for the right password too, until an officer lifts it.
        r = httpx.post(rig.url + "/api/auth/token", json={"username": "adm", "password": "adm-pass"})
        assert r.status_code == 429 and int(r.headers["retry-after"]) > 0
        locks = officer.get("/api/auth/lockouts").json()
        assert "addr:127.0.0.1" in [b["bucket"] for b in locks]
        lifted = officer.post("/api/auth/lockouts/lift", json={"address": "127.0.0.1"}).json()["lifted"]
        assert "addr:127.0.0.1" in lifted
        assert httpx.post(rig.url + "/api/auth/token",
                          json={"username": "adm", "password": "adm-pass"}).status_code == 200
    finally:
        agent.stop()
    rig.proc.stop()  # its shutdown writes the failed logins still unreported
    with engine.connect() as c:
        kinds = dict(c.execute(text("SELECT kind, count(*) FROM ledger_entries GROUP BY kind")).all())
        failed = c.execute(text("SELECT leaf FROM ledger_entries WHERE kind = 'auth.login_failed'")).scalars().all()
    accounts = len({("off", "adm", f"nobody{i}")[i % 3] for i in range(FLOODERS)})
    # One entry per account and address (each with its count, not one per attempt), and one for
    # what the locked address refused.
    assert 1 <= kinds["auth.login_failed"] <= accounts + 1, kinds
    assert kinds.get("auth.lockout", 0) >= 1 and kinds.get("auth.lockout_lifted") == 1
    # Every attempt is counted, the right password refused during the lock-out included.
    assert sum(json.loads(leaf)["data"]["failures"] for leaf in failed) == len(codes) + 1
    engine.dispose()


def test_an_operator_at_the_appliance_lifts_a_lockout_with_the_cli(tmp_path, rig):
    for _ in range(5):
        assert httpx.post(rig.url + "/api/auth/token", json={"username": "adm", "password": "bad"}).status_code == 401
    assert httpx.post(rig.url + "/api/auth/token", json={"username": "adm", "password": "adm-pass"}).status_code == 429
    out = rig.siteguard("lift-lockout", "--username", "adm").stdout
    assert "pair:adm|127.0.0.1" in out
    assert httpx.post(rig.url + "/api/auth/token", json={"username": "adm", "password": "adm-pass"}).status_code == 200
