"""The switch simulator's pure parts: the grammar engine, both dialects' parsers and errors,
config rendering and reloading, faults, the site file view and the nftables export."""
from __future__ import annotations

import shutil
import subprocess

import pytest

from simulators.switch import SwitchSimulator, SwitchSpec
from simulators.switch.acl import AddrMatch
from simulators.switch.cli import (AMBIGUOUS, INCOMPLETE, TOO_MANY, UNRECOGNIZED, WRONG_PARAM,
                                   Grammar, Match, ParseFailure)
from simulators.switch.faults import Faults
from simulators.switch.nft import ruleset
from simulators.switch.site_view import fill_ports, load_switches
from simulators.switch.state import SwitchState
from tests.conftest import DEMO_SITE


def cli(vendor: str, ports: int = 4):
    """A switch (not listening) and one CLI session on it."""
    sw = SwitchSimulator(SwitchSpec.make("sw", vendor, ports=ports))
    return sw, sw.new_session("admin")


def run(session, *lines: str) -> list[str]:
    """Type lines; return everything printed, each command preceded by its prompt + echo."""
    out = []
    for line in lines:
        prompt = session.prompt()
        reply = session.handle(line)
        out += [prompt + line, *reply.lines]
    return out


def reply(session, line: str) -> list[str]:
    return session.handle(line).lines


# ---- grammar engine -----------------------------------------------------------------------

@pytest.fixture
def grammar():
    return (Grammar()
            .add("show running-config", "run")
            .add("show vlan [brief]", "vlan")
            .add("vlan <vid:int:1-4094>", "vlan_id")
            .add("shutdown", "shut")
            .add("switchport mode {access|trunk}", "mode")
            .add("description <text:line>", "desc"))


def test_keywords_abbreviate_to_any_unique_prefix(grammar):
    m = grammar.parse("sho run")
    assert isinstance(m, Match) and m.handler == "run" and m.words == ["show", "running-config"]
    assert grammar.parse("SHOW VLAN BR").handler == "vlan"
    assert grammar.parse("show vlan").handler == "vlan"
    m = grammar.parse("switchport mode tr")
    assert m.handler == "mode" and m.has("trunk")


def test_parameters_are_typed_and_converted(grammar):
    assert grammar.parse("vlan 110").args == {"vid": 110}
    assert grammar.parse("description  seat A1  row 2").args == {"text": "seat A1  row 2"}


@pytest.mark.parametrize("line,why,pos", [
    ("shw run", UNRECOGNIZED, 0),
    ("vlan abc", WRONG_PARAM, 5),
    ("vlan 5000", WRONG_PARAM, 5),
    ("show", INCOMPLETE, 5),
    ("s", AMBIGUOUS, 0),           # show, shutdown, switchport
    ("shutdown now", TOO_MANY, 9),
    ("show vlan brief x", TOO_MANY, 16),
])
def test_failures_say_why_and_where(grammar, line, why, pos):
    f = grammar.parse(line)
    assert isinstance(f, ParseFailure)
    assert (f.why, f.pos) == (why, pos)


def test_patterns_expand_optional_and_alternative_parts():
    g = Grammar().add("rule [<seq:int:0-99>] {permit|deny} ip [source {any|<sa:ip> <sw:dotted>}]",
                      "rule")
    assert g.parse("rule permit ip").args == {}
    assert g.parse("rule 5 deny ip source any").args == {"seq": 5}
    assert g.parse("rule 5 deny ip source 10.0.0.0 0.0.0.255").args == {
        "seq": 5, "sa": "10.0.0.0", "sw": "0.0.0.255"}
    assert g.parse("rule 5 deny ip source 10.0.0.300 0.0.0.255").why == WRONG_PARAM


# ---- Cisco IOS --------------------------------------------------------------------------

def test_ios_prompts_follow_the_mode():
    sw, s = cli("cisco_ios")
    assert s.prompt() == "Switch#"
    run(s, "configure terminal")
    assert s.prompt() == "Switch(config)#"
    for line, prompt in [("interface GigabitEthernet0/1", "Switch(config-if)#"),
                         ("vlan 10", "Switch(config-vlan)#"),
                         ("ip access-list extended WEB", "Switch(config-ext-nacl)#"),
                         ("int vlan 10", "Switch(config-if)#"),
                         ("exit", "Switch(config)#"),
                         ("hostname core-1", "core-1(config)#"),
                         ("end", "core-1#"),
                         ("disable", "core-1>"),
                         ("enable", "core-1#")]:
        run(s, line)
        assert s.prompt() == prompt, line


def test_ios_errors_look_like_the_device():
    sw, s = cli("cisco_ios")
    run(s, "conf t")
    assert reply(s, "vlan abc") == [" " * 20 + "^", "% Invalid input detected at '^' marker.", ""]
    assert reply(s, "interfce Gi0/1") == [" " * 15 + "^",
                                          "% Invalid input detected at '^' marker.", ""]
    assert reply(s, "interface") == ["% Incomplete command.", ""]
    assert reply(s, "interface GigabitEthernet0/99") == [
        " " * 25 + "^", "% Invalid input detected at '^' marker.", ""]
    run(s, "interface Gi0/1")
    assert reply(s, "s") == ['% Ambiguous command:  "s"']
    # A global command inside an interface falls through to global configuration; when neither
    # knows it, the caret goes where parsing got furthest.
    assert reply(s, "vlan 9999") == [" " * 23 + "^", "% Invalid input detected at '^' marker.",
                                     ""]
    run(s, "end")
    assert reply(s, "show vlan brif") == [" " * 17 + "^",
                                          "% Invalid input detected at '^' marker.", ""]


def test_ios_bad_commands_change_nothing():
    sw, s = cli("cisco_ios")
    run(s, "conf t", "vlan 10", "interface Vlan10", "ip address 10.10.0.1 255.255.255.0")
    before = sw.running.to_dict()
    out = run(s, "vlan 10x", "no vlan 1", "ip address 10.10.0.1 255.0.255.0",
              "ip address 10.10.0.0 255.255.255.0", "ip address 10.10.0.1", "switchport mode",
              "ip access-list extended", "no interface GigabitEthernet0/1")
    assert "%Default VLAN 1 may not be deleted." in out
    assert "Bad mask 0xFF00FF00 for address 10.10.0.1" in out
    assert "Bad mask /24 for address 10.10.0.0" in out
    assert "% Removal of physical interfaces is not permitted" in out
    assert sw.running.to_dict() == before


def test_ios_vlans_ports_and_svis():
    sw, s = cli("cisco_ios")
    out = run(s, "conf t", "vlan 110", "name acme-annotation", "exit", "vlan 120,130-131",
              "interface Gi0/1", "switchport mode access", "switchport access vlan 140",
              "description seat A1", "shutdown", "interface Gi0/2", "switchport mode trunk",
              "switchport trunk allowed vlan 110,120", "switchport trunk allowed vlan add 130",
              "switchport trunk allowed vlan remove 120", "interface Vlan110",
              "ip address 10.110.0.1 255.255.255.0", "interface Vlan120",
              "ip address 10.110.0.129 255.255.255.128", "end")
    assert "% Access VLAN does not exist. Creating vlan 140" in out
    assert "% 10.110.0.128 overlaps with Vlan110" in out
    st = sw.running
    assert st.vlans == {1: None, 110: "acme-annotation", 120: None, 130: None, 131: None,
                        140: None}
    gi1, gi2 = st.interfaces["GigabitEthernet0/1"], st.interfaces["GigabitEthernet0/2"]
    assert (gi1.mode, gi1.access_vlan, gi1.description, gi1.shutdown) == (
        "access", 140, "seat A1", True)
    assert (gi2.mode, gi2.trunk_allowed) == ("trunk", [110, 130])
    assert st.interfaces["Vlan110"].ip == ("10.110.0.1", "255.255.255.0")
    assert st.interfaces["Vlan120"].ip is None
    brief = reply(s, "show vlan brief")
    assert brief[1] == "VLAN Name                             Status    Ports"
    assert brief[3] == "1    default                          active    Gi0/3, Gi0/4"
    assert "110  acme-annotation                  active    " in brief
    assert "140  VLAN0140                         active    Gi0/1" in brief
    assert brief[-1] == "1005 trnet-default                    act/unsup "


def test_ios_extended_acl_entries():
    sw, s = cli("cisco_ios")
    out = run(s, "conf t", "ip access-list extended ACME-IN",
              "permit tcp 10.110.0.0 0.0.0.255 host 10.120.0.5 eq 443",
              "permit udp any eq domain 10.110.0.7 0.0.0.0 range 1000 1010",
              "15 permit icmp 10.110.0.9 0.0.0.255 any", "deny ip any any",
              "15 deny ip any any", "no permit udp any eq 53 host 10.110.0.7 range 1000 1010",
              "remark keep last", "no 99")
    assert "% Duplicate sequence number" in out
    rules = sw.running.acls["ACME-IN"].sorted_rules()
    assert [r.seq for r in rules] == [10, 15, 30, 40]
    assert rules[1].src == AddrMatch("10.110.0.0", "0.0.0.255"), "host bits are cleared"
    assert rules[3].remark == "keep last"
    run(s, "end")
    assert reply(s, "show access-lists") == [
        "Extended IP access list ACME-IN",
        "    10 permit tcp 10.110.0.0 0.0.0.255 host 10.120.0.5 eq 443",
        "    15 permit icmp 10.110.0.0 0.0.0.255 any",
        "    30 deny ip any any"]
    assert reply(s, "show access-lists NOPE") == []
    run(s, "conf t", "ip access-list extended ACME-IN", "no 15", "end")
    assert [r.seq for r in sw.running.acls["ACME-IN"].rules] == [10, 30, 40]
    run(s, "conf t", "no ip access-list extended ACME-IN", "end")
    assert sw.running.acls == {}


def test_ios_running_config_layout():
    sw, s = cli("cisco_ios", ports=2)
    run(s, "conf t", "hostname sw-core", "vlan 110", "name acme", "vlan 120",
        "interface Gi0/1", "switchport access vlan 110", "switchport mode access",
        "interface Vlan110", "ip address 10.110.0.1 255.255.255.0", "ip access-group ACME in",
        "ip access-list extended ACME", "permit ip 10.110.0.0 0.0.0.255 any", "deny ip any any",
        "end")
    text = reply(s, "show running-config")
    assert text[:3] == ["Building configuration...", "", text[2]]
    assert text[2].startswith("Current configuration : ") and text[2].endswith(" bytes")
    body = "\n".join(text[3:])
    assert body.startswith("!\nversion 15.2\n") and body.endswith("\nend")
    for block in ["hostname sw-core\n!",
                  "vlan 110\n name acme\n!\nvlan 120\n!",
                  "interface GigabitEthernet0/1\n switchport access vlan 110\n"
                  " switchport mode access\n!\ninterface GigabitEthernet0/2\n!",
                  "interface Vlan1\n no ip address\n!",
                  "interface Vlan110\n ip address 10.110.0.1 255.255.255.0\n"
                  " ip access-group ACME in\n!",
                  "ip access-list extended ACME\n permit ip 10.110.0.0 0.0.0.255 any\n"
                  " deny   ip any any\n!"]:
        assert block in body
    assert body.index("vlan 110") < body.index("interface GigabitEthernet0/1") \
        < body.index("interface Vlan110") < body.index("ip access-list extended ACME")
    assert int(text[2].split(":")[1].split()[0]) == len(body) + 1
    assert reply(s, "show running-config | include ^interface") == [
        "interface GigabitEthernet0/1", "interface GigabitEthernet0/2", "interface Vlan1",
        "interface Vlan110"]


def test_ios_save_and_startup_config():
    sw, s = cli("cisco_ios")
    run(s, "conf t", "vlan 300", "end")
    assert "vlan 300" not in reply(s, "show startup-config")
    assert reply(s, "write memory") == ["Building configuration...", "[OK]"]
    start = reply(s, "show startup-config")
    assert start[0].startswith("Using ") and "vlan 300" in start
    run(s, "conf t", "vlan 301", "end")
    assert reply(s, "copy running-config startup-config") == []
    assert s.handle("").prompt == "Switch#"
    assert 301 in sw.saved.vlans
    sw.reload()
    assert 301 in sw.running.vlans


def test_ios_do_exit_end_and_ctrl_z():
    sw, s = cli("cisco_ios")
    run(s, "conf t", "interface Gi0/1")
    assert reply(s, "do show vlan brief")[1].startswith("VLAN Name")
    assert reply(s, "do conf t")[1] == "% Invalid input detected at '^' marker."
    run(s, "exit")
    assert s.mode == "config"
    run(s, "vlan 5")
    s.ctrl_z()
    assert s.prompt() == "Switch#"
    assert s.handle("exit").close


def test_ios_unknown_word_at_exec_is_a_host_lookup():
    sw, s = cli("cisco_ios")
    assert reply(s, "wirte") == ['Translating "wirte"', "",
                                 "% Unknown command or computer name, or unable to find "
                                 "computer address"]


# ---- Huawei VRP -------------------------------------------------------------------------

def test_vrp_views_and_prompts():
    sw, s = cli("huawei")
    assert s.prompt() == "<HUAWEI>"
    assert reply(s, "system-view") == ["Enter system view, return user view with Ctrl+Z."]
    for line, prompt in [("vlan 10", "[HUAWEI-vlan10]"),
                         ("interface GigabitEthernet0/0/1", "[HUAWEI-GigabitEthernet0/0/1]"),
                         ("interface vlanif 10", "[HUAWEI-Vlanif10]"),
                         ("acl number 3001", "[HUAWEI-acl-adv-3001]"),
                         ("acl name web advance", "[HUAWEI-acl-adv-web]"),
                         ("quit", "[HUAWEI]"),
                         ("sysname sw-floor", "[sw-floor]"),
                         ("return", "<sw-floor>")]:
        run(s, line)
        assert s.prompt() == prompt, line


def test_vrp_errors_look_like_the_device():
    sw, s = cli("huawei")
    run(s, "system-view")
    assert reply(s, "vlan abc") == [" " * 13 + "^",
                                    "Error: Wrong parameter found at '^' position."]
    assert reply(s, "vlna 10") == [" " * 8 + "^",
                                   "Error: Unrecognized command found at '^' position."]
    assert reply(s, "interface") == [" " * 18 + "^",
                                     "Error: Incomplete command found at '^' position."]
    assert reply(s, "sysname a b") == [" " * 18 + "^",
                                       "Error: Too many parameters found at '^' position."]
    run(s, "acl 3001")
    assert reply(s, "rule permit ip sou 10.0.0.0 0") == [], "only `source` fits here"
    caret = len("[HUAWEI-acl-adv-3001]rule permit tcp ")
    assert reply(s, "rule permit tcp sou 10.0.0.0 0") == [   # source or source-port
        " " * caret + "^", "Error: Ambiguous command found at '^' position."]


def test_vrp_bad_commands_change_nothing():
    sw, s = cli("huawei")
    run(s, "system-view", "vlan batch 10 20", "interface GigabitEthernet0/0/1")
    before = sw.running.to_dict()
    out = run(s, "port default vlan 10", "port trunk allow-pass vlan 10", "undo vlan 1",
              "undo vlan 99", "acl 3001", "undo rule 5", "quit", "undo acl 3999",
              "interface Vlanif10", "ip address 10.0.0.1 255.0.255.0")
    assert out.count("Error: Please set the link-type of the port to access first.") == 1
    assert "Error: Please set the link-type of the port to trunk first." in out
    assert "Error: The default VLAN cannot be deleted." in out
    assert "Error: The VLAN does not exist." in out
    assert "Error: The rule does not exist." in out
    assert "Error: The ACL does not exist." in out
    assert "Error: The specified mask is invalid." in out
    after = sw.running.to_dict()
    # Entering `acl 3001` and `interface Vlanif10` create them (as on the device); nothing else.
    after["acls"] = [a for a in after["acls"] if a["name"] != "3001"]
    after["interfaces"] = [i for i in after["interfaces"] if i["name"] != "Vlanif10"]
    assert after == before


def test_vrp_ports_vlans_and_link_types():
    sw, s = cli("huawei")
    out = run(s, "system-view", "vlan batch 110 120 to 122", "vlan 110", "description acme",
              "interface GigabitEthernet0/0/1", "port link-type access", "port default vlan 110",
              "port link-type trunk", "undo port default vlan", "port link-type trunk",
              "undo port trunk allow-pass vlan 1", "port trunk allow-pass vlan 110 120",
              "port trunk pvid vlan 120")
    assert out.count("Error: Please renew the default configurations.") == 1
    st = sw.running
    assert sorted(st.vlans) == [1, 110, 120, 121, 122] and st.vlans[110] == "acme"
    gi = st.interfaces["GigabitEthernet0/0/1"]
    assert (gi.mode, gi.trunk_allowed, gi.native_vlan) == ("trunk", [110, 120], 120)
    run(s, "return")
    vl = reply(s, "display vlan")
    assert vl[0] == "The total number of VLANs is : 5"
    assert "1    common  UT:GE0/0/2(U)      GE0/0/3(U)      GE0/0/4(U)" in vl
    assert "110  common  TG:GE0/0/1(U)" in vl
    assert "120  common  UT:GE0/0/1(U)" in vl
    assert "110  enable  default       enable  disable    acme" in vl


def test_vrp_acl_rules():
    sw, s = cli("huawei")
    run(s, "system-view", "acl number 3001",
        "rule permit tcp source 10.110.0.0 0.0.0.255 destination 10.120.0.5 0 "
        "destination-port eq 443",
        "rule deny udp destination-port range 1000 1010", "rule 7 permit icmp", "rule deny ip",
        "undo rule 10", "acl name web advance", "rule permit ip source any")
    acl = sw.running.acls["3001"]
    assert [r.seq for r in acl.sorted_rules()] == [5, 7, 15]
    assert sw.running.acls["web"].number == 3999
    run(s, "return")
    assert reply(s, "display acl 3001") == [
        " Advanced ACL 3001, 3 rules", " Acl's step is 5",
        " rule 5 permit tcp source 10.110.0.0 0.0.0.255 destination 10.120.0.5 0 "
        "destination-port eq 443 ",
        " rule 7 permit icmp ",
        " rule 15 deny ip ", ""]
    all_acls = reply(s, "display acl all")
    assert all_acls[0] == " Total quantity of nonempty ACL number is 2 "
    assert " Advanced ACL web 3999, 1 rule" in all_acls
    run(s, "system-view", "undo acl name web", "undo acl number 3001")
    assert sw.running.acls == {}


def test_vrp_current_configuration_layout():
    sw, s = cli("huawei", ports=2)
    run(s, "system-view", "sysname sw-floor", "vlan batch 110 120", "vlan 110",
        "description acme", "interface Vlanif110", "ip address 10.110.0.1 24",
        "traffic-filter inbound acl 3001", "acl number 3001",
        "rule permit ip source 10.110.0.0 0.0.0.255", "interface GigabitEthernet0/0/1",
        "port link-type access", "port default vlan 110", "return")
    text = "\n".join(reply(s, "display current-configuration"))
    assert text.startswith("!Software Version V200R019C10SPC500\n#\nsysname sw-floor\n#\n"
                           "vlan batch 110 120\n#\n")
    assert text.endswith("\n#\nreturn")
    for block in ["#\nvlan 110\n description acme\n#\n",
                  "#\nacl number 3001\n rule 5 permit ip source 10.110.0.0 0.0.0.255\n#\n",
                  "#\ninterface Vlanif110\n ip address 10.110.0.1 255.255.255.0\n"
                  " traffic-filter inbound acl 3001\n#\n",
                  "#\ninterface GigabitEthernet0/0/1\n port link-type access\n"
                  " port default vlan 110\n#\ninterface GigabitEthernet0/0/2\n#\n"]:
        assert block in text


def test_vrp_save_asks_first():
    sw, s = cli("huawei")
    run(s, "system-view", "vlan 77", "return")
    r = s.handle("save")
    assert r.lines == ["The current configuration will be written to the device."]
    assert r.prompt == "Are you sure to continue?[Y/N]"
    assert s.handle("n").lines == [] and 77 not in sw.saved.vlans
    s.handle("save")
    r = s.handle("y")
    assert r.lines == ["Now saving the current configuration to the slot 0.",
                       "Save the configuration successfully."]
    assert r.prompt == "<HUAWEI>" and 77 in sw.saved.vlans
    assert "vlan batch 77" in reply(s, "display saved-configuration")


def test_vrp_display_works_in_every_view_and_screen_length():
    sw, s = cli("huawei")
    assert reply(s, "screen-length 0 temporary") == [
        "Info: The configuration takes effect on the current user terminal interface only."]
    run(s, "system-view", "interface GigabitEthernet0/0/2")
    assert reply(s, "display vlan")[0].startswith("The total number of VLANs")
    assert s.prompt() == "[HUAWEI-GigabitEthernet0/0/2]"


# ---- H3C Comware --------------------------------------------------------------------------

def test_comware_words_and_errors():
    sw, s = cli("hp_comware")
    assert s.prompt() == "<H3C>"
    assert reply(s, "screen-length disable") == []
    run(s, "system-view", "vlan 110", "name acme", "vlan 120 to 121",
        "interface Vlan-interface110", "ip address 10.110.0.1 24", "packet-filter 3001 inbound",
        "acl advanced 3001")
    assert s.prompt() == "[H3C-acl-ipv4-adv-3001]"
    run(s, "rule permit ip source 10.110.0.0 0.0.0.255", "rule deny ip",
        "interface GigabitEthernet1/0/3", "port access vlan 120")
    assert [r.seq for r in sw.running.acls["3001"].sorted_rules()] == [0, 5]
    assert sw.running.interfaces["Vlan-interface110"].acl_in == "3001"
    assert sw.running.interfaces["GigabitEthernet1/0/3"].access_vlan == 120
    assert reply(s, "port acces vlan x") == [" " * 42 + "^",
                                             "% Wrong parameter found at '^' position."]
    run(s, "return")
    assert reply(s, "save force") == [
        "Validating file. Please wait...",
        "Saved the current configuration to mainboard device successfully."]
    assert sw.saved.vlans[110] == "acme"
    text = "\n".join(reply(s, "display current-configuration"))
    assert "#\n sysname H3C\n#" in text
    assert "#\ninterface Vlan-interface110\n ip address 10.110.0.1 255.255.255.0\n" \
           " packet-filter 3001 inbound\n#" in text
    assert "#\nacl advanced 3001\n rule 0 permit ip source 10.110.0.0 0.0.0.255\n" \
           " rule 5 deny ip\n#" in text


# ---- loading config text ------------------------------------------------------------------

SETUPS = {
    "cisco_ios": ["conf t", "hostname core1", "vlan 110", "name acme", "vlan 120,130-132",
                  "interface Vlan110", "ip address 10.110.0.1 255.255.255.0",
                  "ip access-group ACME in", "description gw", "interface vlan 120",
                  "ip address 10.120.0.1 255.255.255.0", "ip access-group B out", "shutdown",
                  "ip access-list extended ACME", "remark web",
                  "permit tcp 10.110.0.0 0.0.0.255 host 10.120.0.5 eq 80",
                  "permit udp any range 1000 2000 any eq domain", "deny ip any any",
                  "int gi0/1", "switchport mode trunk", "switchport trunk allowed vlan 110,120",
                  "switchport trunk native vlan 99", "int gi0/2", "description seat A1",
                  "switchport access vlan 110", "switchport mode access", "shutdown", "end"],
    "huawei": ["system-view", "sysname core2", "vlan batch 110 120 130 to 132", "vlan 110",
               "description acme", "interface Vlanif110", "ip address 10.110.0.1 24",
               "traffic-filter inbound acl 3001", "interface Vlanif120",
               "ip address 10.120.0.1 255.255.255.0", "traffic-filter outbound acl name web",
               "shutdown", "acl number 3001",
               "rule permit tcp source 10.110.0.0 0.0.0.255 destination 10.120.0.5 0 "
               "destination-port eq 80",
               "rule permit udp source-port range 1000 2000 destination-port eq 53",
               "rule deny ip", "acl name web advance", "rule 1 permit icmp",
               "interface GigabitEthernet0/0/1", "port link-type trunk",
               "undo port trunk allow-pass vlan 1", "port trunk allow-pass vlan 110 120",
               "port trunk pvid vlan 110", "interface GigabitEthernet0/0/2",
               "description seat A1", "port link-type access", "port default vlan 110",
               "shutdown", "return"],
    "hp_comware": ["system-view", "sysname core3", "vlan 110", "name acme", "vlan 120 130 to 132",
                   "interface Vlan-interface110", "ip address 10.110.0.1 24",
                   "packet-filter 3001 inbound", "interface Vlan-interface120",
                   "ip address 10.120.0.1 255.255.255.0", "packet-filter name web outbound",
                   "acl advanced 3001",
                   "rule permit tcp source 10.110.0.0 0.0.0.255 destination 10.120.0.5 0 "
                   "destination-port eq 80",
                   "rule deny ip", "acl advanced name web", "rule permit icmp",
                   "interface GigabitEthernet1/0/1", "port link-type trunk",
                   "undo port trunk permit vlan 1", "port trunk permit vlan 110 120",
                   "interface GigabitEthernet1/0/2", "description seat A1",
                   "port access vlan 110", "shutdown", "return"],
}


@pytest.mark.parametrize("vendor", sorted(SETUPS))
def test_printed_config_loads_back_to_the_same_state(vendor):
    sw, s = cli(vendor)
    out = run(s, *SETUPS[vendor])
    assert not [ln for ln in out if ln.startswith(("%", "Error:"))
                and "Creating vlan" not in ln], out
    before, text = sw.running.to_dict(), sw.running_config()
    sw.set_running("")
    assert sw.running.to_dict() == SwitchState.factory(vendor, None,
                                                       list(sw.spec.ports)).to_dict()
    assert sw.set_running(text) == []
    assert sw.running.to_dict() == before
    assert sw.running_config() == text


def test_loading_reports_refused_lines():
    sw, _ = cli("cisco_ios")
    refused = sw.set_running("hostname lab\n!\nvlan 10\n name ten\ninterface Gi0/9\nvlan x\n")
    assert refused == ["interface Gi0/9: % Invalid input detected at '^' marker.",
                       "vlan x: % Invalid input detected at '^' marker."]
    assert sw.running.hostname == "lab" and sw.running.vlans[10] == "ten"


def test_state_round_trips_through_json():
    sw, s = cli("huawei")
    run(s, *SETUPS["huawei"])
    st = sw.running
    assert SwitchState.from_dict(st.to_dict()) == st


# ---- faults --------------------------------------------------------------------------------

def test_fault_requests_are_checked():
    f = Faults()
    for kind, body in [("slow", {}), ("slow", {"seconds": -1}), ("slow", {"seconds": True}),
                       ("drop_after", {"lines": 0}), ("drop_after", {"lines": "2"}),
                       ("reject", {}), ("explode", {})]:
        with pytest.raises(ValueError):
            f.set(kind, body)
    f.set("slow", {"seconds": 1.5})
    f.set("reject", {"match": r"^vlan \d+"})
    f.set("reject", {"match": "ip access-group ("})  # not a regex: matched as text
    assert f.rejects("vlan 10") and f.rejects(" ip access-group (") and not f.rejects("name x")
    assert not f.rejects("")
    f.set("drop_after", {"lines": 2})
    assert [f.count_config_line() for _ in range(4)] == [False, True, False, False]
    assert f.drops == 1 and f.drop_after is None, "fires once unless sticky"
    f.set("drop_after", {"lines": 1, "sticky": True})
    assert [f.count_config_line() for _ in range(2)] == [True, True]
    f.set("clear", {})
    assert f.to_dict() == {"slow": 0.0, "drop_after": None, "sticky": False,
                           "config_lines_seen": 0, "drops": 3, "reject": []}


# ---- site file ------------------------------------------------------------------------------

def test_demo_site_switches():
    specs = load_switches(DEMO_SITE)
    assert set(specs) >= {"sw-core", "sw-floor"}
    core, floor = specs["sw-core"], specs["sw-floor"]
    assert (core.vendor, core.hostname, core.username) == ("cisco_ios", "sw-core", "admin")
    assert core.ports[0] == "GigabitEthernet1/0/1" and core.ports[-1] == "GigabitEthernet1/0/24"
    assert len(core.ports) == 24
    assert floor.vendor == "huawei" and len(floor.ports) == 16


def test_site_file_port_counts_and_password_env(tmp_path, monkeypatch):
    site = tmp_path / "site.yaml"
    site.write_text("switches:\n  - {id: a, vendor: hp_comware, port: 2000, username: u, "
                    "password_env: SW_PW, ports: 3}\n")
    with pytest.raises(ValueError, match="SW_PW"):
        load_switches(site)
    monkeypatch.setenv("SW_PW", "secret")
    spec = load_switches(site)["a"]
    assert spec.password == "secret"
    assert spec.ports == ("GigabitEthernet1/0/1", "GigabitEthernet1/0/2", "GigabitEthernet1/0/3")
    assert fill_ports(["Gi1/0/2", "Gi1/0/4", "Gi2/0/1"]) == ["Gi1/0/1", "Gi1/0/2", "Gi1/0/3",
                                                              "Gi1/0/4", "Gi2/0/1"]


def test_site_file_password_file_is_relative_to_the_site_file(tmp_path):
    (tmp_path / "sites").mkdir()
    site = tmp_path / "sites" / "site.yaml"
    site.write_text("switches:\n  - {id: a, vendor: huawei, username: u, password_file: sw-a.txt}\n")
    with pytest.raises(ValueError, match="sw-a.txt"):
        load_switches(site)
    (tmp_path / "sites" / "sw-a.txt").write_text("from-file\n")
    assert load_switches(site)["a"].password == "from-file"


@pytest.mark.parametrize("entry,message", [
    ("{id: a, vendor: junos, username: u, password: p}", "vendor"),
    ("{id: a, vendor: huawei, username: u}", "password"),
    ("{id: a, vendor: huawei, username: u, password: p, port: 70000}", "port"),
    ("{id: a, vendor: huawei, username: u, password: p, ports: [{vlan: 1}]}", "name"),
])
def test_site_file_mistakes_are_named(tmp_path, entry, message):
    site = tmp_path / "site.yaml"
    site.write_text(f"switches:\n  - {entry}\n")
    with pytest.raises(ValueError, match=message):
        load_switches(site)


# ---- nftables export --------------------------------------------------------------------------

def _lab_state(vendor: str) -> SwitchState:
    sw, s = cli(vendor)
    run(s, *SETUPS[vendor])
    return sw.running


def test_nft_ruleset_for_ios():
    text = ruleset(_lab_state("cisco_ios"), {110: "eth1", 120: "eth2"})
    assert text.splitlines()[1:3] == ["add table inet siteguard_sw",
                                      "delete table inet siteguard_sw"]
    assert "\t\ttype filter hook forward priority filter; policy accept;\n" \
           '\t\tiifname "eth1" jump in_vlan110\n' \
           '\t\tiifname "eth2" drop comment "Vlan120 shutdown"\n' \
           '\t\toifname "eth2" drop comment "Vlan120 shutdown"\n\t}\n' in text
    assert "\tchain in_vlan110 {\n" \
           "\t\t# Vlan110 inbound: ACL ACME\n" \
           "\t\tmeta nfproto != ipv4 return\n" \
           "\t\t# remark web\n" \
           "\t\tip protocol tcp ip saddr 10.110.0.0/24 ip daddr 10.120.0.5 tcp dport 80 " \
           'return comment "ACME 20 permit"\n' \
           '\t\tip protocol udp udp sport 1000-2000 udp dport 53 return ' \
           'comment "ACME 30 permit"\n' \
           '\t\tdrop comment "ACME 40 deny"\n' \
           '\t\tdrop comment "ACME implicit deny"\n\t}\n' in text


def test_nft_ruleset_directions_undefined_acls_and_implicit_action():
    st = _lab_state("hp_comware")
    text = ruleset(st, {110: "vl110", 120: "vl120"})
    assert '\t\tiifname "vl110" jump in_vlan110\n\t\toifname "vl120" jump out_vlan120\n' in text
    assert '\t\treturn comment "3001 implicit permit"\n' in text, "Comware passes unmatched"
    assert '\t\tdrop comment "web implicit deny"\n' in ruleset(st, implicit_deny=True)
    assert "jump" not in ruleset(st, {130: "x"}), "only mapped VLANs with an address"
    st.acls.clear()
    text = ruleset(st, {110: "vl110"})
    assert "# Vlan-interface110 in: ACL 3001 is not defined, nothing filtered" in text
    assert "chain in_" not in text


def test_nft_matches_non_contiguous_wildcards():
    sw = SwitchSimulator(SwitchSpec.make("x", "cisco_ios", ports=1))
    sw.set_running("interface Vlan10\n ip address 10.0.0.1 255.255.255.0\n"
                   " ip access-group W out\nip access-list extended W\n"
                   " permit ip 10.0.0.1 0.0.255.0 any\n")
    text = ruleset(sw.running)
    assert "ip saddr & 255.255.0.255 == 10.0.0.1 return" in text
    assert 'oifname "vlan10" jump out_vlan10' in text, "default names: vlan<ID>"
    assert "vlan1\"" not in text, "an SVI without an address routes nothing"


def _nft_usable() -> bool:
    if not shutil.which("nft"):
        return False
    probe = subprocess.run(["nft", "-c", "-f", "-"], input="table inet probe { }\n",
                           capture_output=True, text=True)
    return probe.returncode == 0


@pytest.mark.skipif(not _nft_usable(), reason="nft cannot check rulesets here")
@pytest.mark.parametrize("vendor", sorted(SETUPS))
def test_nft_accepts_the_ruleset(vendor, tmp_path):
    path = tmp_path / "rules.nft"
    path.write_text(ruleset(_lab_state(vendor), {110: "eth1", 120: "eth2"}))
    res = subprocess.run(["nft", "-c", "-f", str(path)], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
