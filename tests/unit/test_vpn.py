"""Remote work over WireGuard, the pure parts: the site file's remote ranges, the rendered gateway
lines a customer signs, the edge's check of a peer change, and the gateway's status dump."""
from __future__ import annotations

import datetime as dt
import ipaddress
import json

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from edge_agent.store import EdgeStore
from edge_agent.vpn import CommandError, VpnService, check_peer_change, reach_of, underlay_of
from edge_agent.wire import payloads as P
from edge_agent.wire.kinds import AlarmKind, EventKind
from edge_agent.wire.site import SiteFileError, parse_site_text
from network_policy import vpn
from network_policy.approval import ApprovalError, sign
from tests.vpn_site import site_text, vpn_site, wg_keypair

NOW = dt.datetime(2026, 12, 5, 10, 0, tzinfo=dt.timezone.utc)
EXPIRES = "2026-12-05T12:00:00Z"
ACME, BOREALIS = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
GW_PRIVATE, GW_PUBLIC = wg_keypair()
_, PEER = wg_keypair()


def site(**kw):
    return vpn_site(ACME, BOREALIS, GW_PRIVATE, **kw)


def problems(text: str) -> list[str]:
    with pytest.raises(SiteFileError) as info:
        parse_site_text(text)
    return [f"{p.field}: {p.message}" for p in info.value.problems]


# --- the site file --------------------------------------------------------------------------------

def test_the_site_file_names_each_customers_remote_range_and_decision():
    s = site()
    assert s.customers[0].remote.range == ipaddress.IPv4Network("10.200.0.0/24")
    assert s.customers[0].remote.allowed is True and s.customers[1].remote.allowed is False
    assert s.network.vpn.interface == "sgwg0" and s.network.vpn.mtu == 1420
    assert GW_PRIVATE not in repr(s.network.vpn)


def test_a_remote_range_overlapping_a_vlan_is_refused_naming_the_field():
    text = site_text(ACME, BOREALIS, GW_PRIVATE).replace("range: 10.201.0.0/24", "range: 10.110.0.0/25")
    assert any(p.startswith("customers[1].remote.range: remote range 10.110.0.0/25 overlaps 10.110.0.0/24 of VLAN 110")
               for p in problems(text))


def test_remote_ranges_of_two_customers_must_not_overlap():
    text = site_text(ACME, BOREALIS, GW_PRIVATE).replace("range: 10.201.0.0/24", "range: 10.200.0.128/25")
    assert any(p.startswith("customers[1].remote.range:") and "acme's remote range" in p for p in problems(text))


def test_a_range_overlapping_the_platform_vlan_and_a_host_range_are_refused():
    text = site_text(ACME, BOREALIS, GW_PRIVATE).replace("range: 10.201.0.0/24", "range: 10.0.0.0/16")
    assert any(p.startswith("customers[1].remote.range:") and "platform VLAN 100" in p for p in problems(text))
    text = site_text(ACME, BOREALIS, GW_PRIVATE).replace("range: 10.201.0.0/24", "range: 10.201.0.5/24")
    assert any(p.startswith("customers[1].remote.range:") for p in problems(text))


def test_remote_work_allowed_needs_the_gateway_and_the_gateway_needs_a_key():
    text = site_text(ACME, BOREALIS, GW_PRIVATE)
    no_gateway = text[:text.index("  vpn:")]
    assert "customers[0].remote.allowed: remote work needs the site's VPN gateway (network.vpn)" in problems(no_gateway)
    no_key = "\n".join(ln for ln in text.splitlines() if "private_key" not in ln) + "\n"
    assert any(p.startswith("network.vpn.private_key:") for p in problems(no_key))


# --- rendering ------------------------------------------------------------------------------------

def peer(address="10.200.0.2", customer="acme", key=PEER):
    return vpn.Peer(key, ipaddress.IPv4Address(address), customer)


def test_a_peer_renders_to_one_wg_line_and_a_rule_that_reaches_only_its_vlans_and_the_platform():
    lines = vpn.add_lines("sgwg0", peer(), reach_of(site(), "acme"))
    assert lines == [
        f"wg set sgwg0 peer {PEER} allowed-ips 10.200.0.2/32",
        f'nft iifname "sgwg0" ip saddr 10.200.0.2 ip daddr {{ 10.0.0.10, 10.110.0.0/24 }} counter accept '
        f'comment "acme {PEER}"']
    assert vpn.remove_lines("sgwg0", peer(), reach_of(site(), "acme"))[0] == f"wg set sgwg0 peer {PEER} remove"


def test_rendering_is_deterministic_and_the_ruleset_holds_the_signed_rules_in_address_order():
    reach = reach_of(site(), "acme")
    _, other = wg_keypair()
    a, b = peer("10.200.0.9"), peer("10.200.0.3", key=other)
    rules = {p.address: [ln.removeprefix("nft ") for ln in vpn.add_lines("sgwg0", p, reach)[1:]] for p in (a, b)}
    one = vpn.ruleset("sgwg0", list(rules.items()))
    assert one == vpn.ruleset("sgwg0", list(reversed(rules.items())))
    assert one.index("10.200.0.3") < one.index("10.200.0.9")
    assert one.splitlines()[:2] == ["table inet siteguard_vpn", "delete table inet siteguard_vpn"]
    assert 'iifname "sgwg0" counter drop' in one and 'oifname "sgwg0" counter drop' in one


@pytest.mark.parametrize("address, reason", [("10.201.0.2", "outside_range"), ("10.200.0.0", "outside_range"),
                                             ("10.200.0.255", "outside_range"), ("10.110.0.5", "outside_range")])
def test_a_peer_outside_its_customers_range_is_not_rendered(address, reason):
    with pytest.raises(vpn.PeerError) as info:
        vpn.add_lines("sgwg0", peer(address), reach_of(site(), "acme"))
    assert info.value.reason == reason


def test_a_customer_that_denies_remote_work_gets_no_peer_and_a_bad_key_is_refused():
    with pytest.raises(vpn.PeerError, match="remote_denied"):
        vpn.add_lines("sgwg0", peer("10.201.0.2", "borealis"), reach_of(site(), "borealis"))
    with pytest.raises(vpn.PeerError, match="bad_key"):
        vpn.add_lines("sgwg0", peer(key="not-a-key"), reach_of(site(), "acme"))


# --- the edge's check -----------------------------------------------------------------------------

def change(change_id="p1", action="add", p=None, signer=ACME, customer="acme", lines=None, s=None):
    s = s or site()
    p = p or peer()
    reach = reach_of(s, p.customer)
    rendered = (vpn.add_lines if action == "add" else vpn.remove_lines)("sgwg0", p, reach)
    lines = rendered if lines is None else lines
    approval = sign(signer, change_id, customer, {vpn.device_name("sgwg0"): lines}, EXPIRES)
    return {"change": change_id, "action": action, "lines": lines, "approvals": [approval.__dict__],
            "peer": {"public_key": p.public_key, "address": str(p.address), "customer": p.customer}}


def refusal(payload, active=None, used=()):
    with pytest.raises(ApprovalError) as info:
        check_peer_change(payload, site(), active or {}, set(used), NOW)
    return info.value.reason


def test_a_change_signed_by_its_customer_over_exactly_these_lines_passes():
    action, p, lines = check_peer_change(change(), site(), {}, set(), NOW)
    assert (action, p, lines[0]) == ("add", peer(), f"wg set sgwg0 peer {PEER} allowed-ips 10.200.0.2/32")


def test_the_edge_refuses_a_peer_change_without_the_customers_valid_signature():
    assert refusal(change(signer=BOREALIS)) == "bad_signature"
    assert refusal(change(signer=ACME, customer="borealis")) == "foreign_customer"
    unsigned = change()
    unsigned["approvals"] = []
    assert refusal(unsigned) == "not_approved"
    assert refusal(change(), used={"p1"}) == "replayed"


def test_the_edge_refuses_lines_other_than_what_it_renders_from_its_own_site_file():
    wider = vpn.add_lines("sgwg0", peer(), reach_of(site(), "acme"))
    wider[1] = wider[1].replace("10.110.0.0/24", "10.110.0.0/24, 10.120.0.0/24")
    assert refusal(change(lines=wider)) == "commands_mismatch"  # signed, but not what the edge renders


def test_the_edge_refuses_a_denied_customer_an_address_in_use_and_an_unknown_removal():
    other = {"x": {"address": "10.200.0.2", "customer": "acme"}}
    assert refusal(change(), active=other) == "address_in_use"
    denied = site(acme_allowed=False)
    with pytest.raises(ApprovalError) as info:
        check_peer_change(change(), denied, {}, set(), NOW)
    assert info.value.reason == "remote_denied"
    assert refusal(change(action="remove")) == "unknown_peer"


class FakeGateway:
    def __init__(self):
        self.calls = []

    def start(self):
        self.calls.append("start")

    def running(self):
        return True

    def stop(self):
        pass

    def set_peer(self, argv):
        self.calls.append(" ".join(argv))

    def remove_peer(self, key):
        self.calls.append(f"remove {key}")

    def load_ruleset(self, text):
        self.calls.append("nft")

    def dump(self):
        return f"priv\t{GW_PUBLIC}\t51820\toff\n"


def test_the_service_runs_nothing_for_a_refused_change_and_records_why(tmp_path):
    store = EdgeStore(tmp_path / "edge.db")
    gw = FakeGateway()
    svc = VpnService(site(), store, gw, clock=lambda: NOW)
    with pytest.raises(ApprovalError):
        svc.submit(change(signer=BOREALIS))
    assert gw.calls == [] and svc.peers() == {}
    kinds = [r[0] for r in store._db.execute("SELECT kind FROM outbox")]
    assert kinds == [EventKind.VPN_PEER_REFUSED]


def test_the_service_applies_filter_before_peer_and_revokes_without_a_signature(tmp_path):
    store = EdgeStore(tmp_path / "edge.db")
    gw = FakeGateway()
    svc = VpnService(site(), store, gw, clock=lambda: NOW)
    svc.submit(change())
    assert gw.calls == ["nft", f"wg set sgwg0 peer {PEER} allowed-ips 10.200.0.2/32"]
    assert "10.200.0.2" in svc.ruleset_text()
    assert svc.status(now=0)[0]["down"] is True  # never shook hands
    gw.calls.clear()
    svc.revoke(PEER, officer="p-001", reason="laptop lost")
    assert gw.calls == ["nft", f"remove {PEER}"] and svc.peers() == {}
    assert "10.200.0.2" not in svc.ruleset_text()
    kinds = [r[0] for r in store._db.execute("SELECT kind FROM outbox")]
    assert kinds == [EventKind.VPN_PEER_APPLIED, EventKind.VPN_PEER_REVOKED]


# --- key rotation ---------------------------------------------------------------------------------

_, NEW = wg_keypair()


def rotation(change_id="r1", old=PEER, new=NEW, address="10.200.0.2", signer=ACME, lines=None):
    reach = reach_of(site(), "acme")
    rendered = vpn.rotate_lines("sgwg0", peer(address, key=old), peer(address, key=new), reach)
    lines = rendered if lines is None else lines
    approval = sign(signer, change_id, "acme", {vpn.device_name("sgwg0"): lines}, EXPIRES)
    return {"change": change_id, "action": "rotate", "replaces": old, "lines": lines,
            "approvals": [approval.__dict__],
            "peer": {"public_key": new, "address": address, "customer": "acme"}}


ACTIVE = {PEER: {"address": "10.200.0.2", "customer": "acme"}}


def test_a_rotation_is_signed_as_the_new_keys_lines_then_the_old_keys_removal():
    reach = reach_of(site(), "acme")
    lines = vpn.rotate_lines("sgwg0", peer(), peer(key=NEW), reach)
    assert lines == [*vpn.add_lines("sgwg0", peer(key=NEW), reach), *vpn.remove_lines("sgwg0", peer(), reach)]
    assert lines[0] == f"wg set sgwg0 peer {NEW} allowed-ips 10.200.0.2/32"
    with pytest.raises(vpn.PeerError, match="not_same_peer"):
        vpn.rotate_lines("sgwg0", peer(), peer("10.200.0.3", key=NEW), reach)
    with pytest.raises(vpn.PeerError, match="same_key"):
        vpn.rotate_lines("sgwg0", peer(), peer(), reach)
    action, p, checked = check_peer_change(rotation(), site(), ACTIVE, set(), NOW)
    assert (action, p.public_key, checked) == ("rotate", NEW, lines)


def test_the_edge_refuses_a_rotation_of_a_key_it_does_not_hold_there_or_onto_a_key_in_use():
    assert refusal(rotation()) == "unknown_peer"  # no active peer to replace
    assert refusal(rotation(), active={PEER: {"address": "10.200.0.7", "customer": "acme"}}) == "unknown_peer"
    both = {**ACTIVE, NEW: {"address": "10.200.0.9", "customer": "acme"}}
    assert refusal(rotation(), active=both) == "key_in_use"
    assert refusal(rotation(signer=BOREALIS), active=ACTIVE) == "bad_signature"
    wider = vpn.rotate_lines("sgwg0", peer(), peer(key=NEW), reach_of(site(), "acme"))[:2]  # old key left in
    assert refusal(rotation(lines=wider), active=ACTIVE) == "commands_mismatch"


def test_the_service_moves_the_address_to_the_new_key_in_one_step_and_records_both_halves(tmp_path):
    store = EdgeStore(tmp_path / "edge.db")
    gw = FakeGateway()
    svc = VpnService(site(), store, gw, clock=lambda: NOW)
    svc.submit(change())
    gw.calls.clear()
    svc.submit(rotation())
    assert gw.calls == ["nft", f"wg set sgwg0 peer {NEW} allowed-ips 10.200.0.2/32", f"remove {PEER}"]
    assert list(svc.peers()) == [NEW] and f"acme {NEW}" in svc.ruleset_text() and PEER not in svc.ruleset_text()
    rows = [(r[0], r[1]) for r in store._db.execute("SELECT kind, data FROM outbox")]
    assert [k for k, _ in rows] == [EventKind.VPN_PEER_APPLIED] * 3
    halves = [(b["action"], b["public_key"], b["change"]) for b in (json.loads(body) for _, body in rows[1:])]
    assert halves == [("add", NEW, "r1"), ("remove", PEER, "r1")]


# --- the tunnel's MTU -----------------------------------------------------------------------------

def test_the_tunnel_mtu_is_the_underlays_less_wireguards_overhead():
    assert vpn.tunnel_mtu(1500) == 1420 and vpn.tunnel_mtu(1500, ipv4_only=True) == 1440
    assert vpn.tunnel_mtu(1400) == 1320
    assert vpn.mtu_problem(1420, "eth0", 1500) is None and vpn.mtu_problem(1320, "eth0", 1400) is None
    assert vpn.mtu_problem(1340, "eth0", 1400, ipv4_only=True) is None
    problem = vpn.mtu_problem(1420, "eth0", 1400)
    assert problem is not None and "eth0 (MTU 1400)" in problem and "at most 1320" in problem
    assert vpn.mtu_problem(1321, "eth0", 1400) is not None


def test_the_underlay_is_the_default_routes_interface_else_the_smallest_other_up_one():
    links = [{"ifname": "lo", "mtu": 65536, "flags": ["LOOPBACK", "UP"]},
             {"ifname": "eth0", "mtu": 1500, "flags": ["UP"]}, {"ifname": "wan", "mtu": 1400, "flags": ["UP"]},
             {"ifname": "sgwg0", "mtu": 1280, "flags": ["UP"]}]
    assert underlay_of(links, "eth0", "sgwg0") == ("eth0", 1500)
    assert underlay_of(links, None, "sgwg0") == ("wan", 1400)  # never the tunnel itself nor loopback
    with pytest.raises(CommandError):
        underlay_of(links[:1], None, "sgwg0")


# --- status ---------------------------------------------------------------------------------------

def test_the_dump_gives_endpoint_handshake_and_bytes_and_an_old_handshake_is_down():
    dump = (f"priv\t{GW_PUBLIC}\t51820\toff\n"
            f"{PEER}\t(none)\t192.0.2.10:40000\t10.200.0.2/32\t1000\t2048\t4096\t25\n"
            f"{GW_PUBLIC}\t(none)\t(none)\t10.200.0.3/32\t0\t0\t0\toff\n")
    iface, peers = vpn.parse_dump(dump)
    assert iface["listen_port"] == "51820"
    a, b = peers
    assert (a.endpoint, a.rx_bytes, a.tx_bytes, a.keepalive_s) == ("192.0.2.10:40000", 2048, 4096, 25)
    assert a.handshake_age(1100) == 100 and not a.down(1100) and a.down(1181)
    assert b.endpoint is None and b.handshake_age(5) is None and not b.down(5) and b.down(5, expect_keepalive=True)


class DumpingGateway(FakeGateway):
    """The gateway's `wg show dump` with a chosen last handshake for the peer: the 180 s
    threshold is a wall-clock rule, so the dump stands in for a real wireguard-go here (the lab
    tests read real dumps)."""

    def __init__(self):
        super().__init__()
        self.handshake = 0

    def dump(self):
        return (f"priv\t{GW_PUBLIC}\t51820\toff\n"
                f"{PEER}\t(none)\t192.0.2.7:40000\t10.200.0.2/32\t{self.handshake}\t100\t200\toff\n")


def test_a_silent_peer_raises_the_down_alarm_once_and_clears_it_when_back_or_gone(tmp_path):
    store = EdgeStore(tmp_path / "edge.db")
    gw = DumpingGateway()
    svc = VpnService(site(), store, gw, clock=lambda: NOW)
    svc.submit(change())
    assert svc.check_health(now=1000.0) == []  # never connected: not set up yet, no alarm
    gw.handshake = 1000
    assert svc.check_health(now=1000.0 + vpn.DOWN_AFTER_S) == []  # exactly at the threshold: still up
    assert svc.check_health(now=1000.0 + vpn.DOWN_AFTER_S + 1) == ["10.200.0.2"]
    assert svc.check_health(now=1000.0 + vpn.DOWN_AFTER_S + 60) == ["10.200.0.2"]  # raised once
    assert store.alarm_active(AlarmKind.VPN_PEER_DOWN, "vpn:10.200.0.2")
    gw.handshake = 1500
    assert svc.check_health(now=1510.0) == []
    assert not store.alarm_active(AlarmKind.VPN_PEER_DOWN, "vpn:10.200.0.2")
    svc.check_health(now=1500.0 + vpn.DOWN_AFTER_S + 1)
    svc.revoke(PEER, officer="p-001", reason="laptop lost")  # a peer gone is no longer down
    assert not store.alarm_active(AlarmKind.VPN_PEER_DOWN, "vpn:10.200.0.2")
    kinds = [r[0] for r in store._db.execute("SELECT kind FROM outbox")]
    assert kinds.count(AlarmKind.VPN_PEER_DOWN.event) == 4  # raised, cleared, raised, cleared


def test_the_kernel_module_is_used_where_loaded_with_the_same_configuration_lines(tmp_path):
    """This kernel has no WireGuard module, so the kernel driver's lines are recorded here rather
    than run; they differ from wireguard-go's only in how the interface comes to exist."""
    from edge_agent.vpn import KernelWireguard, WireguardGo, make_gateway

    conf = site().network.vpn
    routes = [ipaddress.IPv4Network("10.200.0.0/24")]
    assert type(make_gateway(conf, GW_PRIVATE, routes, kernel_module=tmp_path / "absent")) is WireguardGo
    (tmp_path / "wireguard").mkdir()
    assert type(make_gateway(conf, GW_PRIVATE, routes, kernel_module=tmp_path / "wireguard")) is KernelWireguard

    class Recording(KernelWireguard):
        def __init__(self, *a, **kw):
            super().__init__(*a, **kw)
            self.lines, self.link = [], True  # a leftover interface from a crash

        def underlay(self):
            return "eth0", 1500

        def _exists(self):
            return self.link

        def _run(self, argv, stdin=None):
            self.lines.append(" ".join(a if not a.startswith("/tmp") else "<keyfile>" for a in argv))
            self.link = argv[:3] != ["ip", "link", "del"] and (self.link or argv[:3] == ["ip", "link", "add"])
            return ""

    gw = Recording(conf, GW_PRIVATE, routes)
    gw.start()
    assert gw.lines == ["ip link del dev sgwg0", "ip link add dev sgwg0 type wireguard",
                        "wg set sgwg0 listen-port 51820 private-key <keyfile>",
                        "ip link set dev sgwg0 mtu 1420 up", "ip route replace 10.200.0.0/24 dev sgwg0"]
    assert gw.running()
    gw.stop()
    assert gw.lines[-1] == "ip link del dev sgwg0" and not gw.running()


def test_revoking_a_peer_the_gateway_does_not_hold_is_answered_and_changes_nothing(tmp_path):
    """A revocation sent again (the first one's answer was lost) finds the peer gone already."""
    store = EdgeStore(tmp_path / "edge.db")
    gw = FakeGateway()
    svc = VpnService(site(), store, gw, clock=lambda: NOW)
    assert svc.revoke(PEER, officer="p-001", reason="laptop lost") is None
    assert gw.calls == [] and [r for r in store._db.execute("SELECT kind FROM outbox")] == []
    result = P.VpnRevokeResult.of(PEER, None)
    assert (result.seconds, result.held) == (0.0, False)
    assert P.VpnRevokeResult.of(PEER, 0.02).held is True
