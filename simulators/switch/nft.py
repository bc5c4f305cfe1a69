"""The switch's routed VLAN interfaces and the ACLs bound to them, as an nftables ruleset, so a
Linux box in a packet lab can forward between VLANs the way the simulated switch would.

`ruleset(state, {110: "eth1", 120: "eth2"})` -> text for `nft -f`. Model:
- the forward chain (policy accept: routing between VLANs with no ACL bound is allowed) jumps
  to one chain per bound ACL and direction: packets entering from a VLAN's interface meet its
  inbound ACL, packets leaving into a VLAN meet that VLAN's outbound ACL;
- an ACL chain `return`s on permit (so the other direction's ACL still gets its say) and
  `drop`s on deny, in sequence order, then applies the ACL's implicit action: deny on IOS,
  permit on VRP and Comware, whose traffic-filter / packet-filter pass unmatched packets;
- the ACLs are IPv4 ACLs: other traffic is not filtered by them, as on the devices;
- an ACL name that is bound but not defined filters nothing (as on the devices);
- an SVI that is shut down routes nothing.
"""
from __future__ import annotations

from .acl import AclRule, AddrMatch, PortMatch
from .state import Interface, SwitchState

TABLE = "siteguard_sw"
IMPLICIT_DENY = {"cisco_ios": True, "huawei": False, "hp_comware": False}


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "").replace('"', "'") + '"'


def _addr(field: str, a: AddrMatch | None) -> str:
    if a is None:
        return ""
    if a.is_host:
        return f"ip {field} {a.address} "
    plen = a.prefix
    if plen is not None:
        return f"ip {field} {a.address}/{plen} "
    mask = ".".join(str(255 - int(o)) for o in a.wildcard.split("."))
    return f"ip {field} & {mask} == {a.address} "


def _port(proto: str, field: str, p: PortMatch | None) -> str:
    if p is None:
        return ""
    return f"{proto} {field} {p.lo if p.lo == p.hi else f'{p.lo}-{p.hi}'} "


def rule_expr(rule: AclRule) -> str:
    """The match part of one ACL entry: `ip protocol tcp ip saddr 10.0.0.0/24 tcp dport 80 `."""
    expr = f"ip protocol {rule.protocol} " if rule.protocol != "ip" else ""
    expr += _addr("saddr", rule.src) + _addr("daddr", rule.dst)
    if rule.protocol in ("tcp", "udp"):
        expr += _port(rule.protocol, "sport", rule.src_port)
        expr += _port(rule.protocol, "dport", rule.dst_port)
    return expr


def _routed(state: SwitchState, ifmap: dict[int, str] | None) -> list[tuple[Interface, str]]:
    out = []
    for svi in state.svis():
        if svi.ip is None:
            continue  # an SVI without an address routes nothing
        if ifmap is None:
            out.append((svi, f"vlan{svi.svi_vlan}"))
        elif svi.svi_vlan in ifmap:
            out.append((svi, ifmap[svi.svi_vlan]))
    return out


def ruleset(state: SwitchState, ifmap: dict[int, str] | None = None,
            implicit_deny: bool | None = None) -> str:
    """nftables text for `state`; `ifmap` maps VLAN id -> Linux interface name (default
    "vlan<ID>" for every SVI with an address); `implicit_deny` overrides the vendor's."""
    deny_last = IMPLICIT_DENY[state.vendor] if implicit_deny is None else implicit_deny
    forward: list[str] = []
    chains: list[tuple[str, list[str]]] = []
    for svi, dev in _routed(state, ifmap):
        if svi.shutdown:
            forward += [f"iifname {_quote(dev)} drop comment {_quote(svi.name + ' shutdown')}",
                        f"oifname {_quote(dev)} drop comment {_quote(svi.name + ' shutdown')}"]
            continue
        for direction, key, match in (("in", svi.acl_in, "iifname"),
                                      ("out", svi.acl_out, "oifname")):
            if key is None:
                continue
            acl = state.acls.get(key)
            if acl is None:
                forward.append(f"# {svi.name} {direction}: ACL {key} is not defined, "
                               f"nothing filtered")
                continue
            chain = f"{direction}_vlan{svi.svi_vlan}"
            forward.append(f"{match} {_quote(dev)} jump {chain}")
            body = [f"# {svi.name} {direction}bound: ACL {acl.name}",
                    "meta nfproto != ipv4 return"]
            for rule in acl.sorted_rules():
                if rule.action == "remark":
                    body.append(f"# remark {rule.remark}")
                    continue
                verdict = "return" if rule.action == "permit" else "drop"
                body.append(f"{rule_expr(rule)}{verdict} comment "
                            f"{_quote(f'{acl.name} {rule.seq} {rule.action}')}")
            body.append(f"drop comment {_quote(acl.name + ' implicit deny')}" if deny_last
                        else f"return comment {_quote(acl.name + ' implicit permit')}")
            chains.append((chain, body))
    lines = [f"# {state.hostname} ({state.vendor}): routed VLAN interfaces and their ACLs",
             f"add table inet {TABLE}", f"delete table inet {TABLE}", "",
             f"table inet {TABLE} {{", "\tchain forward {",
             "\t\ttype filter hook forward priority filter; policy accept;"]
    lines += [f"\t\t{ln}" for ln in forward]
    lines.append("\t}")
    for name, body in chains:
        lines += ["", f"\tchain {name} {{"] + [f"\t\t{ln}" for ln in body] + ["\t}"]
    lines.append("}")
    return "\n".join(lines) + "\n"
