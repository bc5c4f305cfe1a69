"""Isolation proven by packets: an approved change runs through Netmiko on a simulated switch, the
switch's resulting ACLs become nftables rules in the lab's switch namespace, and pings and TCP
between real namespaces show what each customer VLAN reaches, before and after the change."""
from __future__ import annotations

import os

import pytest

from network_policy.acl import network
from network_policy.apply import apply_change, plan_for
from network_policy.intent import Allow, Service, VlanPolicy, default_allows, next_seq
from network_policy.netmiko_device import NetmikoDevice, SwitchAccess
from network_policy.reachability import cross_customer_flows
from simulators.netlab import Host, Lab, LabError, Segment
from simulators.switch.device import SwitchSimulator
from simulators.switch.nft import ruleset
from simulators.switch.site_view import SwitchSpec
from tests.lab.conftest import cannot_run, lab_blocker

pytestmark = [pytest.mark.lab, pytest.mark.slow]

SERVICES = [Service("platform", network("10.0.0.10"), "tcp", (443,)),
            Service("dns", network("10.0.0.53"), "udp", (53,))]
A = VlanPolicy(110, "acme", network("10.110.0.0/24"), default_allows(SERVICES))
B = VlanPolicy(120, "borealis", network("10.120.0.0/24"), default_allows(SERVICES))
# The change acme asks for: its annotators may reach a tool server on 8443.
A2 = VlanPolicy(110, "acme", A.subnet, A.allows + (Allow(next_seq(A), "tcp", network("10.0.0.20"), 8443),))
ROUTING = ["vlan 100", "vlan 110", "vlan 120",
           "interface Vlan100", " ip address 10.0.0.1 255.255.255.0", " no shutdown", "exit",
           "interface Vlan110", " ip address 10.110.0.1 255.255.255.0", " no shutdown", "exit",
           "interface Vlan120", " ip address 10.120.0.1 255.255.255.0", " no shutdown", "exit"]
NO = 0.4  # a dropped probe costs this long


@pytest.fixture(scope="module")
def rig():
    reason = lab_blocker()
    if reason:
        cannot_run(reason)
    lab = Lab(prefix=f"p{os.getpid() % 100000:05d}",
              segments=[Segment("v110", "10.110.0.1/24", vlan=110), Segment("v120", "10.120.0.1/24", vlan=120),
                        Segment("v100", "10.0.0.1/24", vlan=100)],
              hosts=[Host("a1", "v110", "10.110.0.11/24"), Host("a2", "v110", "10.110.0.12/24"),
                     Host("b1", "v120", "10.120.0.11/24"), Host("plat", "v100", "10.0.0.10/24"),
                     Host("dns", "v100", "10.0.0.53/24"), Host("tools", "v100", "10.0.0.20/24")])
    try:
        lab.up()
    except LabError as exc:
        cannot_run(f"cannot build namespaces here: {exc}")
    switch = SwitchSimulator(SwitchSpec.make("sw-lab", "cisco_ios", ports=4), port=0)
    switch.start()
    try:
        for host, port in (("plat", 443), ("tools", 8443), ("b1", 443), ("a2", 443), ("b1", 8443)):
            lab.listen(host, port)
        lab.listen("dns", 53, "udp")
        p = switch.netmiko_params()
        access = SwitchAccess(p["host"], p["port"], p["username"], p["password"], "cisco_ios", timeout=10)
        dev = NetmikoDevice(access)
        dev.send_config(ROUTING)  # the site's routing, there before SiteGuard
        dev.close()
        yield lab, switch, access
    finally:
        switch.stop()
        lab.down()


def sync(lab: Lab, switch: SwitchSimulator) -> str:
    """The switch's running ACLs become the lab's forwarding rules."""
    with switch.lock:
        state = switch.running.copy()
    text = ruleset(state, lab.vlan_ifmap())
    lab.load_ruleset(text)
    return text


def probes(lab: Lab) -> dict[str, bool]:
    checks = {
        "a1 -> platform tcp/443": ("a1", "10.0.0.10", 443),
        "a1 -> dns udp/53": ("a1", "10.0.0.53", 53, "udp"),
        "a1 -> tools tcp/8443": ("a1", "10.0.0.20", 8443),
        "a1 -> a2 tcp/443 (same VLAN)": ("a1", "10.110.0.12", 443),
        "a1 -> b1 ping": ("a1", "10.120.0.11"),
        "a1 -> b1 tcp/443": ("a1", "10.120.0.11", 443),
        "a1 -> b1 tcp/8443": ("a1", "10.120.0.11", 8443),
        "b1 -> a2 tcp/443": ("b1", "10.110.0.12", 443),
        "b1 -> platform tcp/443": ("b1", "10.0.0.10", 443),
        "b1 -> tools tcp/8443": ("b1", "10.0.0.20", 8443),
        "a1 -> platform ping": ("a1", "10.0.0.10"),
    }
    results = lab.reachability(checks.values(), timeout=NO)
    return {name: results[tuple(probe)] for name, probe in checks.items()}


def test_packets_obey_the_approved_isolation_before_and_after_a_change(rig):
    lab, switch, access = rig
    # Before SiteGuard: one flat routed network, every customer reaches every other.
    sync(lab, switch)
    flat = probes(lab)
    assert flat["a1 -> b1 tcp/443"] and flat["b1 -> a2 tcp/443"]

    # Isolation as approved: each customer VLAN reaches the platform and DNS, never the other.
    base = {110: A.acl(), 120: B.acl()}
    assert cross_customer_flows({110: A.subnet, 120: B.subnet}, {110: "acme", 120: "borealis"}, base) == []
    results = apply_change([plan_for("sw-lab", "cisco_ios", {}, base)], lambda _: NetmikoDevice(access))
    assert results[0].status == "saved", results[0].error
    text = sync(lab, switch)
    assert "10.110.0.0/24" in text
    before = probes(lab)
    assert before == {
        "a1 -> platform tcp/443": True, "a1 -> dns udp/53": True, "a1 -> tools tcp/8443": False,
        "a1 -> a2 tcp/443 (same VLAN)": True, "a1 -> b1 ping": False, "a1 -> b1 tcp/443": False,
        "a1 -> b1 tcp/8443": False, "b1 -> a2 tcp/443": False, "b1 -> platform tcp/443": True,
        "b1 -> tools tcp/8443": False, "a1 -> platform ping": False}

    # acme's approved change: exactly one new flow, for acme only.
    after = {110: A2.acl(), 120: B.acl()}
    results = apply_change([plan_for("sw-lab", "cisco_ios", base, after)], lambda _: NetmikoDevice(access))
    assert results[0].status == "saved", results[0].error
    sync(lab, switch)
    now = probes(lab)
    changed = {k for k in now if now[k] != before[k]}
    assert changed == {"a1 -> tools tcp/8443"} and now["a1 -> tools tcp/8443"]
    assert not now["b1 -> tools tcp/8443"] and not now["a1 -> b1 tcp/8443"]
