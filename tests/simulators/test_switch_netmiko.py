"""The switch simulator over real SSH, driven by netmiko's own drivers, unchanged."""
from __future__ import annotations

import re
import time

import paramiko
import pytest
from netmiko import ConnectHandler
from netmiko.exceptions import (ConfigInvalidException, NetmikoAuthenticationException,
                                NetmikoBaseException)

from simulators.switch import SwitchSimulator, SwitchSpec

ERRORS = r"% Invalid|% Incomplete|% Ambiguous|Error:"


@pytest.fixture(scope="module")
def ios_switch():
    sw = SwitchSimulator(SwitchSpec.make("sw-ios", "cisco_ios", ports=8, port=0,
                                         password="s3cret"))
    sw.start()
    yield sw
    sw.stop()


@pytest.fixture
def ios(ios_switch):
    """The module's IOS switch, factory-fresh, with no faults and an empty log."""
    assert ios_switch.wait_idle(), "a session of the previous test is still open"
    ios_switch.faults.set("clear", {})
    ios_switch.set_running("", save=True)
    ios_switch.clear_log()
    return ios_switch


def connect(sw, **kw):
    return ConnectHandler(**sw.netmiko_params(), **kw)


IOS_CHANGE = ["vlan 110", "name acme-annotation", "interface Vlan110",
              "ip address 10.110.0.1 255.255.255.0", "ip access-group ACME-IN in",
              "ip access-list extended ACME-IN", "permit ip 10.110.0.0 0.0.0.255 any",
              "deny ip any any", "interface GigabitEthernet0/1", "switchport mode access",
              "switchport access vlan 110"]


def test_ios_change_cycle(ios):
    conn = connect(ios)
    try:
        before = conn.send_command("show running-config")
        assert before.startswith("Building configuration...")
        assert "hostname Switch" in before and "vlan 110" not in before
        out = conn.send_config_set(IOS_CHANGE, error_pattern=ERRORS)
        assert "Switch(config-ext-nacl)#deny ip any any" in out
        after = conn.send_command("show running-config")
        for block in ["vlan 110\n name acme-annotation\n!",
                      "interface GigabitEthernet0/1\n switchport access vlan 110\n"
                      " switchport mode access\n!",
                      "interface Vlan110\n ip address 10.110.0.1 255.255.255.0\n"
                      " ip access-group ACME-IN in\n!",
                      "ip access-list extended ACME-IN\n permit ip 10.110.0.0 0.0.0.255 any\n"
                      " deny   ip any any\n!"]:
            assert block in after
        assert "ACME-IN" not in conn.send_command("show startup-config")
        saved = conn.save_config()
        assert "Building configuration...\n[OK]" in saved
        startup = conn.send_command("show startup-config")
        assert "ip access-list extended ACME-IN" in startup and "vlan 110" in startup
        assert "    10 permit ip 10.110.0.0 0.0.0.255 any" in conn.send_command(
            "show access-lists ACME-IN")
        assert "110  acme-annotation                  active    Gi0/1" in conn.send_command(
            "show vlan brief")
    finally:
        conn.disconnect()
    lines = ios.lines()
    assert lines[:3] == ["terminal width 511", "terminal length 0", "show running-config"]
    assert lines[3:5 + len(IOS_CHANGE)] == ["configure terminal", *IOS_CHANGE, "end"]
    assert "write mem" in lines
    assert ios.saved.acls["ACME-IN"].rules == ios.running.acls["ACME-IN"].rules


@pytest.mark.parametrize("bad,error", [
    ("vlan abc", "% Invalid input detected at '^' marker."),
    ("interface", "% Incomplete command."),
    ("s", '% Ambiguous command:  "s"'),
    ("ip address 10.0.0.1 255.255.255.0", "% Invalid input detected at '^' marker."),
])
def test_ios_bad_command_raises_and_changes_nothing(ios, bad, error):
    conn = connect(ios)
    try:
        conn.send_config_set(["vlan 10"])
        before = ios.running.to_dict()
        with pytest.raises(ConfigInvalidException) as exc:
            conn.send_config_set([bad, "vlan 20"], error_pattern=ERRORS)
        assert bad in str(exc.value)
        assert ios.running.to_dict() == before
        assert ios.lines()[-1] == bad, "nothing after the refused line is sent"
        # Typed again by hand: the device's own words, as netmiko saw them.
        assert error in conn.send_command(bad, expect_string=r"\(config\)#")
        assert ios.running.to_dict() == before
    finally:
        conn.disconnect()


def test_ios_reject_fault(ios):
    ios.faults.set("reject", {"match": r"ip access-group"})
    conn = connect(ios)
    try:
        with pytest.raises(ConfigInvalidException):
            conn.send_config_set(["interface Vlan10", "ip access-group WEB in"],
                                 error_pattern=ERRORS)
    finally:
        conn.disconnect()
    svi = ios.running.interfaces["Vlan10"]
    assert svi.acl_in is None, "a rejected line is not applied"
    lines = ios.lines()
    at = lines.index("interface Vlan10")
    assert lines[at:at + 2] == ["interface Vlan10", "ip access-group WEB in"]
    assert "WEB" not in ios.running_config()


def test_ios_drop_after_leaves_earlier_lines_applied(ios):
    ios.faults.set("drop_after", {"lines": 3})
    conn = connect(ios)
    start = time.monotonic()
    try:
        with pytest.raises((NetmikoBaseException, OSError, EOFError)):
            conn.send_config_set(["vlan 10", "name ten", "vlan 20", "name twenty", "vlan 30"],
                                 read_timeout=2)
    finally:
        conn.disconnect()
    assert time.monotonic() - start < 10
    assert ios.lines() == ["terminal width 511", "terminal length 0", "configure terminal",
                           "vlan 10", "name ten", "vlan 20"]
    assert ios.running.vlans == {1: None, 10: "ten"}, "the dropping line is not applied"
    assert ios.faults.drops == 1 and ios.faults.drop_after is None
    conn = connect(ios)  # the change engine reconnects and finds the half-applied change
    try:
        assert "vlan 10\n name ten\n!" in conn.send_command("show running-config")
    finally:
        conn.disconnect()


def test_ios_slow_switch_still_works_with_longer_timeouts(ios):
    ios.faults.set("slow", {"seconds": 0.25})
    start = time.monotonic()
    conn = connect(ios)
    try:
        out = conn.send_config_set(["vlan 44", "name slow"], read_timeout=30)
        assert "Switch(config-vlan)#name slow" in out
        assert "44   slow" in conn.send_command("show vlan brief", read_timeout=30)
    finally:
        conn.disconnect()
    assert time.monotonic() - start > 0.25 * 8, "every reply waited"
    assert ios.running.vlans[44] == "slow"


def test_command_log_records_every_line_with_session_and_mode(ios):
    a, b = connect(ios), connect(ios)
    try:
        a.send_config_set(["vlan 5"])
        b.send_command("show vlan brief")
    finally:
        a.disconnect()
        b.disconnect()
    log = ios.command_log
    sessions = {e["session"] for e in log}
    assert len(sessions) == 2
    by_line = {e["line"]: e for e in log}
    # each line is logged under the session that sent it, whatever order the two interleave in
    assert by_line["vlan 5"]["session"] != by_line["show vlan brief"]["session"]
    assert {by_line["vlan 5"]["session"], by_line["show vlan brief"]["session"]} == sessions
    assert all(e["user"] == "admin" and e["switch"] == "sw-ios" and e["ts"] for e in log)
    assert (by_line["configure terminal"]["mode"], by_line["configure terminal"]["config"]) == (
        "exec", False)
    assert (by_line["vlan 5"]["mode"], by_line["vlan 5"]["config"]) == ("config", True)
    assert by_line["end"]["mode"] == "config-vlan"
    assert any(e["line"] == "" for e in log), "netmiko's bare returns are lines too"


def test_wrong_password_is_refused(ios):
    with pytest.raises(NetmikoAuthenticationException):
        ConnectHandler(**{**ios.netmiko_params(), "password": "wrong"})


def _read_until(chan, pattern: str, timeout: float = 5) -> str:
    buf, deadline = "", time.monotonic() + timeout
    while not re.search(pattern, buf):
        assert time.monotonic() < deadline, f"no {pattern!r} in {buf!r}"
        if chan.recv_ready():
            buf += chan.recv(4096).decode()
        else:
            time.sleep(0.01)  # paramiko's channel offers no wait for data: poll it
    return buf


def test_terminal_echo_crlf_backspace_and_ctrl_z(ios):
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    client.connect("127.0.0.1", ios.port, "admin", "s3cret", look_for_keys=False,
                   allow_agent=False)
    try:
        chan = client.invoke_shell()
        assert _read_until(chan, r"Switch#$").endswith("\r\nSwitch#")
        chan.send("conf tx\x7f\r\n")
        out = _read_until(chan, r"\(config\)#$")
        assert out == "conf tx\b \b\r\nEnter configuration commands, one per line.  End with " \
                      "CNTL/Z.\r\nSwitch(config)#"
        chan.send("vlan 9\r")
        assert _read_until(chan, r"vlan\)#$") == "vlan 9\r\nSwitch(config-vlan)#"
        chan.send("\x1a")
        assert _read_until(chan, r"Switch#$") == "^Z\r\nSwitch#"
        chan.send("exit\n")
        assert _read_until(chan, r"exit\r\n$") == "exit\r\n"
        deadline = time.monotonic() + 5
        while not chan.closed and not chan.exit_status_ready() and time.monotonic() < deadline:
            if chan.recv(100) == b"":
                break
    finally:
        client.close()
    assert ios.running.vlans.get(9) is None


# ---- Huawei VRP and H3C Comware ---------------------------------------------------------------

VRP_CHANGE = ["vlan batch 110", "vlan 110", "description acme", "interface Vlanif110",
              "ip address 10.110.0.1 255.255.255.0", "traffic-filter inbound acl 3001",
              "acl number 3001", "rule permit ip source 10.110.0.0 0.0.0.255", "rule deny ip",
              "interface GigabitEthernet0/0/1", "port link-type access", "port default vlan 110"]


@pytest.mark.slow  # netmiko's huawei driver waits 2 s of silence each time it checks the view
def test_huawei_change_cycle_and_bad_command():
    expected = SwitchSimulator(SwitchSpec.make("x", "huawei", ports=8))
    session = expected.new_session("admin")
    session.handle("system-view")
    for line in VRP_CHANGE:
        assert session.handle(line).lines == []
    sw = SwitchSimulator(SwitchSpec.make("sw-vrp", "huawei", ports=8, port=0))
    with sw:
        conn = connect(sw)
        try:
            before = conn.send_command("display current-configuration")
            assert "sysname HUAWEI" in before and "acl number 3001" not in before
            with pytest.raises(ConfigInvalidException, match="vlan abc"):
                conn.send_config_set([*VRP_CHANGE, "vlan abc", "vlan 999"], error_pattern=ERRORS)
            assert sw.running.to_dict() == expected.running.to_dict(), \
                "the lines before the refused one are applied, the refused one changes nothing"
            assert sw.lines()[-1] == "vlan abc"
            assert "Error: Wrong parameter found at '^' position." in conn.send_command(
                "vlan abc", expect_string=r"\]")
            conn.exit_config_mode()
            after = conn.send_command("display current-configuration")
            for block in ["#\nvlan 110\n description acme\n#",
                          "#\nacl number 3001\n rule 5 permit ip source 10.110.0.0 0.0.0.255\n"
                          " rule 10 deny ip\n#",
                          "#\ninterface Vlanif110\n ip address 10.110.0.1 255.255.255.0\n"
                          " traffic-filter inbound acl 3001\n#",
                          "#\ninterface GigabitEthernet0/0/1\n port link-type access\n"
                          " port default vlan 110\n#"]:
                assert block in after
            assert "acl number 3001" not in conn.send_command("display saved-configuration")
            saved = conn.save_config()
            assert "Are you sure to continue?[Y/N]y" in saved
            assert "Save the configuration successfully." in saved
            assert "acl number 3001" in conn.send_command("display saved-configuration")
        finally:
            conn.disconnect()
        assert sw.lines()[:3] == ["screen-length 0 temporary", "display current-configuration",
                                  "system-view"]
        lines = sw.lines()
        assert lines[lines.index("save") + 1] == "y"


@pytest.mark.slow  # the hp_comware driver reads each reply until 2 s of silence
def test_hp_comware_change_cycle():
    sw = SwitchSimulator(SwitchSpec.make("sw-h3c", "hp_comware", ports=4, port=0))
    with sw:
        conn = connect(sw)
        try:
            conn.send_config_set(["vlan 110", "name acme", "interface Vlan-interface110",
                                  "ip address 10.110.0.1 24", "packet-filter 3001 inbound",
                                  "acl advanced 3001", "rule permit ip", "return"])
            after = conn.send_command("display current-configuration")
            assert "#\nacl advanced 3001\n rule 0 permit ip\n#" in after
            assert "Saved the current configuration to mainboard device successfully." in \
                conn.save_config()
        finally:
            conn.disconnect()
        assert sw.saved.interfaces["Vlan-interface110"].acl_in == "3001"
        assert sw.lines()[0] == "screen-length disable"
