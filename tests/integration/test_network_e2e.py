"""Customer VLAN isolation end to end: officer or customer requests a change, each customer it
touches signs it, the controller hands it to the edge, the edge verifies and applies it on the
simulated switches over SSH. From the attacker's side: a change altered in the controller's
database after approval is refused by the edge and no line reaches a switch."""
from __future__ import annotations

import json
import os
import sqlite3

import httpx
import pytest
import yaml
from netmiko import ConnectHandler

from tests.conftest import wait_for
from tests.network_site import sign_digest, start_network_site, stop_network_site

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    ctx = start_network_site(tmp_path_factory.mktemp("network"))
    yield ctx
    stop_network_site(ctx)


def change(ctx, who: str, change_id: str) -> dict:
    r = ctx[who].get(f"/api/network/changes/{change_id}")
    assert r.status_code == 200, r.text
    return r.json()


def approve(ctx, who: str, change_id: str):
    doc = change(ctx, who, change_id)
    signing = doc["signing"]
    assert [s["customer"] for s in signing] == [who]  # a customer is shown its own document only
    sig = sign_digest(ctx["keys"][who], signing[0]["digest"])
    return ctx[who].post(f"/api/network/changes/{change_id}/approve", json={"signature": sig})


def wait_status(ctx, change_id: str, want: str, timeout: float = 180) -> dict:
    return wait_for(lambda: (d := change(ctx, "officer", change_id))["status"] == want and d,
                    timeout=timeout, what=f"{change_id} {want}")


def test_isolating_both_customers_needs_both_approvals(site):
    r = site["officer"].post(f"/api/sites/{site['sid']}/network/changes",
                             json={"title": "Isolate customer VLANs", "vlans": {"110": None, "120": None}})
    assert r.status_code == 201, r.text
    doc = r.json()
    cid = doc["id"]
    assert doc["status"] == "pending" and doc["customers"] == ["acme", "borealis"]
    assert doc["devices"] == ["sw-core", "sw-floor"]
    core = doc["device_plans"]["sw-core"]
    assert core["commands"][:2] == ["ip access-list extended SG-V110",
                                    " 10 permit tcp 10.110.0.0 0.0.0.255 host 10.0.0.10 eq 443"]
    assert doc["device_plans"]["sw-floor"]["commands"][0] == "acl name SG-V110 advance"
    # Before: every VLAN reaches every other. After: no flow between the customers.
    assert doc["analysis"]["cross_customer"] == []
    assert any("VLAN 110 -> vlan 120" in f for f in doc["analysis"]["newly_denied"])

    assert site["officer"].post(f"/api/network/changes/{cid}/apply").status_code == 409  # not approved yet
    assert approve(site, "acme", cid).json()["status"] == "pending"
    assert approve(site, "acme", cid).status_code == 409  # once per customer
    assert approve(site, "borealis", cid).json()["status"] == "approved"
    r = site["officer"].post(f"/api/network/changes/{cid}/apply")
    assert r.status_code == 200, r.text
    done = wait_status(site, cid, "applied")
    assert {d["device"]: d["status"] for d in done["result"]["devices"]} == {"sw-core": "saved", "sw-floor": "saved"}
    lines = site["switches"].config_lines("sw-core")
    assert lines[:len(core["commands"])] == core["commands"]
    vlans = {v["vlan"]: v for v in site["officer"].get(f"/api/sites/{site['sid']}/network").json()["vlans"]}
    assert vlans[110]["isolated"] and vlans[120]["isolated"]


def test_a_customer_change_is_private_and_a_bad_signature_is_refused(site):
    r = site["acme"].post(f"/api/sites/{site['sid']}/network/changes",
                          json={"title": "Tool server", "vlans": {"120": None}})
    assert r.status_code == 403  # not acme's VLAN
    allows = [{"proto": "tcp", "dst": "10.0.0.10", "port": 443}, {"proto": "udp", "dst": "10.0.0.53", "port": 53},
              {"proto": "tcp", "dst": "10.0.0.20", "port": 8443, "note": "label tool"}]
    r = site["acme"].post(f"/api/sites/{site['sid']}/network/changes",
                          json={"title": "Tool server", "vlans": {"110": allows}})
    assert r.status_code == 201, r.text
    doc = r.json()
    cid = doc["id"]
    assert doc["customers"] == ["acme"]
    assert doc["analysis"]["newly_permitted"] == ["VLAN 110 -> 10.0.0.20 tcp/8443"]
    assert doc["analysis"]["newly_denied"] == []
    # Only the new entry goes to the switches.
    assert doc["device_plans"]["sw-core"]["commands"] == [
        "ip access-list extended SG-V110", " 30 permit tcp 10.110.0.0 0.0.0.255 host 10.0.0.20 eq 8443", "exit"]
    assert site["borealis"].get(f"/api/network/changes/{cid}").status_code == 404
    assert cid not in [c["id"] for c in site["borealis"].get(f"/api/sites/{site['sid']}/network/changes").json()]
    forged = sign_digest(site["keys"]["borealis"], doc["signing"][0]["digest"])
    assert site["acme"].post(f"/api/network/changes/{cid}/approve", json={"signature": forged}).status_code == 400
    assert approve(site, "acme", cid).json()["status"] == "approved"
    assert site["officer"].post(f"/api/network/changes/{cid}/apply").status_code == 200
    wait_status(site, cid, "applied")


def test_a_change_altered_after_approval_is_refused_by_the_edge(site):
    allows = [{"proto": "tcp", "dst": "10.0.0.10", "port": 443}, {"proto": "udp", "dst": "10.0.0.53", "port": 53}]
    r = site["borealis"].post(f"/api/sites/{site['sid']}/network/changes",
                              json={"title": "Drop nothing", "vlans": {"120": allows + [
                                  {"proto": "tcp", "dst": "10.0.0.30", "port": 22}]}})
    cid = r.json()["id"]
    assert approve(site, "borealis", cid).json()["status"] == "approved"
    before = {d: site["switches"].config_lines(d) for d in ("sw-core", "sw-floor")}
    # An intruder with the controller's database opens borealis's VLAN to acme's after approval.
    db = sqlite3.connect(site["tmp"] / "controller.db")
    row = json.loads(db.execute("SELECT devices FROM network_changes WHERE id = ?", (cid,)).fetchone()[0])
    row["sw-core"]["commands"].insert(-1, " 25 permit ip 10.120.0.0 0.0.0.255 10.110.0.0 0.0.0.255")
    db.execute("UPDATE network_changes SET devices = ? WHERE id = ?", (json.dumps(row), cid))
    db.commit()
    db.close()
    r = site["officer"].post(f"/api/network/changes/{cid}/apply")
    assert r.status_code == 409 and "refused" in r.text, r.text
    assert change(site, "officer", cid)["status"] == "refused"
    assert {d: site["switches"].config_lines(d) for d in ("sw-core", "sw-floor")} == before
    alarms = wait_for(lambda: [a for a in site["officer"].get("/api/alarms").json()
                               if a["kind"] == "network_change_refused" and cid in a["message"]],
                      timeout=30, what="refusal alarm")
    assert alarms[0]["severity"] == "critical"


def test_opening_into_another_customer_needs_that_customer_too(site):
    """From the attacker's side: acme opens its VLAN into borealis's subnet. borealis must see
    and sign it; acme's approval alone leaves it pending and it cannot be applied."""
    mine = site["acme"].get(f"/api/sites/{site['sid']}/network").json()["vlans"][0]
    allows = [{k: a[k] for k in ("proto", "dst", "port")} for a in mine["allows"]] + [
        {"proto": "tcp", "dst": "10.120.0.7", "port": 22}, {"proto": "tcp", "dst": "10.0.0.30", "port": 22}]
    r = site["acme"].post(f"/api/sites/{site['sid']}/network/changes",
                          json={"title": "ssh into borealis", "vlans": {"110": allows}})
    assert r.status_code == 201, r.text
    doc = r.json()
    cid = doc["id"]
    assert doc["customers"] == ["acme", "borealis"]
    assert doc["analysis"]["newly_permitted"] == ["VLAN 110 -> 10.0.0.30 tcp/22", "VLAN 110 -> 10.120.0.7 tcp/22"]
    assert "SG-V120" not in "".join(doc["device_plans"]["sw-core"]["before_config"])  # acme's own ACLs only
    assert cid in [c["id"] for c in site["borealis"].get(f"/api/sites/{site['sid']}/network/changes").json()]
    theirs = change(site, "borealis", cid)
    # borealis signs the same lines (its signature covers every line of every device), but is
    # shown only the flows that concern it and no VLAN of acme's the change leaves alone.
    assert {d: p["commands"] for d, p in theirs["device_plans"].items()} == {
        d: p["commands"] for d, p in doc["device_plans"].items()}
    assert theirs["analysis"]["newly_permitted"] == ["VLAN 110 -> 10.120.0.7 tcp/22"]
    assert sorted(theirs["before"]) == ["110", "120"]

    assert approve(site, "acme", cid).json()["status"] == "pending"
    r = site["officer"].post(f"/api/network/changes/{cid}/apply")
    assert r.status_code == 409 and "pending" in r.text
    assert approve(site, "borealis", cid).json()["status"] == "approved"
    assert site["officer"].post(f"/api/network/changes/{cid}/apply").status_code == 200
    wait_status(site, cid, "applied")
    assert " 40 permit tcp 10.110.0.0 0.0.0.255 host 10.120.0.7 eq 22" in site["switches"].config_lines("sw-core")


def test_a_hand_edit_on_a_switch_shows_as_drift(site):
    ctl = site["switches"].control
    text = httpx.get(f"{ctl}/switches/sw-core/running-config").json()["text"]
    assert "SG-V120" in text
    # A technician removes borealis's DNS entry by hand on the core switch.
    doc = yaml.safe_load(site["site_file"].read_text())
    sw = next(s for s in doc["switches"] if s["id"] == "sw-core")
    with ConnectHandler(device_type="cisco_ios", host="127.0.0.1", port=sw["port"], username=sw["username"],
                        password=os.environ[sw["password_env"]]) as conn:
        conn.send_config_set(["ip access-list extended SG-V120", " no 20", "exit"])
    assert site["officer"].post(f"/api/sites/{site['sid']}/network/drift-check").status_code == 200
    overview = wait_for(lambda: (o := site["officer"].get(f"/api/sites/{site['sid']}/network").json())
                        and {s["id"]: s for s in o["switches"]}["sw-core"]["drift"]
                        and {s["id"]: s for s in o["switches"]}["sw-core"]["drift"]["in_sync"] is False and o,
                        timeout=60, what="drift on sw-core")
    drift = {s["id"]: s for s in overview["switches"]}["sw-core"]["drift"]
    assert drift["repair"] == ["ip access-list extended SG-V120",
                               " 20 permit udp 10.120.0.0 0.0.0.255 host 10.0.0.53 eq 53", "exit"]
    # shown as a diff of the approved rules against what the switch holds now
    assert "- 20 permit udp 10.120.0.0 0.0.0.255 host 10.0.0.53 eq 53" in drift["diff"]
    wait_for(lambda: [a for a in site["officer"].get("/api/alarms").json()
                      if a["kind"] == "network_drift" and a["state"] == "active"], timeout=30, what="drift alarm")
    # Each customer sees whether its own VLAN still matches what it approved, and nothing else.
    mine = wait_for(lambda: (o := site["acme"].get(f"/api/sites/{site['sid']}/network").json())["vlans"][0]["verified"]
                    and o, timeout=60, what="acme's VLAN checked on both switches")
    assert [v["vlan"] for v in mine["vlans"]] == [110] and "switches" not in mine
    assert mine["vlans"][0]["verified"]["in_sync"] is True
    theirs = site["borealis"].get(f"/api/sites/{site['sid']}/network").json()
    assert theirs["vlans"][0]["verified"]["in_sync"] is False
