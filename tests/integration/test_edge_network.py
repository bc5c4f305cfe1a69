"""The edge's network service against simulated switches over SSH: every refusal leaves the
switches untouched (their command logs prove no line arrived), an approved change is applied once,
a replay is refused, and a hand edit on a switch is found as drift."""
from __future__ import annotations

import datetime as dt

import pytest
import yaml
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from edge_agent.network import NetworkService, check_change, netmiko_connect
from edge_agent.secrets import SecretError
from edge_agent.store import EdgeStore
from edge_agent.wire.site import parse_site_text
from network_policy.acl import acls_to_json, network
from network_policy.approval import ApprovalError, public_key_text, sign
from network_policy.intent import Allow, Service, VlanPolicy, default_allows, device_acls
from network_policy.render import change_commands
from simulators.switch.fleet import SwitchFleet
from tests.conftest import DEMO_SITE, wait_for

pytestmark = pytest.mark.slow

KEYS = {"acme": Ed25519PrivateKey.generate(), "borealis": Ed25519PrivateKey.generate()}
SERVICES = [Service("platform", network("10.0.0.10"), "tcp", (443,)), Service("dns", network("10.0.0.53"), "udp", (53,))]
A = VlanPolicy(110, "acme", network("10.110.0.0/24"), default_allows(SERVICES))
B = VlanPolicy(120, "borealis", network("10.120.0.0/24"), default_allows(SERVICES))
A2 = VlanPolicy(110, "acme", A.subnet, A.allows + (Allow(30, "tcp", network("10.0.0.20"), 8443),))
ROUTING = {"sw-core": [100, 110, 120], "sw-floor": [110, 120]}
VENDOR = {"sw-core": "cisco_ios", "sw-floor": "huawei"}
LATER = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")


def payload(change: str, before: dict, after: dict, signers=("acme", "borealis"), devices=("sw-core", "sw-floor")):
    devs = {}
    for d in devices:
        b, a = device_acls(before, ROUTING, d), device_acls(after, ROUTING, d)
        devs[d] = {"vendor": VENDOR[d], "before": acls_to_json(b), "after": acls_to_json(a),
                   "commands": change_commands(VENDOR[d], b, a)}
    commands = {d: spec["commands"] for d, spec in devs.items()}
    approvals = [vars(sign(KEYS[c], change, c, commands, LATER)) for c in signers]
    return {"change": change, "devices": devs, "approvals": approvals}


@pytest.fixture(scope="module")
def rig(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("edgenet")
    fleet = SwitchFleet(DEMO_SITE, ephemeral=True)
    fleet.start()
    doc = yaml.safe_load(DEMO_SITE.read_text())
    for c in doc["customers"]:
        c["approval_public_key"] = public_key_text(KEYS[c["id"]].public_key())
    for s in doc["switches"]:
        s["port"] = fleet.switches[s["id"]].port
        # The edge reads each switch's password from a file, as a site keeps it out of the site file.
        (tmp / f"{s['id']}.pw").write_text(fleet.switches[s["id"]].netmiko_params()["password"] + "\n")
        s.pop("password_env"), s.update(password_file=str(tmp / f"{s['id']}.pw"))
    site = parse_site_text(yaml.safe_dump(doc), "edge-site.yaml")
    store = EdgeStore(tmp / "edge.db")
    service = NetworkService(site, store, netmiko_connect(site, timeout=10))
    yield site, fleet, service, store
    fleet.stop()
    store.close()


def config_lines(fleet) -> dict[str, list[str]]:
    return {sid: sw.lines(config_only=True) for sid, sw in fleet.switches.items()}


def events(store, kind: str) -> list[dict]:
    return [e.data for e in store.pending(10_000) if e.kind == kind]


def test_refusals_reach_no_switch(rig):
    site, fleet, service, store = rig
    for sw in fleet.switches.values():
        sw.clear_log()
    good = payload("chg-first", {}, {110: A, 120: B})
    # A line edited after signing; and a whole change re-rendered (consistently) from a wider
    # intent than the one the customers signed.
    edited = payload("chg-first", {}, {110: A, 120: B})
    edited["devices"]["sw-core"]["commands"][1] = " 10 permit ip 10.110.0.0 0.0.0.255 any"
    wide = VlanPolicy(110, "acme", A.subnet, A.allows + (Allow(40, "ip", network("10.120.0.0/24")),))
    altered = payload("chg-first", {}, {110: wide, 120: B})
    altered["approvals"] = good["approvals"]
    only_acme = payload("chg-first", {}, {110: A, 120: B}, signers=("acme",))
    expired = payload("chg-first", {}, {110: A, 120: B})
    for a in expired["approvals"]:
        a["expires"] = "2020-01-01T00:00:00Z"
    foreign = payload("chg-first", {}, {110: A}, signers=("acme", "borealis"))
    # The controller claims a change to VLAN 110 only, but slips a VLAN 120 line into the commands.
    smuggled = payload("chg-first", {}, {110: A}, signers=("acme",))
    smuggled["devices"]["sw-core"]["commands"].insert(0, "no ip access-list extended SG-V120")
    cases = {"bad_signature": altered, "not_approved": only_acme, "expired": expired,
             "foreign_customer": foreign, "commands_mismatch": smuggled}
    refused_before = len(events(store, "network.change_refused"))
    with pytest.raises(ApprovalError, match="commands_mismatch"):
        service.submit(edited)
    for reason, doc in cases.items():
        with pytest.raises(ApprovalError) as info:
            service.submit(doc)
        assert info.value.reason == reason
    assert config_lines(fleet) == {"sw-core": [], "sw-floor": []}
    assert [e["reason"] for e in events(store, "network.change_refused")[refused_before:]] == [
        "commands_mismatch", *cases]
    assert len([a for a in events(store, "alarm.network_change_refused")]) >= len(cases)
    assert good  # the untampered change is still valid: nothing above spent it


def test_a_vlan_opened_into_another_customer_needs_that_customer_too(rig):
    """From the attacker's side: acme (or a controller speaking for it) opens its VLAN into
    borealis's subnet with only acme's signature. The edge works out from its own site file that
    borealis's reachability changes, refuses the change with an alarm, and no line is sent."""
    site, fleet, service, store = rig
    for sw in fleet.switches.values():
        sw.clear_log()
    into_borealis = VlanPolicy(110, "acme", A.subnet, A.allows + (Allow(40, "tcp", network("10.120.0.7"), 22),))
    refused_before = len(events(store, "network.change_refused"))
    for devices in (("sw-core", "sw-floor"), ("sw-floor",)):  # also on one switch only
        doc = payload("chg-open", {110: A, 120: B}, {110: into_borealis, 120: B}, signers=("acme",), devices=devices)
        with pytest.raises(ApprovalError) as info:
            service.submit(doc)
        assert info.value.reason == "not_approved" and info.value.detail == "waiting for borealis"
    assert config_lines(fleet) == {"sw-core": [], "sw-floor": []}
    refusals = events(store, "network.change_refused")[refused_before:]
    assert [(e["change"], e["reason"]) for e in refusals] == [("chg-open", "not_approved")] * 2
    alarms = [a for a in events(store, "alarm.network_change_refused") if a["change"] == "chg-open"]
    assert alarms and alarms[-1]["severity"] == "critical"
    # Taking a line back out of borealis's subnet concerns borealis as much.
    closing = payload("chg-close", {110: into_borealis, 120: B}, {110: A, 120: B}, signers=("acme",))
    with pytest.raises(ApprovalError, match="waiting for borealis"):
        check_change(closing, site, set(), dt.datetime.now(dt.timezone.utc))
    # With borealis's signature as well, the same change passes the check.
    both = payload("chg-open", {110: A, 120: B}, {110: into_borealis, 120: B}, signers=("acme", "borealis"))
    assert [p.device for p in check_change(both, site, set(), dt.datetime.now(dt.timezone.utc))] == [
        "sw-core", "sw-floor"]
    assert config_lines(fleet) == {"sw-core": [], "sw-floor": []}


def test_an_approved_change_runs_once_and_a_replay_is_refused(rig):
    site, fleet, service, store = rig
    first = payload("chg-first", {}, {110: A, 120: B})
    assert service.submit(first)["devices"] == ["sw-core", "sw-floor"]
    result = wait_for(lambda: [e for e in events(store, "network.change_result") if e["change"] == "chg-first"],
                      timeout=120, what="first change applied")[0]
    assert result["status"] == "applied", result
    for d in ("sw-core", "sw-floor"):
        got = fleet.switches[d].lines(config_only=True)
        assert got[:len(first["devices"][d]["commands"])] == first["devices"][d]["commands"]
    with pytest.raises(ApprovalError) as info:
        service.submit(first)
    assert info.value.reason == "replayed"
    # The next change is rendered against what the first left behind and needs only acme.
    second = payload("chg-second", {110: A, 120: B}, {110: A2, 120: B}, signers=("acme",))
    service.submit(second)
    result = wait_for(lambda: [e for e in events(store, "network.change_result") if e["change"] == "chg-second"],
                      timeout=120, what="second change applied")[0]
    assert result["status"] == "applied", result
    assert [r["device"] for r in result["devices"]] == ["sw-core", "sw-floor"]


def test_a_hand_edit_is_found_as_drift_with_its_repair(rig):
    site, fleet, service, store = rig
    if not service.intent():
        pytest.skip("needs the applied change of the previous test")
    reports = {r["device"]: r for r in service.check_drift()}
    assert reports["sw-core"]["in_sync"] and reports["sw-floor"]["in_sync"]
    dev = netmiko_connect(site, timeout=10)("sw-core")
    dev.send_config(["ip access-list extended SG-V120", " 15 permit ip 10.120.0.0 0.0.0.255 10.110.0.0 0.0.0.255",
                     "exit"])
    dev.close()
    reports = {r["device"]: r for r in service.check_drift()}
    assert reports["sw-core"]["in_sync"] is False and reports["sw-floor"]["in_sync"]
    assert reports["sw-core"]["repair"] == ["ip access-list extended SG-V120", " no 15", "exit"]
    # One alarm for the drifted switch; none raised or cleared for the switch that stayed in sync.
    alarms = events(store, "alarm.network_drift")
    assert [(a["source"], a["severity"], a.get("state")) for a in alarms] == [("switch:sw-core", "critical", None)]
    service.check_drift()  # still drifted: not raised again
    assert len(events(store, "alarm.network_drift")) == 1


def test_check_change_refuses_unknown_devices_and_vlans(rig):
    site, *_ = rig
    doc = payload("chg-x", {}, {110: A}, signers=("acme",))
    doc["devices"]["sw-ghost"] = doc["devices"]["sw-core"]
    with pytest.raises(ApprovalError, match="unknown_device"):
        check_change(doc, site, set(), dt.datetime.now(dt.timezone.utc))
    platform = VlanPolicy(100, "site", network("10.0.0.0/24"), ())
    doc = payload("chg-y", {}, {100: platform}, signers=(), devices=("sw-core",))
    with pytest.raises(ApprovalError, match="no_owner"):
        check_change(doc, site, set(), dt.datetime.now(dt.timezone.utc))
    doc = payload("x" * 41, {}, {110: A}, signers=("acme",))
    with pytest.raises(ApprovalError, match="malformed"):
        check_change(doc, site, set(), dt.datetime.now(dt.timezone.utc))
    doc = payload("chg-z", {}, {110: A}, signers=("acme",))
    doc["devices"]["sw-floor"]["vendor"] = "cisco_ios"
    with pytest.raises(ApprovalError, match="malformed"):
        check_change(doc, site, set(), dt.datetime.now(dt.timezone.utc))


def test_a_change_cut_off_by_a_restart_is_reported_at_start(rig, tmp_path):
    site, fleet, service, store = rig
    restarted = EdgeStore(tmp_path / "edge.db")
    restarted.put("network_inflight", '{"change": "chg-cut", "devices": ["sw-core"]}')
    again = NetworkService(site, restarted, netmiko_connect(site, timeout=10))
    assert again.recover() == "chg-cut"
    assert [e["status"] for e in events(restarted, "network.change_result")] == ["interrupted"]
    assert "cut off" in events(restarted, "alarm.network_change_failed")[0]["message"]
    assert again.recover() is None  # reported once
    restarted.close()


def test_a_password_file_is_read_relative_to_the_site_file_at_each_connection(rig, tmp_path):
    site, fleet, *_ = rig
    switches = tuple(s.model_copy(update={"password_file": "secrets/sw.pw"}) for s in site.switches)
    relative = site.model_copy(update={"switches": switches})
    connect = netmiko_connect(relative, timeout=10, site_dir=tmp_path)
    with pytest.raises(SecretError, match=f"switch sw-core: password_file: {tmp_path}/secrets/sw.pw does not exist"):
        connect("sw-core")
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "sw.pw").write_text(fleet.switches["sw-core"].netmiko_params()["password"])
    dev = connect("sw-core")
    running, _ = dev.read_config()
    dev.close()
    assert "hostname sw-core" in running
