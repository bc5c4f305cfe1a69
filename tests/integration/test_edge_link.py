"""Edge agent <-> controller over real CurveZMQ sockets, both sides as real processes."""
from __future__ import annotations

import json
import re
import signal
import threading
import time

import httpx
import pytest
import zmq
from sqlalchemy import text

from edge_agent.store import EdgeStore
from edge_agent.wire import messages as m
from edge_agent.wire.keys import ensure_keypair, load_public_key
from tests.conftest import ControllerRig, make_agent, wait_for

pytestmark = pytest.mark.slow


@pytest.fixture
def rig(tmp_path, database_url):
    r = ControllerRig(tmp_path, database_url).start()
    r.seed_users({"off": ("officer", None)})
    yield r
    r.proc.stop()


@pytest.fixture
def sqlite_rig(tmp_path):
    r = ControllerRig(tmp_path, f"sqlite:///{tmp_path / 'controller.db'}").start()
    r.seed_users({"off": ("officer", None), "adm": ("admin", None)})
    yield r
    r.proc.stop()


def agent_row(client: httpx.Client, name: str) -> dict | None:
    for a in client.get("/api/agents").json():
        if a["name"] == name:
            return a
    return None


def test_ten_thousand_events_survive_kill9_of_controller_and_agent(tmp_path, rig):
    """kill -9 of either side while events flow: all 10,000 stored exactly once."""
    agent = make_agent(tmp_path, rig).start()
    officer = rig.client("off", "off-pass")
    try:
        wait_for(lambda: (agent_row(officer, "edge-1") or {}).get("online"), what="agent online")
        outbox = EdgeStore(tmp_path / "edge-1" / "edge.db")
        total, written = 10_000, []

        def writer():  # a local component producing events steadily
            for start in range(0, total, 200):
                outbox.append_many([("network.change_progress", {"change": "load", "device": f"sw-{n}",
                                                                  "status": "sent"}, None)
                                    for n in range(start, start + 200)])
                written.append(start + 200)
                time.sleep(0.01)  # the component's pace: events keep coming across both kills

        t = threading.Thread(target=writer)
        t.start()
        engine = rig.db()

        def stored() -> int:
            with engine.connect() as c:
                return c.execute(text("SELECT count(*) FROM events WHERE kind = 'network.change_progress'")).scalar()

        wait_for(lambda: stored() > 1500, what="first events stored")
        rig.proc.kill9()  # the controller dies mid-stream
        time.sleep(1.0)  # an outage, not a blink: the agent's sends fail and must be resent
        rig.proc.start()
        rig.wait_healthy()
        wait_for(lambda: stored() > 5000, timeout=60, what="events flowing after restart")
        agent.kill9()  # now the agent dies mid-stream
        agent.start()
        t.join()
        assert written[-1] == total
        wait_for(lambda: stored() == total, timeout=120, interval=0.5, what="all events stored")
        time.sleep(2)  # any late resend would show up as a duplicate attempt, never a row
        with engine.connect() as c:
            rows = c.execute(text("SELECT seq, data FROM events WHERE kind = 'network.change_progress'")).all()
        engine.dispose()
        ns = sorted(int((json.loads(d) if isinstance(d, str) else d)["device"][3:]) for _, d in rows)
        assert ns == list(range(total))  # every event, none twice
        assert len({s for s, _ in rows}) == total
        wait_for(lambda: outbox.pending_count() == 0, what="outbox drained by acks")
        outbox.close()
    finally:
        agent.stop()


def test_unknown_key_is_refused(tmp_path, sqlite_rig):
    rig = sqlite_rig
    stranger = make_agent(tmp_path, rig, name="stranger", enroll=False).start()
    officer = rig.client("off", "off-pass")
    try:
        alarms = wait_for(
            lambda: [a for a in officer.get("/api/alarms").json() if a["kind"] == "agent.refused"],
            what="refusal alarm")
        assert "not enrolled" in alarms[0]["message"]
        wait_for(lambda: "refused this agent's key" in stranger.log(), what="agent reports refusal")
        assert agent_row(officer, "stranger") is None
        assert officer.get("/api/events").json() == []  # nothing it sent was accepted
        assert stranger.p.poll() is None  # and it keeps running, retrying
    finally:
        stranger.stop()


def test_two_hundred_random_keys_make_one_alarm_and_leave_a_real_alarm_visible(tmp_path, sqlite_rig):
    rig = sqlite_rig
    officer = rig.client("off", "off-pass")
    server_key = load_public_key(rig.key_file)
    ctx = zmq.Context()
    socks = []
    try:
        for _ in range(200):  # each a fresh key, as a scanner would try
            s = ctx.socket(zmq.DEALER)
            s.curve_serverkey = server_key
            s.curve_publickey, s.curve_secretkey = zmq.curve_keypair()
            s.setsockopt(zmq.LINGER, 0)
            s.connect(rig.wire)
            s.send(m.encode(m.Hello(site="demo-floor3")), zmq.NOBLOCK)
            socks.append(s)
        metrics_total = lambda: float(re.search(r"^siteguard_agents_refused_total (\S+)$",  # noqa: E731
                                                officer.get("/metrics").text, re.M).group(1))
        wait_for(lambda: metrics_total() >= 200, what="200 refusals counted")
        alarms = wait_for(lambda: [a for a in officer.get("/api/alarms").json() if a["kind"] == "agent.refused"],
                          what="refusal alarm")
        assert len(alarms) == 1 and alarms[0]["source"] == "addr:127.0.0.1"
        # A real alarm raised now is not buried under refusals.
        with rig.db().begin() as c:
            c.execute(text("INSERT INTO alarms (kind, severity, message, state, source, raised_at, details) "
                           "VALUES ('camera.tampered', 'critical', 'cam-03 covered', 'active', 'camera:cam-03', "
                           "CURRENT_TIMESTAMP, '{}')"))
        kinds = [a["kind"] for a in officer.get("/api/alarms").json()]
        assert sorted(kinds) == ["agent.refused", "camera.tampered"]
        with rig.db().connect() as c:
            refused_entries = c.execute(text("SELECT count(*) FROM ledger_entries WHERE kind = 'alarm.raised'")).scalar()
        assert refused_entries <= 2  # one alarm in the ledger, not 200
    finally:
        for s in socks:
            s.close()
        ctx.term()


def test_config_comes_from_controller_and_commands_round_trip(tmp_path, sqlite_rig):
    rig = sqlite_rig
    agent = make_agent(tmp_path, rig).start()
    officer, admin = rig.client("off", "off-pass"), rig.client("adm", "adm-pass")
    try:
        row = wait_for(lambda: agent_row(officer, "edge-1") if (agent_row(officer, "edge-1") or {}).get("online") else None,
                       what="agent online")
        r = officer.post(f"/api/agents/{row['id']}/commands", json={"name": "status"})
        assert r.status_code == 200, r.text
        assert r.json()["result"]["site"] == "demo-floor3"
        # An admin edits the site config: it is versioned, pushed, and the agent adopts it.
        site = admin.get("/api/sites").json()[0]
        yaml_text = (rig.data.parent / "demo-edit.yaml")
        from tests.conftest import DEMO_SITE

        edited = DEMO_SITE.read_text().replace("name: Demo annotation floor", "name: Demo floor (edited)", 1)
        assert edited != DEMO_SITE.read_text(), "demo site name line changed; update this test"
        yaml_text.write_text(edited)
        r = admin.put(f"/api/sites/{site['id']}/config", content=edited,
                      headers={"content-type": "application/yaml"})
        assert r.status_code == 200, r.text
        new_hash = r.json()["config_hash"]
        assert r.json()["changed"] and r.json()["version"] == site["version"] + 1
        wait_for(lambda: (agent_row(officer, "edge-1") or {}).get("config_hash") == new_hash,
                 what="agent reports the new config")
        assert any(e["kind"] == "config.applied" and e["data"]["config_hash"] == new_hash
                   for e in officer.get("/api/events?limit=50").json())
        # A broken config is refused with its line, and nothing changes.
        bad = edited.replace("timezone: Asia/Shanghai", "timezone: [oops", 1)
        r = admin.put(f"/api/sites/{site['id']}/config", content=bad,
                      headers={"content-type": "application/yaml"})
        assert r.status_code == 422
        assert "demo-floor3.yaml:" in r.json()["detail"][0]["msg"]
        # A stopped agent makes commands time out instead of hanging.
        agent.p.send_signal(signal.SIGSTOP)
        try:
            t0 = time.monotonic()
            r = officer.post(f"/api/agents/{row['id']}/commands", json={"name": "ping"})
            assert r.status_code == 504 and time.monotonic() - t0 < 15
        finally:
            agent.p.send_signal(signal.SIGCONT)
        r = officer.post(f"/api/agents/{row['id']}/commands", json={"name": "ping"})
        assert r.status_code == 200 and "pong" in r.json()["result"]
    finally:
        agent.stop()


def raw_agent(tmp_path, rig, name: str = "raw") -> tuple[zmq.Context, zmq.Socket]:
    """An enrolled agent's key on a bare CurveZMQ socket: frames go out exactly as written."""
    keys = tmp_path / f"{name}-keys"
    public, secret = ensure_keypair(keys, "agent")
    (tmp_path / f"{name}.pub").write_text(public.decode())
    rig.siteguard("enroll-agent", "--name", name, "--site", "demo-floor3",
                  "--public-key", str(tmp_path / f"{name}.pub"))
    ctx = zmq.Context()
    sock = ctx.socket(zmq.DEALER)
    sock.curve_serverkey = load_public_key(rig.key_file)
    sock.curve_publickey, sock.curve_secretkey = public, secret
    sock.setsockopt(zmq.LINGER, 0)
    sock.connect(rig.wire)
    return ctx, sock


def asker(sock: zmq.Socket):
    def ask(raw: bytes) -> m.Refused | m.Welcome | m.Ack:
        sock.send(raw)
        while True:
            assert sock.poll(10_000), "controller did not answer"
            reply = m.decode_from_controller(sock.recv())
            if not isinstance(reply, m.Command):  # e.g. the credentials push after a hello
                return reply
    return ask


def test_malformed_and_oversized_messages_are_refused_and_nothing_crashes(tmp_path, sqlite_rig):
    rig = sqlite_rig
    ctx, sock = raw_agent(tmp_path, rig)
    try:
        ask = asker(sock)
        for garbage in [b"\xff\xfe not json", b"[]", b'{"type":"events","events":[]}',
                        b'{"type":"events","events":[{"seq":0,"ts":"x","kind":"k"}]}',
                        b'{"type":"hello"}', b'{"v":1,"type":"nope"}',
                        b'{"v":1,"type":"hello","site":"demo-floor3","extra":1}',
                        b"x" * (m.MAX_MESSAGE_BYTES + 1),
                        b"[" * 500_000,  # deep nesting: a RecursionError once killed the link
                        b'{"v":1,"type":"heartbeat","ts":"t","status":' + b'{"a":' * 5000 + b"1" + b"}" * 5001]:
            reply = ask(garbage)
            assert isinstance(reply, m.Refused), garbage[:40]
        # A kind outside the contract is refused by name and counted apart from malformed frames.
        reply = ask(b'{"v":1,"type":"events","events":[{"seq":1,"ts":"t","kind":"gate.teleport"}]}')
        assert isinstance(reply, m.Refused) and "unknown event kind 'gate.teleport'" in reply.reason
        # A frame past the socket limit makes libzmq drop that connection; the server lives on.
        monitor = sock.get_monitor_socket(zmq.EVENT_DISCONNECTED)
        sock.send(b"y" * (m.SOCKET_MAX_MESSAGE_BYTES + 10))
        assert monitor.poll(10_000), "the oversized frame did not cost the connection"
        sock.disable_monitor()
        monitor.close()
        welcome = ask(m.encode(m.Hello(site="demo-floor3")))
        assert isinstance(welcome, m.Welcome) and welcome.agent == "raw"
        ack = ask(m.encode(m.Events(events=[m.Event(seq=1, ts="2026-01-01T00:00:00Z", kind="agent.started",
                                                     data={"site": "demo-floor3", "config_hash": ""})])))
        assert isinstance(ack, m.Ack) and ack.seqs == [1]
        # Hello for a site this agent is not enrolled for is refused.
        assert isinstance(ask(m.encode(m.Hello(site="elsewhere"))), m.Refused)
    finally:
        sock.close()
        ctx.term()
    assert httpx.get(rig.url + "/healthz").status_code == 200
    officer = rig.client("off", "off-pass")
    assert [e["kind"] for e in officer.get("/api/events").json()] == ["agent.started"]
    metrics = officer.get("/metrics").text
    assert "siteguard_wire_rejected_total" in metrics
    assert 'siteguard_wire_rejected_total{reason="unknown_kind"} 1.0' in metrics


def test_a_malformed_body_is_refused_counted_and_the_next_event_ingested(tmp_path, sqlite_rig):
    """One event whose body does not fit its model, in a batch over the real link: it is acked
    (the outbox moves on), kept apart as a refused record, counted by reason, and neither it nor
    the connection stops the good events after it, in that batch and the next."""
    rig = sqlite_rig
    ctx, sock = raw_agent(tmp_path, rig)
    ts = "2026-01-01T00:00:00Z"
    forced = {"source": "gate:gate-main", "severity": "critical", "message": "door forced", "gate": "gate-main"}
    try:
        ask = asker(sock)
        assert isinstance(ask(m.encode(m.Hello(site="demo-floor3"))), m.Welcome)
        batch = [m.Event(seq=1, ts=ts, kind="alarm.door_forced", data={**forced, "severity": "end of days"}),
                 m.Event(seq=2, ts=ts, kind="gate.state", data={"gate": "gate-main", "state": "locked",
                                                               "online": "yes", "blob": "x" * 5000}),
                 m.Event(seq=3, ts=ts, kind="alarm.door_held", data={**forced, "message": "door held"})]
        ack = ask(m.encode(m.Events(events=batch)))
        assert isinstance(ack, m.Ack) and ack.seqs == [1, 2, 3]
        ack = ask(m.encode(m.Events(events=[m.Event(seq=4, ts=ts, kind="alarm.door_forced", data=forced)])))
        assert isinstance(ack, m.Ack) and ack.seqs == [4]
    finally:
        sock.close()
        ctx.term()
    officer = rig.client("off", "off-pass")
    metrics = officer.get("/metrics").text
    assert 'siteguard_wire_rejected_total{reason="malformed_body"} 2.0' in metrics
    assert "siteguard_events_ingested_total 2.0" in metrics
    alarms = officer.get("/api/alarms").json()
    assert sorted((a["kind"], a["message"]) for a in alarms) == [("door_forced", "door forced"),
                                                                 ("door_held", "door held")]
    events = {e["seq"]: e for e in officer.get("/api/events").json()}
    assert [events[s]["kind"] for s in (1, 2, 3, 4)] == ["wire.refused", "wire.refused", "alarm.door_held",
                                                         "alarm.door_forced"]
    assert events[1]["data"]["kind"] == "alarm.door_forced" and "severity" in events[1]["data"]["error"]
    assert events[2]["data"]["reason"] == "malformed_body" and "online" in events[2]["data"]["error"]
    wait_for(lambda: "event 2 (gate.state) refused, malformed_body: gate.state: online" in rig.proc.log(),
             what="the refusal's reason in the controller's log")
