"""The edge channel reaches routes as a dependency: a stand-in link records what the API would
send a site's edge, and shows whose requests never get that far."""
from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from controller.deps import get_edge
from controller.models import Customer, Role
from controller.services.users import create_user
from controller.wire_server import CommandError
from edge_agent.wire.kinds import CommandName
from tests.conftest import app_with_demo_site

AGENT_ID = 41


class RecordingEdge:
    """A link with one site's agent on line; records every command, answers or fails as told."""

    def __init__(self, site_id: int | None, fail: str | None = None) -> None:
        self.site_id, self.fail = site_id, fail
        self.sent: list[tuple[int, CommandName, dict[str, Any]]] = []

    def agent_for_site(self, site_id: int) -> int | None:
        return AGENT_ID if site_id == self.site_id else None

    def send_command(self, agent_id: int, name: CommandName, args: dict[str, Any], timeout: float) -> dict:
        self.sent.append((agent_id, name, args))
        if self.fail:
            raise CommandError(self.fail)
        return {"ok": True, "echo": args}

    def push_config(self, site_id: int, config_json: str, config_hash: str) -> int:
        return 0

    def reload_keys(self) -> None:
        return None


@pytest.fixture
def rig(tmp_path, database_url):
    app, site_id, _ = app_with_demo_site(tmp_path, database_url)
    core = app.state.core
    with core.sessions() as s:
        acme = s.scalar(select(Customer.id).where(Customer.slug == "acme"))
        create_user(s, core.ledger, "off", "off-pass-1", Role.officer, None, "test")
        create_user(s, core.ledger, "acme1", "acme-pass-1", Role.customer, acme, "test")
    edge = RecordingEdge(site_id)
    app.dependency_overrides[get_edge] = lambda: edge
    with TestClient(app) as c:
        heads = {u: {"Authorization": "Bearer " + c.post("/api/auth/token", json={"username": u, "password": p})
                     .json()["token"]} for u, p in (("off", "off-pass-1"), ("acme1", "acme-pass-1"))}
        yield c, site_id, edge, heads


def test_an_officer_s_passback_reset_reaches_the_site_s_edge_and_is_ledgered(rig):
    c, sid, edge, heads = rig
    before = c.app.state.ledger.count_kind("passback.reset")
    r = c.post(f"/api/sites/{sid}/passback/reset", json={"person": "p-001"}, headers=heads["off"])
    assert r.status_code == 200, r.text
    assert r.json() == {"ok": True, "echo": {"person": "p-001"}}
    assert edge.sent == [(AGENT_ID, CommandName.RESET_PASSBACK, {"person": "p-001"})]
    assert c.app.state.ledger.count_kind("passback.reset") == before + 1


def test_a_customer_never_gets_a_command_to_the_edge_beyond_its_own_seat(rig):
    c, sid, edge, heads = rig
    acme = heads["acme1"]
    assert c.post(f"/api/sites/{sid}/passback/reset", json={}, headers=acme).status_code == 403
    assert c.get(f"/api/sites/{sid}/seats/B1/frame", headers=acme).status_code == 404
    assert c.post(f"/api/sites/{sid}/network/drift-check", headers=acme).status_code == 403
    assert edge.sent == []
    # Its own seat's frame is asked for with its scope, so the edge blacks out other customers.
    assert c.get(f"/api/sites/{sid}/seats/A1/frame", headers=acme).status_code == 200
    assert edge.sent == [(AGENT_ID, CommandName.SEAT_FRAME, {"seat": "A1", "customer": "acme"})]


def test_an_offline_or_failing_edge_is_answered_in_the_documented_shapes(rig):
    c, sid, edge, heads = rig
    edge.site_id = None  # nobody of the site on line
    r = c.post(f"/api/sites/{sid}/passback/reset", json={}, headers=heads["off"])
    assert (r.status_code, r.json()) == (503, {"detail": "the site's edge agent is not connected"})
    edge.site_id, edge.fail = sid, "no such person"
    r = c.post(f"/api/sites/{sid}/passback/reset", json={}, headers=heads["off"])
    assert (r.status_code, r.json()) == (502, {"detail": "edge agent: no such person"})
    r = c.post("/api/sites/999999/passback/reset", json={}, headers=heads["off"])
    assert (r.status_code, r.json()) == (404, {"detail": "no such site"})


def test_arguments_that_do_not_fit_the_command_are_refused_and_never_sent(rig):
    c, sid, edge, heads = rig
    agent = c.get("/api/agents", headers=heads["off"]).json()[0]["id"]
    r = c.post(f"/api/agents/{agent}/commands", json={"name": "ping", "args": {"surprise": 1}}, headers=heads["off"])
    assert r.status_code == 422 and "surprise" in r.text
    r = c.post(f"/api/sites/{sid}/passback/reset", json={"person": 12}, headers=heads["off"])
    assert r.status_code == 422
    assert edge.sent == []
