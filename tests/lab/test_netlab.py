"""Customer VLAN isolation with real packets: simulators.netlab in network namespaces."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.lab.conftest import cannot_run, lab_blocker

from simulators.netlab import Host, Lab, LabError, RulesetError, Segment
from simulators.netlab import nsexec, topology

pytestmark = pytest.mark.lab

ROOT = Path(__file__).resolve().parents[2]
DEMO_SITE = ROOT / "simulators" / "sites" / "demo.yaml"
NO = 0.3  # timeout for probes expected to fail: a dropped packet costs exactly this
PORT = 443


def _why_not() -> str | None:
    return lab_blocker()


needs_root = pytest.mark.usefixtures("lab_required")


def _prefix(letter: str) -> str:
    return f"{letter}{os.getpid() % 100000:05d}"  # unique per test process, 6 characters


def demo_lab(prefix: str) -> Lab:
    return Lab(prefix=prefix,
               segments=[Segment(name="v110", gateway="10.110.0.1/24"),
                         Segment(name="v120", gateway="10.120.0.1/24"),
                         Segment(name="v100", gateway="10.0.0.1/24")],
               hosts=[Host(name="a1", segment="v110", address="10.110.0.11/24"),
                      Host(name="a2", segment="v110", address="10.110.0.12/24"),
                      Host(name="b1", segment="v120", address="10.120.0.11/24"),
                      Host(name="plat", segment="v100", address="10.0.0.10/24")])


def leftovers(prefix: str) -> list[str]:
    """Namespaces and root-namespace links carrying the prefix."""
    ns = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
    return [line for line in (ns + links).splitlines() if f"{prefix}-" in line]


@pytest.fixture(scope="module")
def lab():
    if _why_not():
        cannot_run(_why_not())
    lab = demo_lab(_prefix("t"))
    try:
        lab.up()
    except LabError as exc:
        cannot_run(f"cannot build namespaces here: {exc}")
    for host in lab.hosts:
        lab.listen(host, PORT)
    yield lab
    lab.down()


@pytest.fixture
def clean(lab):
    """Each test starts and ends with no ruleset: plain routing."""
    lab.clear_ruleset()
    yield lab
    lab.clear_ruleset()


def isolate_v110_from_v120(lab: Lab) -> str:
    return (f"table inet siteguard_sw {{\n"
            f"\tchain forward {{\n"
            f"\t\ttype filter hook forward priority filter; policy accept;\n"
            f"\t\tiifname \"{lab.iface_of('v110')}\" ip daddr 10.120.0.0/24 counter drop\n"
            f"\t}}\n"
            f"}}\n")


def everything(lab: Lab) -> list[tuple]:
    names = list(lab.hosts)
    pairs = [(s, d) for s in names for d in names if s != d]
    return pairs + [(s, d, PORT) for s, d in pairs]


@needs_root
def test_without_a_ruleset_every_host_reaches_every_other(clean):
    result = clean.reachability(everything(clean), timeout=1.0)
    assert [p for p, ok in result.items() if not ok] == []
    assert clean.ping("a1", "10.110.0.1") and clean.ping("b1", "10.0.0.1")  # the SVIs answer


@needs_root
def test_bridge_netfilter_is_off_in_the_switch(clean):
    # The kernel defaults bridge-nf-call-iptables to 1 in new namespaces when br_netfilter is
    # loaded; the lab must turn it off, or same-VLAN frames would meet the routed ACLs.
    for key in ("net/bridge/bridge-nf-call-iptables", "net/bridge/bridge-nf-call-ip6tables"):
        assert nsexec.read_sysctl_in(clean.switch_ns, key) in (None, "0")
    assert nsexec.read_sysctl_in(clean.switch_ns, "net/ipv4/ip_forward") == "1"


@needs_root
def test_forward_drop_isolates_the_other_customer_only(clean):
    clean.load_ruleset(isolate_v110_from_v120(clean))
    result = clean.reachability([("a1", "b1"), ("a1", "b1", PORT), ("b1", "a1"),
                                 ("b1", "a1", PORT)], timeout=NO)
    assert not any(result.values()), result  # b1 -> a1 dies too: a1's replies are dropped
    result = clean.reachability([("a1", "plat"), ("a1", "plat", PORT), ("a1", "a2"),
                                 ("a1", "a2", PORT), ("b1", "plat")])
    assert all(result.values()), result


@needs_root
def test_same_segment_traffic_is_bridged_never_filtered(clean):
    # Drop *everything* the switch would route out of v110: a1 and a2 still talk, because
    # frames between them are switched inside the bridge and never reach the forward chain.
    v110 = clean.iface_of("v110")
    clean.load_ruleset("table inet siteguard_sw {\n"
                       "\tchain forward {\n"
                       "\t\ttype filter hook forward priority filter; policy accept;\n"
                       f"\t\tiifname \"{v110}\" counter drop\n"
                       f"\t\toifname \"{v110}\" counter drop\n"
                       "\t}\n}\n")
    assert clean.reachability([("a1", "a2"), ("a1", "a2", PORT), ("a2", "a1", PORT)]) == {
        ("a1", "a2"): True, ("a1", "a2", PORT): True, ("a2", "a1", PORT): True}
    assert not clean.ping("a1", "plat", timeout=NO)
    assert "packets 0 bytes 0" not in clean.ruleset().split("oifname")[0]  # the routed ping hit it


@needs_root
def test_loading_a_ruleset_replaces_the_previous_one(clean):
    clean.load_ruleset(isolate_v110_from_v120(clean))
    assert not clean.ping("a1", "b1", timeout=NO)
    clean.load_ruleset("table inet siteguard_sw {\n\tchain forward {\n"
                       "\t\ttype filter hook forward priority filter; policy accept;\n\t}\n}\n")
    assert clean.ping("a1", "b1") and clean.tcp_connect("a1", "b1", PORT)
    assert "drop" not in clean.ruleset()
    # A ruleset with a differently named table also replaces it: the whole ruleset is swapped.
    clean.load_ruleset(isolate_v110_from_v120(clean).replace("siteguard_sw", "other"))
    clean.load_ruleset("table ip permissive {\n}\n")
    assert "siteguard_sw" not in clean.ruleset() and "other" not in clean.ruleset()
    assert clean.ping("a1", "b1")


@needs_root
def test_a_malformed_ruleset_is_refused_and_the_previous_stays(clean):
    clean.load_ruleset(isolate_v110_from_v120(clean))
    bad = isolate_v110_from_v120(clean).replace("counter drop", "counter dorp")
    with pytest.raises(RulesetError) as err:
        clean.load_ruleset(bad)
    assert "Error" in str(err.value) and "dorp" in str(err.value)
    assert ":4:" in str(err.value)  # nft's position points at the caller's own line 4
    assert "counter packets" in clean.ruleset() and not clean.ping("a1", "b1", timeout=NO)
    assert clean.ping("a1", "plat")


@needs_root
def test_udp_echo_crosses_the_switch(lab):
    lab.listen("plat", 53, proto="udp")
    assert lab.udp_probe("a1", "plat", 53)
    assert not lab.udp_probe("a1", "plat", 54, timeout=NO)  # closed port


@needs_root
def test_two_labs_side_by_side_and_down_leaves_nothing(lab):
    other = Lab(_prefix("u"), [Segment("v110", "10.110.0.1/24"), Segment("v100", "10.0.0.1/24")],
                [Host("x1", "v110", "10.110.0.11/24"), Host("srv", "v100", "10.0.0.10/24")])
    with other:
        # Same addresses and segment names as the module's lab: the labs are disjoint worlds.
        assert other.iface_of("v110") != lab.iface_of("v110")
        other.listen("srv", PORT)
        assert other.ping("x1", "srv") and other.tcp_connect("x1", "srv", PORT)
        assert lab.ping("a1", "plat") and lab.ping("a1", "b1")
        assert leftovers(other.prefix)
    assert leftovers(other.prefix) == []
    other.down()  # again: nothing to do, no error
    assert leftovers(other.prefix) == []
    assert lab.ping("a1", "plat")


@needs_root
def test_up_sweeps_away_a_crashed_run_with_the_same_prefix(lab):
    from pyroute2 import netns
    prefix = _prefix("v")
    netns.create(f"{prefix}-h-ghost")  # what a run killed half-way would leave
    netns.create(f"{prefix}-sw")
    with Lab(prefix, [Segment("v1", "10.1.0.1/24")], [Host("h", "v1", "10.1.0.2/24")]) as small:
        assert topology.namespaces(prefix) == [f"{prefix}-h-h", f"{prefix}-sw"]
        assert small.ping("h", "10.1.0.1")
    assert leftovers(prefix) == []


@needs_root
def test_default_lab_from_the_demo_site(lab):
    site_lab = Lab.from_site(DEMO_SITE, _prefix("s"))
    assert sorted(site_lab.segments) == ["v100", "v110", "v120"]
    assert site_lab.customers == {"acme": ["ws110_1", "ws110_2"],
                                  "borealis": ["ws120_1", "ws120_2"]}
    assert site_lab.hosts["plat"].address == "10.0.0.10/24"
    assert site_lab.hosts["dns"].address == "10.0.0.53/24"
    with site_lab:
        assert site_lab.vlan_ifmap() == {110: site_lab.iface_of("v110"),
                                         120: site_lab.iface_of("v120"),
                                         100: site_lab.iface_of("v100")}
        result = site_lab.reachability([("ws110_1", "plat"), ("ws110_1", "ws120_2"),
                                        ("ws120_1", "dns"), ("ws110_1", "ws110_2")])
        assert all(result.values()), result
    assert leftovers(site_lab.prefix) == []


# --- no root needed: descriptions refused before anything is built --------------------------

@pytest.mark.parametrize("segments, hosts, message", [
    ([Segment("a", "10.1.0.1/24"), Segment("b", "10.1.0.129/25")], [], "overlaps"),
    ([Segment("a", "10.1.0.1/24")], [Host("h", "a", "10.2.0.5/24")], "is not in segment"),
    ([Segment("a", "10.1.0.1/24")], [Host("h", "b", "10.1.0.5/24")], "no segment named"),
    ([Segment("a", "10.1.0.1/24")], [Host("h", "a", "10.1.0.1/24")], "gateway"),
    ([Segment("a-b", "10.1.0.1/24")], [], "letters, digits"),
])
def test_inconsistent_descriptions_are_refused(segments, hosts, message):
    with pytest.raises(LabError, match=message):
        Lab("x", segments, hosts)


@pytest.mark.parametrize("prefix", ["", "Upper", "toolongprefix", "1abc", "a-b"])
def test_bad_prefixes_are_refused(prefix):
    with pytest.raises(LabError, match="prefix"):
        Lab(prefix, [], [])


def test_a_lab_that_is_not_up_says_so():
    with pytest.raises(LabError, match="not up"):
        demo_lab("x").iface_of("v110")


@needs_root
def test_a_lab_builds_on_a_thread_that_runs_an_event_loop():
    # Playwright's synchronous API, used by the browser tests in the same process, keeps an
    # asyncio loop running on the main thread; pyroute2 must not try to drive it.
    import asyncio

    def build_and_ping() -> bool:
        lab = Lab(prefix=_prefix("e"), segments=[Segment(name="v110", gateway="10.110.0.1/24")],
                  hosts=[Host(name="a1", segment="v110", address="10.110.0.11/24")])
        with lab:
            return lab.ping("a1", "10.110.0.1", count=1, timeout=1.0)

    async def inside_a_loop() -> bool:
        return build_and_ping()
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        assert asyncio.run(inside_a_loop())
    else:  # a loop already runs on this thread (the browser tests' one): that is the case itself
        assert build_and_ping()
