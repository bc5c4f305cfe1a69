"""Approved changes applied through Netmiko to simulated IOS, VRP and Comware switches over SSH:
backup, send, read back, save; and every failure rolled back to the exact backup."""
from __future__ import annotations

import pytest

from network_policy.acl import network
from network_policy.apply import DevicePlan, apply_change, drift, plan_for
from network_policy.intent import Allow, Service, VlanPolicy, default_allows, next_seq
from network_policy.netmiko_device import NetmikoDevice, SwitchAccess
from simulators.switch.fleet import SwitchFleet
from simulators.switch.site_view import SwitchSpec

pytestmark = pytest.mark.slow

SERVICES = [Service("platform", network("10.0.0.10"), "tcp", (443,)),
            Service("dns", network("10.0.0.53"), "udp", (53,))]
A = VlanPolicy(110, "acme", network("10.110.0.0/24"), default_allows(SERVICES))
B = VlanPolicy(120, "borealis", network("10.120.0.0/24"), default_allows(SERVICES))
A2 = VlanPolicy(110, "acme", A.subnet, A.allows + (Allow(next_seq(A), "tcp", network("10.0.0.20"), 8443),))
BASE = {110: A.acl(), 120: B.acl()}
CHANGED = {110: A2.acl(), 120: B.acl()}
VENDORS = {"sw-ios": "cisco_ios", "sw-vrp": "huawei", "sw-h3c": "hp_comware"}


@pytest.fixture(scope="module")
def isolated_fleet():
    """Three switches that took the first isolation change through the whole cycle once."""
    specs = [SwitchSpec.make(sid, vendor, ports=4) for sid, vendor in VENDORS.items()]
    with SwitchFleet(specs=specs, ephemeral=True) as f:
        results = apply_change(plans({}, BASE), connector(f))
        assert [r.status for r in results] == ["saved"] * 3, [(r.device, r.error) for r in results]
        yield f, {sid: sw.running.to_dict() for sid, sw in f.switches.items()}


@pytest.fixture
def fleet(isolated_fleet):
    """Each test starts from the isolated state (set directly: Netmiko took it there once)."""
    f, snapshot = isolated_fleet
    for sid, sw in f.switches.items():
        sw.set_running(state=snapshot[sid], save=True)
        sw.faults.set("clear", {})
        sw.clear_log()
    return f


def connector(fleet):
    def connect(device: str) -> NetmikoDevice:
        sw = fleet.switches[device]
        p = sw.netmiko_params()
        return NetmikoDevice(SwitchAccess(p["host"], p["port"], p["username"], p["password"], p["device_type"],
                                          timeout=10))
    return connect


def plans(before, after, devices=VENDORS) -> list[DevicePlan]:
    return [plan_for(d, VENDORS[d], before, after) for d in devices]


def managed(fleet, device):
    dev = connector(fleet)(device)
    try:
        running, listing = dev.read_config()
    finally:
        dev.close()
    return drift(VENDORS[device], {}, running, listing)[0]


def running_text(fleet, device) -> str:
    return fleet.switches[device].running_config()


def test_first_isolation_then_a_change_on_three_vendors(fleet):
    for device in VENDORS:
        assert managed(fleet, device) == BASE
        assert "SG-V110" in fleet.switches[device].saved_config()
    for sw in fleet.switches.values():
        sw.clear_log()
    change = plans(BASE, CHANGED)
    results = apply_change(change, connector(fleet))
    assert [r.status for r in results] == ["saved"] * 3
    for plan in change:
        assert managed(fleet, plan.device) == CHANGED
        # The configuration lines the switch received are exactly the approved ones.
        got = fleet.switches[plan.device].lines(config_only=True)
        assert got[:len(plan.commands)] == list(plan.commands)
        # ... followed only by the driver leaving config mode and saving.
        assert set(got[len(plan.commands):]) <= {"end", "return", "save", "save force", "write mem", "y", "Y"}, got


@pytest.mark.parametrize("device", list(VENDORS))
def test_a_session_dropped_mid_change_is_rolled_back_to_the_exact_backup(fleet, device):
    before = {d: running_text(fleet, d) for d in VENDORS}
    fleet.switches[device].faults.set("drop_after", {"lines": 2})
    results = {r.device: r for r in apply_change(plans(BASE, CHANGED), connector(fleet))}
    assert results[device].status == "rolled_back", results[device]
    assert results[device].error
    for d in VENDORS:
        assert results[d].status == "rolled_back"  # all or nothing across the change's devices
        assert running_text(fleet, d) == before[d], d
        assert managed(fleet, d) == BASE


def test_a_refused_line_is_caught_and_rolled_back(fleet):
    before = running_text(fleet, "sw-vrp")
    fleet.switches["sw-vrp"].faults.set("reject", {"match": "8443"})
    results = {r.device: r for r in apply_change(plans(BASE, CHANGED), connector(fleet))}
    assert results["sw-vrp"].status == "rolled_back"
    assert "Error" in results["sw-vrp"].error or "Config" in results["sw-vrp"].error
    assert running_text(fleet, "sw-vrp") == before


def test_a_device_changed_behind_our_back_gets_no_line(fleet):
    # Someone removes the DNS entry by hand.
    dev = connector(fleet)("sw-ios")
    dev.send_config(["ip access-list extended SG-V120", " no 20", "exit"])
    dev.close()
    fleet.switches["sw-ios"].clear_log()
    results = {r.device: r for r in apply_change(plans(BASE, CHANGED), connector(fleet))}
    assert results["sw-ios"].status == "failed" and "changed since" in results["sw-ios"].error
    assert fleet.switches["sw-ios"].lines(config_only=True) == []
    # ... and the drift check names it and says how to repair it.
    actual, repair = drift("cisco_ios", BASE, *connector(fleet)("sw-ios").read_config())
    assert actual[120] != BASE[120]
    assert repair == ["ip access-list extended SG-V120",
                      " 20 permit udp 10.120.0.0 0.0.0.255 host 10.0.0.53 eq 53", "exit"]
