"""`siteguard controller --workers N`: stateless HTTP workers on PostgreSQL, the link and the
sequencer as supervised processes of their own; an HTTP worker reaches the edge through the link
process, and either of those killed with SIGKILL comes back."""
from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
from sqlalchemy import text

from tests.conftest import ControllerRig, free_port, make_agent, port_free, wait_for

pytestmark = pytest.mark.slow


def role_pids(data_dir: Path, role: str) -> list[int]:
    """The processes of that role serving this controller's data folder."""
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmd = (proc / "cmdline").read_bytes().split(b"\0")
            env = (proc / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"--role" in cmd and role.encode() in cmd and f"SITEGUARD_DATA_DIR={data_dir}".encode() in env:
            pids.append(int(proc.name))
    return pids


def test_workers_above_one_refuse_sqlite(tmp_path):
    rig = ControllerRig(tmp_path, f"sqlite:///{tmp_path / 'c.db'}")
    res = rig.siteguard("controller", "--workers", "2", check=False)
    assert res.returncode == 2 and "PostgreSQL" in res.stderr


def test_two_http_workers_reach_the_edge_through_the_link_process(tmp_path, database_url):
    if database_url.startswith("sqlite"):
        pytest.skip("several HTTP workers need PostgreSQL; SQLite's refusal is tested above")
    rig = ControllerRig(tmp_path, database_url)
    rig.env["SITEGUARD_LINK_RPC"] = f"tcp://127.0.0.1:{free_port()}"
    rig.proc.args += ["--workers", "2"]
    rig.start()
    rig.seed_users({"off": ("officer", None), "adm": ("admin", None)})
    agent = make_agent(tmp_path, rig).start()
    data = rig.data.resolve()
    engine = rig.db()
    try:
        officer = rig.client("off", "off-pass")
        row = wait_for(lambda: next((a for a in officer.get("/api/agents").json() if a["online"]), None),
                       timeout=60, what="agent online")

        def ping() -> bool:
            r = officer.post(f"/api/agents/{row['id']}/commands", json={"name": "ping"})
            return r.status_code == 200 and "pong" in r.json()["result"]

        wait_for(ping, timeout=30, what="a command through an HTTP worker and the link process")
        assert len(role_pids(data, "link")) == 1 and len(role_pids(data, "sequencer")) == 1

        # A fact written by an HTTP worker is integrated by the sequencer process.
        admin = rig.client("adm", "adm-pass")
        assert admin.post("/api/users", json={"username": "newbie", "password": "newbie-pass",
                                              "role": "inspector"}).status_code == 201

        def integrated(username: str) -> bool:
            with engine.connect() as c:
                return bool(c.execute(text("SELECT count(*) FROM ledger_entries WHERE kind = 'user.created' "
                                           "AND convert_from(leaf, 'UTF8') LIKE :u"), {"u": f'%"{username}"%'}).scalar())

        wait_for(lambda: integrated("newbie"), timeout=30, what="the sequencer integrating the fact")

        # kill -9 of the link and of the sequencer: the supervisor brings both back.
        for role in ("link", "sequencer"):
            (pid,) = role_pids(data, role)
            os.kill(pid, signal.SIGKILL)
            wait_for(lambda: role_pids(data, role) and role_pids(data, role) != [pid], timeout=30,
                     what=f"{role} restarted")
        wait_for(ping, timeout=60, what="commands again after the link's restart")
        assert admin.post("/api/users", json={"username": "second", "password": "second-pass",
                                              "role": "inspector"}).status_code == 201
        wait_for(lambda: integrated("second"), timeout=30, what="integration after the sequencer's restart")
        health = officer.get("/healthz")
        assert health.status_code == 200 and health.json()["link"] == "up"
    finally:
        agent.stop()
        rig.proc.stop()
        engine.dispose()
    assert not role_pids(data, "link") and not role_pids(data, "sequencer")  # stopped with the controller


def test_a_controller_killed_with_sigkill_takes_its_link_sequencer_and_workers_along(tmp_path, database_url):
    if database_url.startswith("sqlite"):
        pytest.skip("the link and the sequencer run apart with several workers, on PostgreSQL")
    rig = ControllerRig(tmp_path, database_url, workers=2).start()
    data = rig.data.resolve()
    try:
        assert role_pids(data, "link") and role_pids(data, "sequencer")
        rig.proc.kill9()
        wait_for(lambda: not role_pids(data, "link") and not role_pids(data, "sequencer"), timeout=30,
                 what="no link or sequencer left behind")
        wait_for(lambda: port_free(rig.http_port), timeout=30, what="no HTTP worker left holding the port")
    finally:
        for role in ("link", "sequencer"):
            for pid in role_pids(data, role):
                os.kill(pid, signal.SIGKILL)
