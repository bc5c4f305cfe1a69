"""The edge link survives what goes wrong inside it, and a link that dies or sticks is seen in
/healthz, /metrics and the alarms, and a dead one is restarted."""
from __future__ import annotations

import threading

import pytest
from fastapi.testclient import TestClient

from controller import link_watch, metrics
from controller.models import Alarm
from tests.conftest import app_with_demo_site, wait_for


@pytest.fixture
def client(tmp_path):
    app, _, _ = app_with_demo_site(tmp_path, f"sqlite:///{tmp_path / 'c.db'}")
    with TestClient(app) as c:
        yield c


def active(client, kind):
    with client.app.state.sessions() as s:
        return [a.message for a in s.query(Alarm).filter_by(kind=kind, state="active")]


def test_exceptions_inside_the_loop_are_counted_and_survived(client):
    wire = client.app.state.wire
    errors = metrics.LINK_ERRORS.labels("loop")
    before = errors._value.get()
    calls = {"n": 0}
    turn = wire._turn

    def flaky(*args):
        calls["n"] += 1
        if calls["n"] <= 3:
            raise TimeoutError("QueuePool limit reached")  # what a starved pool raised
        return turn(*args)

    wire._turn = flaky
    wait_for(lambda: calls["n"] > 10, what="loop turning again")
    assert errors._value.get() == before + 3
    assert wire.is_alive() and client.get("/healthz").json()["link"] == "up"


def test_a_stuck_link_is_reported_and_alarmed_until_it_turns_again(client, monkeypatch):
    monkeypatch.setattr(link_watch, "STUCK_AFTER_S", 0.5)
    wire = client.app.state.wire
    release = threading.Event()
    turn = wire._turn
    wire._turn = lambda *a: (release.wait(), turn(*a))
    r = wait_for(lambda: (lambda r: r if r.status_code == 503 else None)(client.get("/healthz")), what="503")
    assert r.json()["link"] == "stuck"
    wait_for(lambda: active(client, "controller.link_down"), what="link alarm")
    assert metrics.LINK_UP._value.get() == 0
    wire._turn = turn
    release.set()
    wait_for(lambda: client.get("/healthz").status_code == 200, what="healthy again")
    wait_for(lambda: not active(client, "controller.link_down"), what="alarm cleared")


def test_a_dead_link_is_restarted_on_its_port(client):
    old = client.app.state.wire
    restarts = metrics.LINK_RESTARTS._value.get()
    old.stop()  # the thread ends, as an escaped exception would end it
    old.join(5)
    assert not old.is_alive()
    wait_for(lambda: client.app.state.wire is not old and client.app.state.wire.is_alive(), what="restart")
    assert metrics.LINK_RESTARTS._value.get() == restarts + 1
    assert client.app.state.wire.bind == old.bind
    wait_for(lambda: client.get("/healthz").status_code == 200, what="healthy")
