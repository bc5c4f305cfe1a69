"""Cisco IOS (Catalyst access switch, IOS 15) command line.

Modes and prompts as on the device: `Switch>`, `Switch#`, `Switch(config)#`,
`Switch(config-if)#`, `Switch(config-vlan)#`, `Switch(config-ext-nacl)#`, `Switch(config-line)#`.
"""
from __future__ import annotations

import ipaddress
import re

from . import render_ios
from .acl import AclRule, make_rule
from .cli import AMBIGUOUS, INCOMPLETE, CliError, Match, ParseFailure, tokenize
from .dialect import Dialect, format_caret
from .state import Acl

SRC = "{any|host <sh:ip>|<sa:ip> <sw:dotted>}"
DST = "{any|host <dh:ip>|<da:ip> <dw:dotted>}"
SPORT = "[{eq <sp:port>|range <sp:port> <sp2:port>}]"
DPORT = "[{eq <dp:port>|range <dp:port> <dp2:port>}]"
ENTRIES = [f"{{permit|deny}} {{ip|icmp}} {SRC} {DST}",
           f"{{permit|deny}} {{tcp|udp}} {SRC} {SPORT} {DST} {DPORT}"]

EXEC = [
    ("show running-config", "show_run"),
    ("show startup-config", "show_start"),
    ("show vlan [brief]", "show_vlan"),
    ("show access-lists [<name:word>]", "show_acl"),
    ("show ip access-lists [<name:word>]", "show_acl"),
    ("show ip interface brief", "show_ip_int"),
    ("show interfaces status", "show_int_status"),
    ("show version", "show_version"),
    ("terminal length <n:int:0-512>", "noop"),
    ("terminal width <n:int:0-512>", "noop"),
    ("configure terminal", "configure"),
    ("write [memory]", "write_mem"),
    ("copy running-config startup-config", "copy_run_start"),
    ("enable", "enable"),
    ("disable", "disable"),
    ("exit", "logout"),
    ("logout", "logout"),
]
USER = [
    ("show version", "show_version"),
    ("terminal length <n:int:0-512>", "noop"),
    ("terminal width <n:int:0-512>", "noop"),
    ("enable", "enable"),
    ("exit", "logout"),
    ("logout", "logout"),
]
ANY_CONFIG = [("do <cmd:line>", "do"), ("end", "end"), ("exit", "exit")]
CONFIG = ANY_CONFIG + [
    ("hostname <name:word:-63>", "hostname"),
    ("vlan <vids:vlanlist>", "vlan"),
    ("no vlan <vids:vlanlist>", "no_vlan"),
    ("interface <ifn:ifname>", "interface"),
    ("no interface <ifn:ifname>", "no_interface"),
    ("ip access-list extended <name:word>", "acl"),
    ("no ip access-list extended <name:word>", "no_acl"),
    ("line {con|vty} <a:int:0-15> [<b:int:0-15>]", "line_mode"),
    # What `show running-config` prints around the interesting parts, so it loads back.
    ("version <v:word>", "noop"),
    ("service <x:line>", "noop"),
    ("no service <x:line>", "noop"),
    ("boot-start-marker", "noop"),
    ("boot-end-marker", "noop"),
    ("no aaa new-model", "noop"),
    ("system mtu routing <n:int:1500-9198>", "noop"),
    ("no ip domain-lookup", "noop"),
    ("ip ssh version 2", "noop"),
    ("no ip http server", "noop"),
    ("no ip http secure-server", "noop"),
    ("spanning-tree mode {pvst|rapid-pvst|mst}", "noop"),
    ("spanning-tree extend system-id", "noop"),
    ("vlan internal allocation policy ascending", "noop"),
    ("vtp mode transparent", "noop"),
    ("username <u:word> <x:line>", "noop"),
]
CONFIG_VLAN = ANY_CONFIG + [
    ("name <name:word:-32>", "vlan_name"),
    ("no name", "vlan_no_name"),
]
IF_COMMON = [
    ("shutdown", "shutdown"),
    ("no shutdown", "no_shutdown"),
    ("description <text:line>", "description"),
    ("no description", "no_description"),
]
CONFIG_IF = ANY_CONFIG + IF_COMMON + [
    ("switchport mode {access|trunk}", "sw_mode"),
    ("no switchport mode", "sw_no_mode"),
    ("switchport access vlan <vid:int:1-4094>", "sw_access"),
    ("no switchport access vlan", "sw_no_access"),
    ("switchport trunk allowed vlan {<vids:vlanlist>|all|none}", "sw_allowed"),
    ("switchport trunk allowed vlan {add|remove|except} <vids:vlanlist>", "sw_allowed"),
    ("no switchport trunk allowed vlan", "sw_no_allowed"),
    ("switchport trunk native vlan <vid:int:1-4094>", "sw_native"),
    ("no switchport trunk native vlan", "sw_no_native"),
]
CONFIG_SVI = ANY_CONFIG + IF_COMMON + [
    ("ip address <ip:ip> <mask:dotted>", "ip_address"),
    ("no ip address", "no_ip_address"),
    ("ip access-group <acl:word> {in|out}", "access_group"),
    ("no ip access-group [<acl:word>] {in|out}", "no_access_group"),
]
CONFIG_ACL = ANY_CONFIG + [(f"[<seq:int:1-2147483647>] {e}", "ace") for e in ENTRIES] + [
    (f"no {e}", "no_ace") for e in ENTRIES] + [
    ("no <seq:int:1-2147483647>", "no_ace_seq"),
    ("remark <text:line>", "remark"),
]
CONFIG_LINE = ANY_CONFIG + [
    ("login [local]", "noop"),
    ("transport input {ssh|telnet|all|none}", "noop"),
    ("exec-timeout <a:int:0-35791> [<b:int:0-2147483>]", "noop"),
]

PHYSICAL_TYPES = ("GigabitEthernet", "FastEthernet", "TenGigabitEthernet")
IF_NAME = re.compile(r"([A-Za-z][A-Za-z-]*)\s*(\d+(?:/\d+)*)")


class IosDialect(Dialect):
    vendor = "cisco_ios"
    INITIAL_MODE = "exec"     # the local user has privilege 15, as netmiko expects
    CONFIG_ENTRY_MODE = "config"
    EXEC_MODES = ("user", "exec")
    PATTERNS = {"user": USER, "exec": EXEC, "config": CONFIG, "config-vlan": CONFIG_VLAN,
                "config-if": CONFIG_IF, "config-if-svi": CONFIG_SVI,
                "config-ext-nacl": CONFIG_ACL, "config-line": CONFIG_LINE}
    PARENT = {"config-vlan": "config", "config-if": "config", "config-ext-nacl": "config",
              "config-line": "config"}
    PIPE_FILTERS = ("include", "exclude", "begin")

    # ---- look -----------------------------------------------------------------------------
    def prompt(self) -> str:
        if self.mode == "user":
            return f"{self.hostname}>"
        if self.mode == "exec":
            return f"{self.hostname}#"
        return f"{self.hostname}({self.mode})#"

    def banner(self) -> list[str]:
        return [""]

    def grammar_key(self) -> str:
        if self.mode == "config-if" and self.st.interfaces.get(self.ctx) and \
                self.st.interfaces[self.ctx].is_svi:
            return "config-if-svi"
        return self.mode

    def failure_lines(self, failure: ParseFailure, line: str) -> list[str]:
        if failure.why == INCOMPLETE:
            return ["% Incomplete command.", ""]
        if failure.why == AMBIGUOUS:
            return [f'% Ambiguous command:  "{line.strip()}"']
        toks = tokenize(line)
        if self.mode in self.EXEC_MODES and len(toks) == 1:
            # A lone unknown word at the exec prompt is taken for a host to telnet to.
            return [f'Translating "{toks[0].text}"', "",
                    "% Unknown command or computer name, or unable to find computer address"]
        return [format_caret(self.prompt(), failure.pos),
                "% Invalid input detected at '^' marker.", ""]

    def is_comment(self, line: str) -> bool:
        return line.lstrip().startswith("!")

    def is_error(self, line: str) -> bool:
        return line.startswith("%") and "Creating vlan" not in line

    def skip_when_loading(self, line: str) -> bool:
        s = line.strip()
        return (not s or s.startswith("!") or s.startswith("Building configuration")
                or s.startswith("Current configuration") or s.startswith("Using "))

    def resolve_ifname(self, text: str) -> str:
        m = IF_NAME.fullmatch(text.replace(" ", ""))
        if not m:
            raise ValueError(text)
        typed, number = m.groups()
        present = {re.match(r"\D+", i.name).group() for i in self.st.physical()} | {"Vlan"}
        types = [t for t in sorted(present) if t.lower().startswith(typed.lower())]
        if len(types) != 1:
            raise ValueError(text)
        name = types[0] + number
        if types[0] == "Vlan":
            if "/" in number or not 1 <= int(number) <= 4094:
                raise ValueError(text)
            return name
        if name not in self.st.interfaces:
            raise ValueError(text)
        return name

    # ---- exec ------------------------------------------------------------------------------
    def do_noop(self, m: Match):
        return []

    def do_show_run(self, m: Match):
        return render_ios.running_config(self.st, getattr(self.device, "username", None))

    def do_show_start(self, m: Match):
        return render_ios.startup_config(self.device.saved,
                                         getattr(self.device, "username", None))

    def do_show_vlan(self, m: Match):
        return render_ios.vlan_brief(self.st)

    def do_show_acl(self, m: Match):
        return render_ios.access_lists(self.st, m.args.get("name"))

    def do_show_ip_int(self, m: Match):
        return render_ios.ip_interface_brief(self.st)

    def do_show_int_status(self, m: Match):
        return render_ios.interfaces_status(self.st)

    def do_show_version(self, m: Match):
        return render_ios.version(self.st)

    def do_configure(self, m: Match):
        self.mode, self.ctx = "config", None
        return ["Enter configuration commands, one per line.  End with CNTL/Z."]

    def do_write_mem(self, m: Match):
        self.device.save(self.st)
        return ["Building configuration...", "[OK]"]

    def do_copy_run_start(self, m: Match):
        def answer(text: str) -> list[str]:
            if text.strip() not in ("", "startup-config"):
                return ["%Error opening " + text.strip() + " (Permission denied)"]
            self.device.save(self.st)
            return ["Building configuration...", "[OK]"]
        self.ask("Destination filename [startup-config]? ", answer)
        return []

    def do_enable(self, m: Match):
        self.mode = "exec"
        return []

    def do_disable(self, m: Match):
        self.mode = "user"
        return []

    def do_logout(self, m: Match):
        self.closing = True
        return []

    # ---- config ----------------------------------------------------------------------------
    def do_end(self, m: Match):
        self.mode, self.ctx = "exec", None
        return []

    def do_exit(self, m: Match):
        self.mode, self.ctx = ("exec" if self.mode == "config" else "config"), None
        return []

    def do_do(self, m: Match):
        cmd = m.args["cmd"]
        result = self.grammar("exec").parse(cmd, self)
        if isinstance(result, ParseFailure):
            offset = m.line.index(cmd)
            result.pos += offset
            return self.failure_lines(result, m.line)
        if result.handler in ("configure", "enable", "disable", "logout"):
            return [format_caret(self.prompt(), m.line.index(cmd)),
                    "% Invalid input detected at '^' marker.", ""]
        return getattr(self, "do_" + result.handler)(result) or []

    def do_hostname(self, m: Match):
        self.st.hostname = m.args["name"]

    def do_vlan(self, m: Match):
        for v in m.args["vids"]:
            self.st.vlans.setdefault(v, None)
        self.mode, self.ctx = "config-vlan", m.args["vids"]

    def do_no_vlan(self, m: Match):
        if 1 in m.args["vids"]:
            raise CliError("%Default VLAN 1 may not be deleted.")
        for v in m.args["vids"]:
            self.st.vlans.pop(v, None)

    def do_vlan_name(self, m: Match):
        for v in self.ctx:
            self.st.vlans[v] = m.args["name"]

    def do_vlan_no_name(self, m: Match):
        for v in self.ctx:
            if v in self.st.vlans:
                self.st.vlans[v] = None

    def do_interface(self, m: Match):
        name = m.args["ifn"]
        if name.startswith("Vlan"):
            self.st.add_svi(int(name[4:]))
        self.mode, self.ctx = "config-if", name

    def do_no_interface(self, m: Match):
        name = m.args["ifn"]
        iface = self.st.interfaces.get(name)
        if iface is not None and not iface.is_svi:
            raise CliError("% Removal of physical interfaces is not permitted")
        self.st.interfaces.pop(name, None)

    def _if(self):
        return self.st.interfaces[self.ctx]

    def do_shutdown(self, m: Match):
        self._if().shutdown = True

    def do_no_shutdown(self, m: Match):
        self._if().shutdown = False

    def do_description(self, m: Match):
        self._if().description = m.args["text"]

    def do_no_description(self, m: Match):
        self._if().description = None

    def do_sw_mode(self, m: Match):
        self._if().mode = "trunk" if m.has("trunk") else "access"

    def do_sw_no_mode(self, m: Match):
        self._if().mode = None

    def do_sw_access(self, m: Match):
        vid, out = m.args["vid"], []
        if vid not in self.st.vlans:
            self.st.vlans[vid] = None
            out = [f"% Access VLAN does not exist. Creating vlan {vid}"]
        self._if().access_vlan = vid
        return out

    def do_sw_no_access(self, m: Match):
        self._if().access_vlan = 1

    def do_sw_allowed(self, m: Match):
        iface = self._if()
        current = set(range(1, 4095)) if iface.trunk_allowed is None else set(iface.trunk_allowed)
        given = set(m.args.get("vids", []))
        if m.has("all"):
            new = set(range(1, 4095))
        elif m.has("none"):
            new = set()
        elif m.has("add"):
            new = current | given
        elif m.has("remove"):
            new = current - given
        elif m.has("except"):
            new = set(range(1, 4095)) - given
        else:
            new = given
        iface.trunk_allowed = None if len(new) == 4094 else sorted(new)

    def do_sw_no_allowed(self, m: Match):
        self._if().trunk_allowed = None

    def do_sw_native(self, m: Match):
        self._if().native_vlan = m.args["vid"]

    def do_sw_no_native(self, m: Match):
        self._if().native_vlan = 1

    def do_ip_address(self, m: Match):
        ip, mask = m.args["ip"], m.args["mask"]
        bits = bin(int(ipaddress.IPv4Address(mask)))[2:].zfill(32)
        if "01" in bits:
            raise CliError(f"Bad mask 0x{int(ipaddress.IPv4Address(mask)):X} for address {ip}")
        net = ipaddress.IPv4Interface(f"{ip}/{mask}")
        if net.network.prefixlen < 31 and net.ip in (net.network.network_address,
                                                     net.network.broadcast_address):
            raise CliError(f"Bad mask /{net.network.prefixlen} for address {ip}")
        for other in self.st.svis():
            if other.name != self.ctx and other.ip:
                theirs = ipaddress.IPv4Interface(f"{other.ip[0]}/{other.ip[1]}").network
                if theirs.overlaps(net.network):
                    raise CliError(f"% {net.network.network_address} overlaps with {other.name}")
        self._if().ip = (ip, mask)

    def do_no_ip_address(self, m: Match):
        self._if().ip = None

    def do_access_group(self, m: Match):
        setattr(self._if(), "acl_in" if m.has("in") else "acl_out", m.args["acl"])

    def do_no_access_group(self, m: Match):
        setattr(self._if(), "acl_in" if m.has("in") else "acl_out", None)

    def do_acl(self, m: Match):
        name = m.args["name"]
        self.st.acls.setdefault(name, Acl(name))
        self.mode, self.ctx = "config-ext-nacl", name

    def do_no_acl(self, m: Match):
        self.st.acls.pop(m.args["name"], None)

    def do_line_mode(self, m: Match):
        self.mode, self.ctx = "config-line", None

    def _acl(self) -> Acl:
        # The list may have been removed from another session meanwhile; IOS recreates it.
        return self.st.acls.setdefault(self.ctx, Acl(self.ctx))

    def _next_seq(self, acl: Acl) -> int:
        return (max((r.seq for r in acl.rules), default=0) // 10 + 1) * 10

    @staticmethod
    def _action_protocol(words: list) -> tuple[str, str]:
        action = next(w for w in words if w in ("permit", "deny"))
        protocol = next(w for w in words if w in ("ip", "icmp", "tcp", "udp"))
        return action, protocol

    def do_ace(self, m: Match):
        acl = self._acl()
        seq = m.args.get("seq") or self._next_seq(acl)
        if acl.rule(seq):
            raise CliError("% Duplicate sequence number")
        rule = make_rule(seq, *self._action_protocol(m.words), m.args)
        if any(r.same_match(rule) for r in acl.rules):
            return []  # IOS keeps one copy of an identical entry
        acl.put(rule)

    def do_no_ace(self, m: Match):
        acl = self._acl()
        probe = make_rule(0, *self._action_protocol(m.words), m.args)
        hit = next((r for r in acl.sorted_rules() if r.same_match(probe)), None)
        if hit:
            acl.rules.remove(hit)

    def do_no_ace_seq(self, m: Match):
        acl = self._acl()
        acl.rules = [r for r in acl.rules if r.seq != m.args["seq"]]

    def do_remark(self, m: Match):
        acl = self._acl()
        acl.put(AclRule(self._next_seq(acl), "remark", remark=m.args["text"]))
