"""What a switch's replies mean (refusals in every dialect's wording, the mode a line must leave the
session in, a read that is not a configuration), and how the apply engine acts on them."""
from __future__ import annotations

import pytest

from network_policy.acl import network
from network_policy.apply import DeviceError, apply_change, drift, plan_for
from network_policy.intent import Service, VlanPolicy, default_allows
from network_policy.parse import ParseError, check_read, parse_read
from network_policy.render import config_text
from network_policy.replies import is_config_prompt, is_exec_prompt, refusal, wrong_mode

SERVICES = [Service("platform", network("10.0.0.10"), "tcp", (443,))]
A = VlanPolicy(110, "acme", network("10.110.0.0/24"), default_allows(SERVICES))
BASE = {110: A.acl()}


@pytest.mark.parametrize("reply", [
    "         ^\n% Invalid input detected at '^' marker.",       # IOS
    "% Incomplete command.",
    '% Ambiguous command:  "sh"',
    "% Unknown command or computer name, or unable to find computer address",
    "No such command : show running-config",                     # fake-switches
    "Error: Unrecognized command found at '^' position.",        # VRP
    "Error: Incomplete command found at '^' position.",
    "Error:Too many parameters found at '^' position.",
    "% Unrecognized command found at '^' position.",             # Comware
    "% Incomplete command found at '^' position.",
    "% Wrong parameter found at '^' position.",
    "% Too many parameters found at '^' position.",
    "Command authorization failed.",
    "% Access denied",
    "% This command is not allowed in this mode",
    "Permission denied",
])
def test_every_dialects_refusal_is_recognised(reply):
    assert refusal(f"some echo\n{reply}\n") == reply.splitlines()[-1].strip()


@pytest.mark.parametrize("reply", [
    "", "Enter configuration commands, one per line.  End with CNTL/Z.", " description Error: none here",
    " local-user admin password irreversible-cipher %^%#Q0a:K-[4xT8>Sm9%^%#", "Building configuration...\n[OK]",
    "%SYS-5-CONFIG_I: Configured from console by admin on vty0",
])
def test_ordinary_output_is_no_refusal(reply):
    assert refusal(reply) is None


def test_prompts_by_dialect():
    assert is_exec_prompt("cisco_ios", "Switch#") and not is_exec_prompt("cisco_ios", "Switch>")
    assert not is_exec_prompt("cisco_ios", "Switch(config)#")
    assert is_config_prompt("cisco_ios", "sw1(config-ext-nacl)#") and not is_config_prompt("cisco_ios", "sw1#")
    assert is_exec_prompt("huawei", "<HUAWEI>") and is_config_prompt("huawei", "[~HUAWEI-acl-adv-SG-V110]")
    assert is_exec_prompt("hp_comware", "<H3C>") and not is_config_prompt("hp_comware", "<H3C>")


@pytest.mark.parametrize("vendor,line,before,after,ok", [
    ("cisco_ios", "ip access-list extended SG-V110", "s(config)#", "s(config-ext-nacl)#", True),
    # fake-switches takes this line without a word and stays at the global prompt
    ("cisco_ios", "ip access-list extended SG-V110", "s(config)#", "s(config)#", False),
    ("cisco_ios", " 10 permit tcp any any", "s(config-ext-nacl)#", "s(config-ext-nacl)#", True),
    ("cisco_ios", " 10 permit tcp any any", "s(config)#", "s(config)#", False),
    ("cisco_ios", "exit", "s(config-if)#", "s(config)#", True),
    ("cisco_ios", "exit", "s(config-if)#", "s#", False),          # a config line that lands at exec
    ("cisco_ios", "no ip access-group SG-V110 in", "s(config-if)#", "s(config-if)#", True),
    ("cisco_ios", "no ip access-group SG-V110 in", "s(config-if)#", "s(config)#", False),
    ("cisco_ios", "no ip access-list extended SG-V110", "s(config)#", "s>", False),
    ("cisco_ios", "vlan 110", "s(config-vlan)#", "s(config-vlan)#", True),  # one VLAN's mode to the next
    ("cisco_ios", "interface Vlan110", "s(config-vlan)#", "s(config-if)#", True),
    ("huawei", "acl name SG-V110 advance", "[HUAWEI]", "[HUAWEI-acl-adv-SG-V110]", True),
    ("huawei", "quit", "[HUAWEI-acl-adv-SG-V110]", "[HUAWEI]", True),
    ("hp_comware", "undo acl advanced name SG-V110", "[H3C]", "[H3C]", True),
    ("hp_comware", "acl advanced name SG-V110", "[H3C]", "<H3C>", False),
])
def test_a_line_must_leave_the_session_in_its_mode(vendor, line, before, after, ok):
    top = "s(config)#" if vendor == "cisco_ios" else ("[HUAWEI]" if vendor == "huawei" else "[H3C]")
    assert (wrong_mode(vendor, line, top, before, after) is None) is ok


IOS_RUNNING = "Building configuration...\n\nCurrent configuration : 95 bytes\n!\nhostname sw1\n!\n" + \
    "\n".join(config_text("cisco_ios", BASE)) + "\nend\n"
IOS_LISTING = "Extended IP access list SG-V110\n" + "\n".join(
    "    " + ln.strip() for ln in config_text("cisco_ios", BASE)[1:1 + len(BASE[110].entries)])


def test_a_whole_configuration_reads():
    assert parse_read("cisco_ios", IOS_RUNNING, IOS_LISTING).managed() == BASE
    vrp = "!Software Version V200\n#\nsysname HUAWEI\n#\n" + "\n".join(config_text("huawei", BASE)) + "\nreturn"
    assert parse_read("huawei", vrp).managed() == BASE


@pytest.mark.parametrize("running,listing", [
    ("No such command : show running-config", ""),                         # read at the > prompt
    ("", ""),
    (IOS_RUNNING.replace("\nend\n", "\n"), IOS_LISTING),                   # cut off
    ("hostname sw1\n!\nend", "No such command : show ip access-lists"),
    (IOS_RUNNING, "stray text before any ACL header"),
    ("Translating \"show\"\n% Unknown command or computer name\nend", ""),
])
def test_a_refused_or_partial_read_is_an_error_not_an_empty_config(running, listing):
    with pytest.raises(ParseError):
        check_read("cisco_ios", running, listing)
    with pytest.raises(ParseError):
        drift("cisco_ios", BASE, running, listing)  # an unread device is not "no drift"


# --- the engine over a scripted device ----------------------------------------------------------

class Scripted:
    """A device that reads ``reads`` in turn and fails the send at line ``fail_at`` with ``exc``."""
    vendor = "cisco_ios"

    def __init__(self, reads, fail_at=None, exc=None):
        self.reads, self.fail_at, self.exc = list(reads), fail_at, exc
        self.received: list[str] = []

    def read_config(self):
        return self.reads.pop(0) if len(self.reads) > 1 else self.reads[0]

    def send_config(self, lines, sent=None):
        for i, line in enumerate(lines):
            if i == self.fail_at:
                raise self.exc
            self.received.append(line)
            if sent is not None:
                sent.append(line)
        return ""

    def save(self):
        pass

    def close(self):
        pass


def test_no_backup_means_no_line_sent():
    dev = Scripted([("No such command : show running-config", "")])
    [r] = apply_change([plan_for("sw1", "cisco_ios", {}, BASE)], lambda _: dev)
    assert r.status == "failed" and "refused" in r.error and r.error.startswith("sw1")
    assert dev.received == [] and r.sent == [] and not r.touched


def test_netmiko_value_errors_and_partial_sends_are_reported_as_they_happened():
    empty = (IOS_RUNNING.split("ip access-list")[0] + "end\n", "")
    dev = Scripted([empty], fail_at=2, exc=ValueError("Failed to enter configuration mode"))
    [r] = apply_change([plan_for("sw1", "cisco_ios", {}, BASE)], lambda _: dev)
    plan = plan_for("sw1", "cisco_ios", {}, BASE)
    assert r.sent == list(plan.commands[:2])  # only what went out, not the whole plan
    assert "ValueError: Failed to enter configuration mode" in r.error and r.error.startswith("sw1")
    assert r.status == "rolled_back"


def test_a_rollback_that_leaves_the_configuration_different_is_not_verified():
    empty = (IOS_RUNNING.split("ip access-list")[0] + "end\n", "")
    changed = (empty[0].replace("hostname sw1", "hostname sw1\nlogging host 10.9.9.9"), "")
    dev = Scripted([empty, changed, changed], fail_at=1, exc=DeviceError("line refused"))
    [r] = apply_change([plan_for("sw1", "cisco_ios", {}, BASE)], lambda _: dev)
    assert r.status == "rollback_failed" and "logging host 10.9.9.9" in r.error
