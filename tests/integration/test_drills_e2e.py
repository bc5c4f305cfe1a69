"""A fire drill over the real OSDP channel: simulated turnstiles (libosdp peripheral devices,
secure channel) -> edge agent -> controller. The officer's drill releases both demo gates, the
muster counts who was inside, a badge at a released lane and an officer mark people safe, ending
the drill relocks the gates and resets anti-passback, and the record is in the ledger and in
the daily report's drills section. Customers and annotators are refused by the API."""
from __future__ import annotations

import datetime as dt
import json
from zoneinfo import ZoneInfo

import pytest
import yaml
from sqlalchemy import create_engine, select

from controller.models import LedgerEntry, LedgerQueued
from tests.conftest import wait_for
from tests.gate_site import start_gate_site, stop_gate_site

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    ctx = start_gate_site(tmp_path_factory.mktemp("drills"))
    ctx["rig"].seed_users({"insp": ("inspector", None), "cust": ("customer", "acme"), "ann": ("annotator", None)})
    yield ctx
    stop_gate_site(ctx)


def inside(ctx, area: str = "floor3") -> list[str]:
    return [p["person"] for p in ctx["officer"].get(f"/api/sites/{ctx['sid']}/occupancy").json()["areas"].get(area, [])]


def gate_states(ctx) -> dict[str, str]:
    return {g["gate"]: g["state"] for g in ctx["officer"].get(f"/api/sites/{ctx['sid']}/gates").json()}


def decisions(ctx, person: str) -> list[tuple]:
    return [(e["gate"], e["granted"], e["reason"]) for e in ctx["officer"].get(
        f"/api/sites/{ctx['sid']}/access-events", params={"person": person}).json() if e["kind"] == "decision"]


def safe_people(client, drill_id: int) -> list[str]:
    areas = client.get(f"/api/drills/{drill_id}").json()["muster"]["areas"]
    return [w["person"] for a in areas.values() for w in a["safe"]]


def ledgered(ctx, kind: str) -> list[dict]:
    engine = create_engine(f"sqlite:///{ctx['tmp'] / 'controller.db'}")
    try:
        with engine.connect() as c:
            done = [json.loads(leaf)["data"] for leaf in c.scalars(select(LedgerEntry.leaf).where(LedgerEntry.kind == kind))]
            queued = [json.loads(d) for d in c.scalars(select(LedgerQueued.data).where(LedgerQueued.kind == kind))]
    finally:
        engine.dispose()
    return done + queued


def test_plans_are_seeded_versioned_and_readable_by_inspectors(site):
    rig, sid = site["rig"], site["sid"]
    insp = rig.client("insp", "insp-pass")
    plans = insp.get(f"/api/sites/{sid}/plans").json()
    assert [p["kind"] for p in plans] == ["fire", "evacuation", "power_loss", "intrusion", "data_leak"]
    fire = plans[0]
    assert fire["version"] == 1 and fire["title"]["zh_CN"] and fire["title"]["en"] and fire["checklist"]
    doc = {"kind": "fire", "title": fire["title"], "body": {"zh_CN": "新版本", "en": "New version"},
           "checklist": [{"id": "alarm", "text": {"zh_CN": "报警", "en": "Raise the alarm"}}]}
    assert insp.post(f"/api/sites/{sid}/plans", json=doc).status_code == 403
    r = site["officer"].post(f"/api/sites/{sid}/plans", json=doc)
    assert r.status_code == 201, r.text
    assert r.json()["version"] == 2
    history = insp.get(f"/api/sites/{sid}/plans", params={"history": True}).json()
    assert [p["version"] for p in history if p["kind"] == "fire"] == [2, 1]
    wait_for(lambda: any(d["kind"] == "fire" and d["version"] == 2 for d in ledgered(site, "plan.version")),
             what="the new version ledgered")
    for who in ("cust", "ann"):
        assert rig.client(who, f"{who}-pass").get(f"/api/sites/{sid}/plans").status_code == 403


def test_a_fire_drill_releases_both_gates_musters_relocks_and_resets_passback(site):
    rig, sid, off, gates = site["rig"], site["sid"], site["officer"], site["gates"]
    for person, gate in (("p-003", "gate-main"), ("p-004", "gate-main"), ("p-008", "gate-side")):
        gates.act(gate, "enter", person=person)
    wait_for(lambda: {"p-003", "p-004", "p-008"} <= set(inside(site)), timeout=30, what="three people inside")

    for who in ("cust", "ann", "insp"):  # only officers and admins run drills
        c = rig.client(who, f"{who}-pass")
        assert c.post(f"/api/sites/{sid}/drills", json={"scenario": "fire"}).status_code == 403, who
    for who in ("cust", "ann"):
        assert rig.client(who, f"{who}-pass").get(f"/api/sites/{sid}/drills").status_code == 403, who

    r = off.post(f"/api/sites/{sid}/drills", json={"scenario": "fire"})
    assert r.status_code == 201, r.text
    drill = r.json()
    did = drill["id"]
    assert drill["release_error"] is None and drill["state"] == "running"
    assert set(drill["lanes"]) == {"gate-main", "gate-side"}
    assert all(lane["released_at"] and lane["state"] == "fail_safe_open" for lane in drill["lanes"].values())
    assert drill["muster"]["counts"] == {"inside": 3, "safe": 0, "missing": 3}
    assert off.post(f"/api/sites/{sid}/drills", json={"scenario": "evacuation"}).status_code == 409
    wait_for(lambda: set(gate_states(site).values()) == {"fail_safe_open"}, timeout=20, what="both lanes open")

    # p-003 badges at the released exit lane and walks out: marked safe by the badge.
    gates.act("gate-main", "exit", person="p-003")
    wait_for(lambda: "p-003" in safe_people(off, did), timeout=20, what="p-003 safe")
    safe = off.get(f"/api/drills/{did}").json()["muster"]["areas"]["floor3"]["safe"]
    assert [(w["person"], w["how"], w["where"]) for w in safe] == [("p-003", "badge", "gate-main")]
    # p-004 leaves without badging; an officer marks them safe at the muster point.
    gates.act("gate-side", "pass", direction="exit")
    for who in ("cust", "ann", "insp"):
        assert rig.client(who, f"{who}-pass").post(f"/api/drills/{did}/safe", json={"person": "p-004"}).status_code == 403
    assert off.post(f"/api/drills/{did}/safe", json={"person": "p-004"}).status_code == 200
    assert off.post(f"/api/drills/{did}/safe", json={"person": "p-999"}).status_code == 422
    # the checklist is the latest fire plan's (version 2, made above)
    assert off.post(f"/api/drills/{did}/checklist", json={"item": "alarm", "done": True}).status_code == 200
    now = off.get(f"/api/drills/{did}").json()
    assert now["muster"]["counts"] == {"inside": 3, "safe": 2, "missing": 1}
    assert [w["person"] for w in now["muster"]["areas"]["floor3"]["missing"]] == ["p-008"]
    assert now["muster"]["accounted_s"] is None  # p-008 is still missing
    assert off.post(f"/api/drills/{did}/safe", json={"person": "p-008"}).status_code == 200
    assert off.get(f"/api/drills/{did}").json()["muster"]["accounted_s"] >= 0

    insp = rig.client("insp", "insp-pass")
    assert insp.post(f"/api/drills/{did}/end", json={}).status_code == 403
    r = off.post(f"/api/drills/{did}/end", json={"findings": "gate-side exit lane slow to clear"})
    assert r.status_code == 200, r.text
    ended = r.json()
    assert ended["state"] == "ended" and ended["passback_reset"] and ended["ended_by"] == "off"
    assert all(lane["relocked_at"] and lane["state"] == "locked" for lane in ended["lanes"].values())
    wait_for(lambda: set(gate_states(site).values()) == {"locked"}, timeout=20, what="both lanes relocked")
    assert off.post(f"/api/drills/{did}/end", json={}).status_code == 409

    # p-008 never badged out, so the edge still had them inside: without the reset their entry
    # would be passback. After the drill they badge back in.
    gates.act("gate-main", "enter", person="p-004")
    wait_for(lambda: ("gate-main", True, "granted") in decisions(site, "p-004"), timeout=20, what="p-004 back in")
    assert ("gate-main", False, "passback_denied") not in decisions(site, "p-004")

    record = wait_for(lambda: [d for d in ledgered(site, "drill.ended") if d["id"] == did], what="drill ledgered")[0]
    assert record["scenario"] == "fire" and record["started_by"] == "off"
    assert record["muster"]["counts"] == {"inside": 3, "safe": 3, "missing": 0}
    assert record["findings"] == "gate-side exit lane slow to clear"
    assert set(record["lanes"]) == {"gate-main", "gate-side"}
    assert [i["done"] for i in record["checklist"] if i["id"] == "alarm"] == [True]

    # The daily report of today lists it with its figures.
    today = insp.get(f"/api/sites/{sid}/drills").json()["drills"][0]["started_at"]
    tz = yaml.safe_load((site["tmp"] / "site.yaml").read_text())["site"]["timezone"]
    day = dt.datetime.fromisoformat(today).astimezone(ZoneInfo(tz))
    r = insp.post(f"/api/sites/{sid}/reports", json={"day": day.date().isoformat(), "lang": "en"})
    assert r.status_code == 201, r.text
    html = insp.get(f"/api/reports/{r.json()['id']}/html").text
    section = html[html.index('<section id="drills">'):]
    section = section[:section.index("</section>")]
    assert f'data-drill="{did}"' in section and "fire" in section and "gate-side exit lane slow to clear" in section
    assert r.json()["summary"]["drills"] >= 1
