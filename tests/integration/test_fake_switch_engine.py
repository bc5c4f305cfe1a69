"""The apply engine against a switch it did not write: internap's fake-switches Cisco simulator
(its own virtualenv, .venv-fakeswitches, made by scripts/setup.sh). Its login lands at the user
prompt ``>``, enable takes an empty secret, and it implements no ``ip access-list`` (it takes the
line without a word), no ``end`` and no ``show ip access-lists``: the engine must enter enable
mode, report the line the switch did not take, leave the switch exactly as it was, and never take
a refused read for a configuration."""
from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

import pytest
from netmiko import ConnectHandler

from network_policy.acl import Acl, network
from network_policy.apply import DeviceError, DevicePlan, apply_change, drift, plan_for
from network_policy.intent import Service, VlanPolicy, default_allows
from network_policy.netmiko_device import NetmikoDevice, SwitchAccess
from network_policy.parse import ParseError
from tests.conftest import wait_for_port

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
FAKE_SWITCHES = Path(os.environ.get("SITEGUARD_FAKE_SWITCHES", ROOT / ".venv-fakeswitches/bin/fake-switches"))
SERVICES = [Service("platform", network("10.0.0.10"), "tcp", (443,))]
BASE = {110: VlanPolicy(110, "acme", network("10.110.0.0/24"), default_allows(SERVICES)).acl()}
USER, PASSWORD = "admin", "fake-pw"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def fake_switch(tmp_path):
    """A fresh fake-switches Cisco switch on a free loopback port: (host, port)."""
    if not FAKE_SWITCHES.exists():
        reason = f"fake-switches is not installed at {FAKE_SWITCHES} (run scripts/setup.sh)"
        if os.environ.get("SITEGUARD_REQUIRE_LAB") == "1":
            pytest.fail(f"required (SITEGUARD_REQUIRE_LAB=1): {reason}")
        pytest.skip(reason)
    port = _free_port()
    log = (tmp_path / "fake-switches.log").open("w")
    proc = subprocess.Popen([str(FAKE_SWITCHES), "--model", "cisco_generic", "--hostname", "fake-sw",
                             "--username", USER, "--password", PASSWORD, "--listen-host", "127.0.0.1",
                             "--listen-port", str(port)], stdout=log, stderr=subprocess.STDOUT)
    try:
        try:  # ready once it accepts connections
            wait_for_port(port, proc=proc, what="fake-switches")
        except AssertionError:
            pytest.fail(f"fake-switches did not start: {(tmp_path / 'fake-switches.log').read_text()[-2000:]}")
        yield "127.0.0.1", port
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()


def access(sw, secret: str = "") -> SwitchAccess:
    return SwitchAccess(sw[0], sw[1], USER, PASSWORD, "cisco_ios", timeout=10, secret=secret)


def raw_session(sw, enable: bool = True):
    """A plain Netmiko session, none of the engine's checks: the test's own eyes on the switch."""
    conn = ConnectHandler(device_type="cisco_ios", host=sw[0], port=sw[1], username=USER, password=PASSWORD,
                          secret="")
    if enable:
        conn.enable()
    return conn


def running(sw) -> str:
    conn = raw_session(sw)
    try:
        text = conn.send_command("show running-config")
    finally:
        conn.disconnect()
    assert "hostname fake-sw" in text, text
    return text


def test_the_engine_enters_enable_mode_and_reads_the_configuration(fake_switch):
    plain = raw_session(fake_switch, enable=False)
    try:
        assert plain.find_prompt() == "fake-sw>"  # where the login lands
    finally:
        plain.disconnect()
    dev = NetmikoDevice(access(fake_switch))
    try:
        text, listing = dev.read_config()
    finally:
        dev.close()
    assert "hostname fake-sw" in text and text.rstrip().endswith("end")
    assert drift("cisco_ios", {}, text, listing) == ({}, [])
    # A secret the switch refuses is the engine's own error, not Netmiko's ValueError.
    with pytest.raises(DeviceError, match="enable"):
        NetmikoDevice(access(fake_switch, secret="not-the-secret"))


def test_an_unsupported_line_is_reported_and_the_switch_ends_as_it_was(fake_switch):
    before = running(fake_switch)
    plan = plan_for("fake-sw", "cisco_ios", {}, BASE)
    [r] = apply_change([plan], lambda _: NetmikoDevice(access(fake_switch)))
    assert r.status == "rolled_back", r
    # The device and the line it did not take are named; nothing after it was sent.
    assert f"{fake_switch[0]}:{fake_switch[1]}" in r.error
    assert "the device refused 'ip access-list extended SG-V110'" in r.error, r.error
    assert r.sent == ["ip access-list extended SG-V110"]
    assert running(fake_switch) == before
    # Run again: the switch has not changed, and the engine does not claim it has.
    [again] = apply_change([plan], lambda _: NetmikoDevice(access(fake_switch)))
    assert again.status == "rolled_back" and "changed since" not in again.error
    assert "the device refused 'ip access-list extended SG-V110'" in again.error
    assert running(fake_switch) == before


def test_a_rollback_in_a_fresh_session_undoes_what_the_switch_took(fake_switch):
    # The site's SVI, there before SiteGuard.
    conn = raw_session(fake_switch)
    conn.write_channel("configure terminal\ninterface Vlan110\nexit\nexit\n")
    conn.read_until_pattern(r"fake-sw#\s*$", read_timeout=10)
    conn.disconnect()
    before = running(fake_switch)
    # A change whose first lines the switch takes (binding the ACL) and whose later one it does not.
    lines = ("interface Vlan110", " ip access-group SG-V110 in", "exit", "ip access-list extended SG-V110",
             " 10 permit ip any any", "exit")
    plan = DevicePlan("fake-sw", "cisco_ios", {}, {110: Acl(110, BASE[110].entries)}, lines)
    [r] = apply_change([plan], lambda _: NetmikoDevice(access(fake_switch)))
    assert r.sent == list(lines[:4])
    assert r.rollback == ["interface Vlan110", "no ip access-group SG-V110 in", "exit",
                          "no ip access-list extended SG-V110"]
    assert r.status == "rolled_back", r
    assert running(fake_switch) == before


def test_an_unreadable_switch_is_an_error_for_drift_and_gets_no_line(fake_switch):
    # A session that never entered enable mode: the switch answers "No such command" to the read.
    conn = raw_session(fake_switch, enable=False)
    try:
        text = conn.send_command("show running-config")
        listing = conn.send_command("show ip access-lists")
    finally:
        conn.disconnect()
    assert "No such command" in text
    with pytest.raises(ParseError, match="refused"):
        drift("cisco_ios", BASE, text, listing)

    class AtUserPrompt:
        """What the engine used to do: read at ``>`` and believe the answer."""
        vendor = "cisco_ios"

        def __init__(self):
            self.conn, self.received = raw_session(fake_switch, enable=False), []

        def read_config(self):
            return self.conn.send_command("show running-config"), self.conn.send_command("show ip access-lists")

        def send_config(self, lines, sent=None):
            self.received += lines
            return ""

        def save(self):
            pass

        def close(self):
            self.conn.disconnect()

    dev = AtUserPrompt()
    [r] = apply_change([plan_for("fake-sw", "cisco_ios", {}, BASE)], lambda _: dev)
    assert r.status == "failed" and "No such command" in r.error
    assert dev.received == [] and r.sent == [] and r.backup == ""
