"""H3C Comware 7 command line: VRP's views with Comware's own words.

`<H3C>`, `[H3C]`, `[H3C-GigabitEthernet1/0/1]`, `[H3C-Vlan-interface10]`, `[H3C-vlan10]`,
`[H3C-acl-ipv4-adv-3001]`; `screen-length disable`, `save force`, `port access vlan`,
`port trunk permit vlan`, `packet-filter 3001 inbound`, errors start with "% ".
"""
from __future__ import annotations

from . import render_comware
from .cli import Match
from .state import Acl
from .vrp import DISPLAY, RULES, VrpDialect

LEAVE = [("quit", "quit"), ("return", "return")]
USER = DISPLAY + LEAVE + [
    ("screen-length disable", "noop"),
    ("system-view", "system_view"),
    ("save [force]", "save"),
]
SYSTEM = DISPLAY + LEAVE + [
    ("save [force]", "save"),
    ("sysname <name:word:-64>", "sysname"),
    ("vlan <vids:vlanwords>", "vlan"),
    ("undo vlan <vids:vlanwords>", "undo_vlan"),
    ("interface <ifn:ifname>", "interface"),
    ("undo interface <ifn:ifname>", "undo_interface"),
    ("acl {advanced|number} <num:int:3000-3999>", "acl"),
    ("acl advanced name <name:word:-63>", "acl"),
    ("undo acl {advanced|number} <num:int:3000-3999>", "undo_acl"),
    ("undo acl advanced name <name:word>", "undo_acl"),
    ("undo acl all", "undo_acl"),
    ("version <x:line>", "noop"),
    ("stp global enable", "noop"),
    ("local-user <u:word> [class manage]", "local_user"),
    ("line {class|aux|vty} <a:word> [<b:int:0-63>]", "user_interface"),
    ("ssh server enable", "noop"),
]
VLAN = DISPLAY + LEAVE + [
    ("name <text:word:-32>", "vlan_name"),
    ("description <text:line>", "vlan_name"),
    ("undo name", "vlan_no_name"),
    ("undo description", "vlan_no_name"),
]
IF_COMMON = [
    ("shutdown", "shutdown"),
    ("undo shutdown", "no_shutdown"),
    ("description <text:line>", "description"),
    ("undo description", "no_description"),
]
IF_PHY = DISPLAY + LEAVE + IF_COMMON + [
    ("port link-mode bridge", "noop"),
    ("port link-type {access|trunk|hybrid}", "link_type"),
    ("undo port link-type", "no_link_type"),
    ("port access vlan <vid:int:1-4094>", "access_vlan"),
    ("undo port access vlan", "no_access_vlan"),
    ("port trunk permit vlan {all|<vids:vlanwords>}", "allow_pass"),
    ("undo port trunk permit vlan {all|<vids:vlanwords>}", "undo_allow_pass"),
    ("port trunk pvid vlan <vid:int:1-4094>", "pvid"),
    ("undo port trunk pvid vlan", "no_pvid"),
]
IF_SVI = DISPLAY + LEAVE + IF_COMMON + [
    ("ip address <ip:ip> {<mask:dotted>|<len:int:1-32>}", "ip_address"),
    ("undo ip address", "no_ip_address"),
    ("packet-filter {<num:int:2000-4999>|name <name:word>} {inbound|outbound}", "packet_filter"),
    ("undo packet-filter {<num:int:2000-4999>|name <name:word>} {inbound|outbound}",
     "undo_packet_filter"),
]
ACL = DISPLAY + LEAVE + [(r, "rule") for r in RULES] + [
    ("undo rule <seq:int:0-65534>", "undo_rule"),
]
LOCAL_USER = DISPLAY + LEAVE + [
    ("password {simple|hash|cipher} <x:line>", "noop"),
    ("service-type {ssh|telnet|terminal|http|https}", "noop"),
    ("authorization-attribute user-role <r:word>", "noop"),
]
UI = DISPLAY + LEAVE + [
    ("authentication-mode {scheme|password|none}", "noop"),
    ("user-role <r:word>", "noop"),
    ("protocol inbound {ssh|telnet|all}", "noop"),
]


class ComwareDialect(VrpDialect):
    vendor = "hp_comware"
    PATTERNS = {"user": USER, "system": SYSTEM, "vlan": VLAN, "interface": IF_PHY,
                "interface-svi": IF_SVI, "acl": ACL, "luser": LOCAL_USER, "ui": UI}
    PARENT = {"vlan": "system", "interface": "system", "acl": "system", "luser": "system",
              "ui": "system"}
    SVI_TYPE = "Vlan-interface"
    ERROR = "% "
    FIRST_RULE = 0           # Comware numbers rules 0, 5, 10 ...
    STRICT_LINK_TYPE = False
    render = render_comware

    def view_label(self) -> str:
        if self.mode == "acl":
            return f"acl-ipv4-adv-{self.ctx}"
        if self.mode == "luser":
            return f"luser-manage-{self.ctx}"
        return super().view_label()

    def banner(self) -> list[str]:
        star = "*" * 78
        return ["", star,
                "* Copyright (c) 2004-2021 New H3C Technologies Co., Ltd. All rights reserved.*",
                "* Without the owner's prior written consent,                                 *",
                "* no decompiling or reverse-engineering shall be allowed.                    *",
                star, ""]

    def is_error(self, line: str) -> bool:
        return line.startswith("%")

    def do_save(self, m: Match):
        done = ["Validating file. Please wait...",
                "Saved the current configuration to mainboard device successfully."]
        if m.has("force"):
            self.device.save(self.st)
            return done

        def filename(text: str) -> list[str]:
            self.device.save(self.st)
            return done

        def sure(text: str) -> list[str]:
            if text.strip().lower() not in ("y", "yes"):
                return []
            self.ask("(To leave the existing filename unchanged, press the enter key):",
                     filename)
            return ["Please input the file name(*.cfg)[flash:/startup.cfg]"]
        self.ask("The current configuration will be written to the device. "
                 "Are you sure? [Y/N]:", sure)
        return []

    def do_vlan(self, m: Match):
        vids = m.args["vids"]
        for v in vids:
            self.st.vlans.setdefault(v, None)
        if len(vids) == 1:
            self.mode, self.ctx = "vlan", vids[0]

    def do_undo_vlan(self, m: Match):
        if 1 in m.args["vids"]:
            raise self.fail("VLAN 1 is the default VLAN and cannot be deleted.")
        for v in m.args["vids"]:
            self.st.vlans.pop(v, None)

    def do_acl(self, m: Match):
        if "name" in m.args:
            key = m.args["name"]
            self.st.acls.setdefault(key, Acl(key, None))
        else:
            key = self._acl_key(m, must_exist=False)
            self.st.acls.setdefault(key, Acl(key, m.args["num"]))
        self.mode, self.ctx = "acl", key

    def do_access_vlan(self, m: Match):
        iface, vid = self._if(), m.args["vid"]
        if iface.mode == "trunk":
            raise self.fail("Please set the link type of the port to access first.")
        if vid not in self.st.vlans:
            raise self.fail(f"VLAN {vid} does not exist.")
        iface.access_vlan = vid

    def do_packet_filter(self, m: Match):
        self.do_traffic_filter(m)

    def do_undo_packet_filter(self, m: Match):
        self.do_undo_traffic_filter(m)

    def do_local_user(self, m: Match):
        self.mode, self.ctx = "luser", m.args["u"]

    def do_user_interface(self, m: Match):
        self.mode, self.ctx = "ui", "line"
