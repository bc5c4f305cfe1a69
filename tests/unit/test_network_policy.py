"""Isolation intent -> vendor CLI -> parsed back; reachability differential; customer approvals."""
from __future__ import annotations

import datetime as dt
import ipaddress

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from network_policy.acl import ANY, Acl, Entry, network
from network_policy.approval import ApprovalError, Approval, digest, public_key_text, sign, verify_change
from network_policy.intent import (Allow, Service, VlanPolicy, customers_touched, default_allows, device_acls,
                                   devices_for, next_seq)
from network_policy.parse import ParseError, ios_entry, parse_device, rule_entry
from network_policy.reachability import UNNAMED_PORT, Flow, cross_customer_flows, differential, matrix
from network_policy.render import VENDORS, change_commands, config_text, entry_line

SERVICES = [Service("platform", network("10.0.0.10"), "tcp", (443,)),
            Service("dns", network("10.0.0.53"), "udp", (53,))]
A = VlanPolicy(110, "acme", network("10.110.0.0/24"), default_allows(SERVICES))
B = VlanPolicy(120, "borealis", network("10.120.0.0/24"), default_allows(SERVICES))
VLANS = {110: A.subnet, 120: B.subnet, 100: network("10.0.0.0/24")}
OWNERS = {110: "acme", 120: "borealis"}


def listing(vendor: str, acls: dict[int, Acl]) -> str:
    """What IOS prints for ``show ip access-lists`` (entries with sequence numbers)."""
    if vendor != "cisco_ios":
        return ""
    lines = []
    for vlan, acl in acls.items():
        lines.append(f"Extended IP access list SG-V{vlan}")
        lines += [f"    {entry_line(vendor, e)} (3 matches)" for e in acl.entries]
    return "\n".join(lines)


# --- intent and rendering ---------------------------------------------------------------------

def test_default_policy_permits_the_services_from_the_subnet_and_denies_the_rest():
    acl = A.acl()
    assert [(e.seq, e.action, e.proto, str(e.dst), e.port) for e in acl.entries] == [
        (10, "permit", "tcp", "10.0.0.10/32", 443), (20, "permit", "udp", "10.0.0.53/32", 53),
        (10000, "deny", "ip", "0.0.0.0/0", None)]
    assert all(e.src == A.subnet for e in acl.entries[:-1])
    src = ipaddress.IPv4Address("10.110.0.7")
    assert acl.decide("tcp", src, ipaddress.IPv4Address("10.0.0.10"), 443) == "permit"
    assert acl.decide("tcp", src, ipaddress.IPv4Address("10.0.0.10"), 22) == "deny"
    assert acl.decide("icmp", src, ipaddress.IPv4Address("10.120.0.5"), None) == "deny"
    # a spoofed source inside the VLAN does not get the permits
    assert acl.decide("tcp", ipaddress.IPv4Address("10.120.0.5"), ipaddress.IPv4Address("10.0.0.10"), 443) == "deny"


def test_exact_ios_and_vrp_and_comware_lines_for_a_new_vlan():
    new = {110: A.acl()}
    assert change_commands("cisco_ios", {}, new) == [
        "ip access-list extended SG-V110",
        " 10 permit tcp 10.110.0.0 0.0.0.255 host 10.0.0.10 eq 443",
        " 20 permit udp 10.110.0.0 0.0.0.255 host 10.0.0.53 eq 53",
        " 10000 deny ip any any",
        "exit",
        "interface Vlan110", " ip access-group SG-V110 in", "exit"]
    assert change_commands("huawei", {}, new) == [
        "acl name SG-V110 advance",
        " rule 10 permit tcp source 10.110.0.0 0.0.0.255 destination 10.0.0.10 0 destination-port eq 443",
        " rule 20 permit udp source 10.110.0.0 0.0.0.255 destination 10.0.0.53 0 destination-port eq 53",
        " rule 10000 deny ip",
        "quit",
        "interface Vlanif110", " traffic-filter inbound acl name SG-V110", "quit"]
    assert change_commands("hp_comware", {}, new)[-3:] == [
        "interface Vlan-interface110", " packet-filter name SG-V110 inbound", "quit"]


def test_a_change_edits_only_the_entries_that_differ_removals_first():
    after = VlanPolicy(110, "acme", A.subnet, A.allows[:1] + (Allow(next_seq(A), "tcp", network("10.0.0.20"), 8443),))
    assert change_commands("cisco_ios", {110: A.acl()}, {110: after.acl()}) == [
        "ip access-list extended SG-V110", " no 20",
        " 30 permit tcp 10.110.0.0 0.0.0.255 host 10.0.0.20 eq 8443", "exit"]
    assert change_commands("huawei", {110: A.acl()}, {110: after.acl()}) == [
        "acl name SG-V110 advance", " undo rule 20",
        " rule 30 permit tcp source 10.110.0.0 0.0.0.255 destination 10.0.0.20 0 destination-port eq 8443", "quit"]
    assert change_commands("huawei", {110: A.acl()}, {110: A.acl()}) == []


def test_removing_a_vlan_unbinds_before_deleting():
    assert change_commands("cisco_ios", {110: A.acl()}, {}) == [
        "interface Vlan110", "no ip access-group SG-V110 in", "exit", "no ip access-list extended SG-V110"]


def test_policy_refuses_overlaps_and_bad_ports():
    with pytest.raises(ValueError, match="own subnet"):
        VlanPolicy(110, "acme", A.subnet, (Allow(10, "ip", network("10.110.0.0/25")),))
    with pytest.raises(ValueError, match="tcp or udp"):
        VlanPolicy(110, "acme", A.subnet, (Allow(10, "icmp", network("10.0.0.10"), 443),))
    with pytest.raises(ValueError, match="share a sequence"):
        VlanPolicy(110, "acme", A.subnet, (Allow(10, "ip", network("10.0.0.10")), Allow(10, "ip", network("10.0.0.11"))))


def test_scope_devices_and_customers():
    routing = {"sw-core": [100, 110, 120], "sw-floor": [110], "sw-lab": [130]}
    assert devices_for([110], routing) == ["sw-core", "sw-floor"]
    assert set(device_acls({110: A, 120: B}, routing, "sw-core")) == {110, 120}
    changed = VlanPolicy(110, "acme", A.subnet, A.allows[:1])
    assert customers_touched({110: A, 120: B}, {110: changed, 120: B}) == {"acme"}


entries_st = st.builds(
    lambda seq, action, proto, dst_len, dst_host, port: Entry(
        seq, action, proto, network("10.110.0.0/24"),
        ANY if dst_len == 0 else ipaddress.IPv4Network(f"10.{dst_host}.0.0/{dst_len}", strict=False),
        port if proto in ("tcp", "udp") else None),
    st.integers(1, 9999), st.sampled_from(["permit", "deny"]), st.sampled_from(["ip", "tcp", "udp", "icmp"]),
    st.sampled_from([0, 8, 16, 24, 32]), st.integers(0, 255), st.one_of(st.none(), st.integers(1, 65535)))
acl_st = st.lists(entries_st, max_size=8, unique_by=lambda e: e.seq).map(lambda es: Acl(110, tuple(es)))


@settings(max_examples=150, deadline=None)
@given(acl_st, st.sampled_from(VENDORS))
def test_what_we_render_parses_back_identically(acl, vendor):
    acls = {110: acl}
    parsed = parse_device(vendor, "\n".join(config_text(vendor, acls)), listing(vendor, acls))
    assert parsed.managed() == acls
    assert parsed.stray() == []


@settings(max_examples=150, deadline=None)
@given(acl_st, acl_st)
def test_change_commands_touch_exactly_the_differing_entries(before, after):
    lines = change_commands("cisco_ios", {110: before}, {110: Acl(110, after.entries)})
    b, a = before.by_seq(), after.by_seq()
    removed = {int(line.split()[1]) for line in lines if line.startswith(" no ")}
    added = {int(line.split()[0]) for line in lines if line.startswith(" ") and line.strip()[0].isdigit()}
    assert removed == {s for s in b if a.get(s) != b[s]}
    assert added == {s for s in a if b.get(s) != a[s]}


def test_parse_reads_switch_output_forms():
    assert ios_entry("    10 permit tcp 10.110.0.0 0.0.0.255 host 10.0.0.10 eq www (12 matches)").port == 80
    assert rule_entry("rule 5 permit udp source 10.110.0.0 0.0.0.255 destination-port eq dns").port == 53
    with pytest.raises(ParseError):
        rule_entry("rule 5 permit tcp source 10.110.0.0 0.0.0.255 destination-port range 1 9")
    running = "\n".join(["acl name SG-V110 3999", " rule 10 permit ip", "#", "acl name SG-V120 3998",
                         "#", "interface Vlanif110", " traffic-filter inbound acl name SG-V110", "#",
                         "interface Vlanif130", " traffic-filter inbound acl name SG-V120", "#"])
    state = parse_device("huawei", running)
    assert set(state.managed()) == {110}
    assert len(state.stray()) == 2  # SG-V120 bound on VLAN 130, and not on VLAN 120


# --- reachability -------------------------------------------------------------------------------

def test_default_intent_isolates_customers_and_reaches_the_services():
    acls = {110: A.acl(), 120: B.acl()}
    m = matrix(VLANS, acls)
    assert m[Flow(110, "10.0.0.10", "tcp", 443)] and m[Flow(120, "10.0.0.53", "udp", 53)]
    assert not m[Flow(110, "vlan 120", "tcp", 443)] and not m[Flow(110, "vlan 120", "icmp", None)]
    assert not m[Flow(110, "10.0.0.10", "tcp", UNNAMED_PORT)]
    assert not m[Flow(110, "elsewhere", "udp", 53)]
    assert cross_customer_flows(VLANS, OWNERS, acls) == []


def test_differential_shows_exactly_the_new_flow():
    after = VlanPolicy(110, "acme", A.subnet, A.allows + (Allow(30, "tcp", network("10.0.0.20"), 8443),))
    diff = differential(VLANS, {110: A.acl(), 120: B.acl()}, {110: after.acl(), 120: B.acl()})
    assert diff.newly_permitted == (Flow(110, "10.0.0.20", "tcp", 8443),)
    assert diff.newly_denied == ()


def test_a_rule_opening_another_customer_is_visible_as_a_cross_customer_flow():
    bad = VlanPolicy(110, "acme", A.subnet, A.allows + (Allow(30, "ip", B.subnet),))
    acls = {110: bad.acl(), 120: B.acl()}
    leaks = cross_customer_flows(VLANS, OWNERS, acls)
    assert leaks and all(f.src_vlan == 110 and f.dst == "vlan 120" for f in leaks)
    diff = differential(VLANS, {110: A.acl(), 120: B.acl()}, acls)
    assert {f.dst for f in diff.newly_permitted} == {"vlan 120"}


def test_a_vlan_without_an_acl_reaches_everything():
    m = matrix(VLANS, {110: A.acl()})
    assert m[Flow(120, "vlan 110", "tcp", UNNAMED_PORT)]


# --- approvals ----------------------------------------------------------------------------------

NOW = dt.datetime(2026, 11, 25, 12, 0, tzinfo=dt.timezone.utc)
LATER = "2026-11-26T12:00:00Z"
COMMANDS = {"sw-core": change_commands("cisco_ios", {}, {110: A.acl()}),
            "sw-floor": change_commands("huawei", {}, {110: A.acl()})}


@pytest.fixture(scope="module")
def keys():
    return {c: Ed25519PrivateKey.generate() for c in ("acme", "borealis")}


def registered(keys):
    return {c: public_key_text(k.public_key()) for c, k in keys.items()}


def test_a_valid_approval_passes(keys):
    approval = sign(keys["acme"], "chg-1", "acme", COMMANDS, LATER)
    verify_change("chg-1", COMMANDS, {"acme"}, [approval], registered(keys), NOW)


def refusal(keys, approvals, commands=COMMANDS, needed=frozenset({"acme"}), now=NOW, used=frozenset()):
    with pytest.raises(ApprovalError) as info:
        verify_change("chg-1", commands, set(needed), approvals, registered(keys), now, used)
    return info.value.reason


def test_every_way_to_cheat_is_refused(keys):
    good = sign(keys["acme"], "chg-1", "acme", COMMANDS, LATER)
    altered = {**COMMANDS, "sw-core": COMMANDS["sw-core"][:-2] + [" ip access-group SG-V110 out", "exit"]}
    assert refusal(keys, [good], commands=altered) == "bad_signature"
    extra_device = {**COMMANDS, "sw-lab": ["no ip access-list extended SG-V110"]}
    assert refusal(keys, [good], commands=extra_device) == "bad_signature"
    assert refusal(keys, [good], used={"chg-1"}) == "replayed"
    assert refusal(keys, [good], now=NOW + dt.timedelta(days=2)) == "expired"
    other_change = sign(keys["acme"], "chg-0", "acme", COMMANDS, LATER)
    assert refusal(keys, [other_change]) == "wrong_change"
    foreign = sign(keys["borealis"], "chg-1", "borealis", COMMANDS, LATER)
    assert refusal(keys, [foreign]) == "foreign_customer"
    # borealis signs in acme's name: the signature does not verify under acme's key
    forged = sign(keys["borealis"], "chg-1", "acme", COMMANDS, LATER)
    assert refusal(keys, [forged]) == "bad_signature"
    # a later expiry than the one signed
    stretched = Approval(good.change_id, good.customer, "2027-01-01T00:00:00Z", good.signature)
    assert refusal(keys, [stretched]) == "bad_signature"
    assert refusal(keys, []) == "not_approved"
    assert refusal(keys, [good], needed={"acme", "borealis"}) == "not_approved"


def test_digest_depends_on_every_part():
    base = digest("chg-1", "acme", COMMANDS, LATER)
    assert digest("chg-2", "acme", COMMANDS, LATER) != base
    assert digest("chg-1", "borealis", COMMANDS, LATER) != base
    assert digest("chg-1", "acme", COMMANDS, "2026-11-26T12:00:01Z") != base
    assert digest("chg-1", "acme", {"sw-core": COMMANDS["sw-core"]}, LATER) != base
    assert digest("chg-1", "acme", dict(reversed(list(COMMANDS.items()))), LATER) == base
