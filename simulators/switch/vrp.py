"""Huawei VRP (S-series access switch, V200R0xx) command line.

Views and prompts as on the device: `<HUAWEI>` (user view), `[HUAWEI]` (system view),
`[HUAWEI-GigabitEthernet0/0/1]`, `[HUAWEI-Vlanif10]`, `[HUAWEI-vlan10]`, `[HUAWEI-acl-adv-3001]`.
`display` commands work in every view. ComwareDialect (comware.py) reuses most of this.
"""
from __future__ import annotations

import datetime as dt
import ipaddress
import re

from . import render_vrp
from .acl import make_rule
from .cli import AMBIGUOUS, INCOMPLETE, TOO_MANY, UNRECOGNIZED, WRONG_PARAM, CliError, Match, \
    ParseFailure
from .dialect import Dialect, format_caret
from .state import Acl

SRC = "[source {any|<sa:ip> <sw:vrpwild>}]"
DST = "[destination {any|<da:ip> <dw:vrpwild>}]"
SPORT = "[source-port {eq <sp:port>|range <sp:port> <sp2:port>}]"
DPORT = "[destination-port {eq <dp:port>|range <dp:port> <dp2:port>}]"
RULES = [f"rule [<seq:int:0-4294967294>] {{permit|deny}} {{ip|icmp}} {SRC} {DST}",
         f"rule [<seq:int:0-4294967294>] {{permit|deny}} {{tcp|udp}} {SRC} {DST} {SPORT} {DPORT}"]

DISPLAY = [
    ("display current-configuration", "show_run"),
    ("display saved-configuration", "show_saved"),
    ("display vlan [brief]", "show_vlan"),
    ("display acl all", "show_acl"),
    ("display acl <num:int:2000-4999>", "show_acl"),
    ("display acl name <name:word>", "show_acl"),
    ("display ip interface brief", "show_ip_int"),
    ("display version", "show_version"),
]
LEAVE = [("quit", "quit"), ("return", "return")]
USER = DISPLAY + LEAVE + [
    ("screen-length <n:int:0-512> temporary", "screen_length"),
    ("system-view", "system_view"),
    ("save", "save"),
]
SYSTEM = DISPLAY + LEAVE + [
    ("save", "save"),
    ("sysname <name:word:-246>", "sysname"),
    ("vlan <vid:int:1-4094>", "vlan"),
    ("vlan batch <vids:vlanwords>", "vlan_batch"),
    ("undo vlan <vid:int:1-4094>", "undo_vlan"),
    ("undo vlan batch <vids:vlanwords>", "undo_vlan_batch"),
    ("interface <ifn:ifname>", "interface"),
    ("undo interface <ifn:ifname>", "undo_interface"),
    ("acl [number] <num:int:3000-3999>", "acl"),
    ("acl name <name:word:-32> {advance|<num:int:3000-3999>}", "acl"),
    ("undo acl {[number] <num:int:3000-3999>|name <name:word>|all}", "undo_acl"),
    # Printed by `display current-configuration` around the interesting parts.
    ("stp enable", "noop"),
    ("stp mode {stp|rstp|mstp}", "noop"),
    ("aaa", "aaa"),
    ("user-interface {con|vty} <a:int:0-14> [<b:int:0-14>]", "user_interface"),
]
VLAN = DISPLAY + LEAVE + [
    ("description <text:line>", "vlan_name"),
    ("name <text:word:-31>", "vlan_name"),
    ("undo description", "vlan_no_name"),
    ("undo name", "vlan_no_name"),
]
IF_COMMON = [
    ("shutdown", "shutdown"),
    ("undo shutdown", "no_shutdown"),
    ("description <text:line>", "description"),
    ("undo description", "no_description"),
]
IF_PHY = DISPLAY + LEAVE + IF_COMMON + [
    ("port link-type {access|trunk|hybrid}", "link_type"),
    ("undo port link-type", "no_link_type"),
    ("port default vlan <vid:int:1-4094>", "access_vlan"),
    ("undo port default vlan", "no_access_vlan"),
    ("port trunk allow-pass vlan {all|<vids:vlanwords>}", "allow_pass"),
    ("undo port trunk allow-pass vlan {all|<vids:vlanwords>}", "undo_allow_pass"),
    ("port trunk pvid vlan <vid:int:1-4094>", "pvid"),
    ("undo port trunk pvid vlan", "no_pvid"),
]
IF_SVI = DISPLAY + LEAVE + IF_COMMON + [
    ("ip address <ip:ip> {<mask:dotted>|<len:int:1-32>}", "ip_address"),
    ("undo ip address", "no_ip_address"),
    ("traffic-filter {inbound|outbound} acl {<num:int:2000-4999>|name <name:word>}",
     "traffic_filter"),
    ("undo traffic-filter {inbound|outbound}", "undo_traffic_filter"),
]
ACL = DISPLAY + LEAVE + [(r, "rule") for r in RULES] + [
    ("undo rule <seq:int:0-4294967294>", "undo_rule"),
]
AAA = DISPLAY + LEAVE + [("local-user <u:word> <x:line>", "noop")]
UI = DISPLAY + LEAVE + [
    ("authentication-mode {aaa|password|none}", "noop"),
    ("protocol inbound {ssh|telnet|all}", "noop"),
    ("user privilege level <n:int:0-15>", "noop"),
]

IF_NAME = re.compile(r"([A-Za-z][A-Za-z-]*)\s*(\d+(?:/\d+)*)")


class VrpDialect(Dialect):
    vendor = "huawei"
    INITIAL_MODE = "user"
    CONFIG_ENTRY_MODE = "system"
    EXEC_MODES = ("user",)
    PATTERNS = {"user": USER, "system": SYSTEM, "vlan": VLAN, "interface": IF_PHY,
                "interface-svi": IF_SVI, "acl": ACL, "aaa": AAA, "ui": UI}
    PARENT = {"vlan": "system", "interface": "system", "acl": "system", "aaa": "system",
              "ui": "system"}
    SVI_TYPE = "Vlanif"
    ERROR = "Error: "
    FIRST_RULE = 5          # VRP numbers rules 5, 10, 15 ...
    RULE_STEP = 5
    STRICT_LINK_TYPE = True  # VRP refuses to change link type over non-default VLAN settings
    render = render_vrp

    # ---- look -----------------------------------------------------------------------------
    def prompt(self) -> str:
        h = self.hostname
        if self.mode == "user":
            return f"<{h}>"
        if self.mode == "system":
            return f"[{h}]"
        return f"[{h}-{self.view_label()}]"

    def view_label(self) -> str:
        if self.mode == "interface":
            return self.ctx
        if self.mode == "vlan":
            return f"vlan{self.ctx}"
        if self.mode == "acl":
            return f"acl-adv-{self.ctx}"
        if self.mode == "ui":
            return self.ctx
        return self.mode

    def banner(self) -> list[str]:
        now = dt.datetime.now().strftime("%Y-%m-%d %H:%M:%S")
        return ["", "Info: The max number of VTY users is 5, and the number",
                "      of current VTY users on line is 1.",
                f"      The current login time is {now}."]

    def grammar_key(self) -> str:
        if self.mode == "interface":
            iface = self.st.interfaces.get(self.ctx)
            return "interface-svi" if iface is not None and iface.is_svi else "interface"
        return self.mode

    MESSAGES = {UNRECOGNIZED: "Unrecognized command", WRONG_PARAM: "Wrong parameter",
                INCOMPLETE: "Incomplete command", AMBIGUOUS: "Ambiguous command",
                TOO_MANY: "Too many parameters"}

    def failure_lines(self, failure: ParseFailure, line: str) -> list[str]:
        return [format_caret(self.prompt(), failure.pos),
                f"{self.ERROR}{self.MESSAGES[failure.why]} found at '^' position."]

    def is_error(self, line: str) -> bool:
        return line.startswith(self.ERROR)

    def skip_when_loading(self, line: str) -> bool:
        s = line.strip()
        return not s or s.startswith("#") or s.startswith("!") or s == "return"

    def fail(self, text: str) -> CliError:
        return CliError(f"{self.ERROR}{text}")

    def resolve_ifname(self, text: str) -> str:
        m = IF_NAME.fullmatch(text.replace(" ", ""))
        if not m:
            raise ValueError(text)
        typed, number = m.groups()
        present = {re.match(r"\D+", i.name).group() for i in self.st.physical()}
        present.add(self.SVI_TYPE)
        types = [t for t in sorted(present) if t.lower().startswith(typed.lower())]
        if len(types) != 1:
            raise ValueError(text)
        name = types[0] + number
        if types[0] == self.SVI_TYPE:
            if "/" in number or not 1 <= int(number) <= 4094:
                raise ValueError(text)
            return name
        if name not in self.st.interfaces:
            raise ValueError(text)
        return name

    # ---- user view -------------------------------------------------------------------------
    def do_noop(self, m: Match):
        return []

    def do_show_run(self, m: Match):
        return self.render.running_config(self.st, self.device_username())

    def do_show_saved(self, m: Match):
        return self.render.startup_config(self.device.saved, self.device_username())

    def device_username(self) -> str | None:
        return getattr(self.device, "username", None)

    def do_show_vlan(self, m: Match):
        return self.render.vlans(self.st, brief=m.has("brief"))

    def do_show_acl(self, m: Match):
        return self.render.acls(self.st, self._acl_key(m, must_exist=False)
                                if not m.has("all") else None)

    def do_show_ip_int(self, m: Match):
        return self.render.ip_interface_brief(self.st)

    def do_show_version(self, m: Match):
        return self.render.version(self.st)

    def do_screen_length(self, m: Match):
        return ["Info: The configuration takes effect on the current user terminal "
                "interface only."]

    def do_system_view(self, m: Match):
        self.mode, self.ctx = "system", None
        return ["Enter system view, return user view with Ctrl+Z."]

    def do_save(self, m: Match):
        def answer(text: str) -> list[str]:
            if text.strip().lower() not in ("y", "yes"):
                return []
            self.device.save(self.st)
            return ["Now saving the current configuration to the slot 0.",
                    "Save the configuration successfully."]
        self.ask("Are you sure to continue?[Y/N]", answer)
        return ["The current configuration will be written to the device."]

    def do_quit(self, m: Match):
        if self.mode == "user":
            self.closing = True
        elif self.mode == "system":
            self.mode = "user"
        else:
            self.mode = "system"
        self.ctx = None

    def do_return(self, m: Match):
        self.mode, self.ctx = "user", None

    # ---- system view -----------------------------------------------------------------------
    def do_sysname(self, m: Match):
        self.st.hostname = m.args["name"]

    def do_vlan(self, m: Match):
        self.st.vlans.setdefault(m.args["vid"], None)
        self.mode, self.ctx = "vlan", m.args["vid"]

    def do_vlan_batch(self, m: Match):
        for v in m.args["vids"]:
            self.st.vlans.setdefault(v, None)

    def do_undo_vlan(self, m: Match):
        vid = m.args["vid"]
        if vid == 1:
            raise self.fail("The default VLAN cannot be deleted.")
        if vid not in self.st.vlans:
            raise self.fail("The VLAN does not exist.")
        del self.st.vlans[vid]

    def do_undo_vlan_batch(self, m: Match):
        if 1 in m.args["vids"]:
            raise self.fail("The default VLAN cannot be deleted.")
        for v in m.args["vids"]:
            self.st.vlans.pop(v, None)

    def do_vlan_name(self, m: Match):
        self.st.vlans[self.ctx] = m.args["text"]

    def do_vlan_no_name(self, m: Match):
        self.st.vlans[self.ctx] = None

    def do_interface(self, m: Match):
        name = m.args["ifn"]
        if name.startswith(self.SVI_TYPE):
            self.st.add_svi(int(name[len(self.SVI_TYPE):]))
        self.mode, self.ctx = "interface", name

    def do_undo_interface(self, m: Match):
        name = m.args["ifn"]
        iface = self.st.interfaces.get(name)
        if iface is not None and not iface.is_svi:
            raise self.fail("The interface cannot be deleted.")
        if iface is None:
            raise self.fail("The interface does not exist.")
        del self.st.interfaces[name]

    def do_aaa(self, m: Match):
        self.mode, self.ctx = "aaa", None

    def do_user_interface(self, m: Match):
        kind = "con" if m.has("con") else "vty"
        a, b = m.args["a"], m.args.get("b")
        self.mode, self.ctx = "ui", f"ui-{kind}{a}" + (f"-{b}" if b is not None else "")

    # ---- ACLs ------------------------------------------------------------------------------
    def _acl_key(self, m: Match, must_exist: bool = True) -> str | None:
        if "name" in m.args:
            key = m.args["name"]
        elif "num" in m.args:
            key = next((a.name for a in self.st.acls.values() if a.number == m.args["num"]),
                       str(m.args["num"]))
        else:
            return None
        if must_exist and key not in self.st.acls:
            raise self.fail("The ACL does not exist.")
        return key

    def do_acl(self, m: Match):
        if "name" in m.args:
            name = m.args["name"]
            if name.isdigit():
                raise self.fail("The ACL name cannot be all digits.")
            if name not in self.st.acls:
                num = m.args.get("num") or self._free_number()
                if any(a.number == num for a in self.st.acls.values()):
                    raise self.fail("The ACL number has been used.")
                self.st.acls[name] = Acl(name, num)
            key = name
        else:
            key = self._acl_key(m, must_exist=False)
            self.st.acls.setdefault(key, Acl(key, m.args["num"]))
        self.mode, self.ctx = "acl", key

    def _free_number(self) -> int:
        used = {a.number for a in self.st.acls.values()}
        for n in range(3999, 2999, -1):
            if n not in used:
                return n
        raise self.fail("No ACL number is available.")

    def do_undo_acl(self, m: Match):
        if m.has("all"):
            self.st.acls.clear()
            return
        del self.st.acls[self._acl_key(m)]

    def _acl(self) -> Acl:
        acl = self.st.acls.get(self.ctx)
        if acl is None:
            raise self.fail("The ACL does not exist.")
        return acl

    def do_rule(self, m: Match):
        acl = self._acl()
        seq = m.args.get("seq")
        if seq is None:
            top = max((r.seq for r in acl.rules), default=None)
            seq = self.FIRST_RULE if top is None else (top // self.RULE_STEP + 1) * self.RULE_STEP
        action = next(w for w in m.words if w in ("permit", "deny"))
        protocol = next(w for w in m.words if w in ("ip", "icmp", "tcp", "udp"))
        acl.put(make_rule(seq, action, protocol, m.args))

    def do_undo_rule(self, m: Match):
        acl = self._acl()
        if acl.rule(m.args["seq"]) is None:
            raise self.fail("The rule does not exist.")
        acl.rules = [r for r in acl.rules if r.seq != m.args["seq"]]

    # ---- interfaces ------------------------------------------------------------------------
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

    def do_link_type(self, m: Match):
        iface = self._if()
        new = next(w for w in m.words if w in ("access", "trunk", "hybrid"))
        if self.STRICT_LINK_TYPE and new != iface.mode and (
                iface.access_vlan != 1 or iface.native_vlan != 1
                or iface.trunk_allowed != self.st.default_trunk()):
            raise self.fail("Please renew the default configurations.")
        iface.mode = new

    def do_no_link_type(self, m: Match):
        iface = self._if()
        if self.STRICT_LINK_TYPE and (iface.access_vlan != 1 or
                                      iface.trunk_allowed != self.st.default_trunk()):
            raise self.fail("Please renew the default configurations.")
        iface.mode = None

    def do_access_vlan(self, m: Match):
        iface, vid = self._if(), m.args["vid"]
        if iface.mode not in ("access", "hybrid"):
            raise self.fail("Please set the link-type of the port to access first.")
        if vid not in self.st.vlans:
            raise self.fail("The VLAN does not exist.")
        iface.access_vlan = vid

    def do_no_access_vlan(self, m: Match):
        self._if().access_vlan = 1

    def _trunk(self):
        iface = self._if()
        if iface.mode not in ("trunk", "hybrid"):
            raise self.fail("Please set the link-type of the port to trunk first.")
        return iface

    def do_allow_pass(self, m: Match):
        iface = self._trunk()
        if m.has("all"):
            iface.trunk_allowed = None
            return
        current = set(range(1, 4095)) if iface.trunk_allowed is None else set(iface.trunk_allowed)
        new = current | set(m.args["vids"])
        iface.trunk_allowed = None if len(new) == 4094 else sorted(new)

    def do_undo_allow_pass(self, m: Match):
        iface = self._trunk()
        if m.has("all"):
            iface.trunk_allowed = []
            return
        current = set(range(1, 4095)) if iface.trunk_allowed is None else set(iface.trunk_allowed)
        iface.trunk_allowed = sorted(current - set(m.args["vids"]))

    def do_pvid(self, m: Match):
        self._trunk().native_vlan = m.args["vid"]

    def do_no_pvid(self, m: Match):
        self._trunk().native_vlan = 1

    def do_ip_address(self, m: Match):
        ip = m.args["ip"]
        if "len" in m.args:
            mask = str(ipaddress.IPv4Network(f"0.0.0.0/{m.args['len']}").netmask)
        else:
            mask = m.args["mask"]
            if "01" in bin(int(ipaddress.IPv4Address(mask)))[2:].zfill(32):
                raise self.fail("The specified mask is invalid.")
        net = ipaddress.IPv4Interface(f"{ip}/{mask}")
        if net.network.prefixlen < 31 and net.ip in (net.network.network_address,
                                                     net.network.broadcast_address):
            raise self.fail("The specified IP address is invalid.")
        for other in self.st.svis():
            if other.name != self.ctx and other.ip:
                theirs = ipaddress.IPv4Interface(f"{other.ip[0]}/{other.ip[1]}").network
                if theirs.overlaps(net.network):
                    raise self.fail("The specified address conflicts with another address.")
        self._if().ip = (ip, mask)

    def do_no_ip_address(self, m: Match):
        self._if().ip = None

    def do_traffic_filter(self, m: Match):
        key = self._acl_key(m, must_exist=False)
        setattr(self._if(), "acl_in" if m.has("inbound") else "acl_out", key)

    def do_undo_traffic_filter(self, m: Match):
        setattr(self._if(), "acl_in" if m.has("inbound") else "acl_out", None)
