"""A small command-grammar engine shared by the dialects.

Each CLI mode owns a `Grammar`: a trie built from patterns such as

    "ip access-list extended <name:word>"
    "[<seq:int:1-2147483647>] {permit|deny} {ip|icmp} {any|host <sh:ip>|<sa:ip> <sw:dotted>}"

`{a|b c}` is a choice of sequences, `[..]` is optional, `<name:kind[:lo-hi]>` is a parameter.
Parsing a line walks the trie the way a switch's parser does: keywords may be abbreviated to any
unique prefix, parameters are type-checked, and a failure reports *where* (the column the caret
goes under) and *why* (unrecognised, wrong parameter, incomplete, ambiguous, too many), so each
dialect can print its own error text. Nothing here knows about a vendor.
"""
from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from typing import Any

# Why a line failed; the dialects map these onto their own messages.
UNRECOGNIZED = "unrecognized"   # a keyword nobody knows at this position
WRONG_PARAM = "wrong_param"     # a parameter was expected and this token is not a valid one
INCOMPLETE = "incomplete"       # the line stopped before a complete command
AMBIGUOUS = "ambiguous"         # a prefix of more than one keyword
TOO_MANY = "too_many"           # a complete command followed by more tokens


class CliError(Exception):
    """Raised by a handler when a well-formed command is refused; `lines` is printed as is."""

    def __init__(self, *lines: str) -> None:
        super().__init__("\n".join(lines))
        self.lines = list(lines)


@dataclass(frozen=True)
class Token:
    text: str
    start: int  # column inside the line, for the caret


def tokenize(line: str) -> list[Token]:
    return [Token(m.group(), m.start()) for m in re.finditer(r"\S+", line)]


@dataclass
class ParseFailure:
    why: str
    pos: int          # column of the offending token (or the end of the line)
    token: str = ""


@dataclass
class Match:
    handler: str
    args: dict[str, Any]
    words: list[Any]   # canonical keywords and converted parameter values, in order
    line: str

    def has(self, keyword: str) -> bool:
        return keyword in self.words


# ---- parameter kinds ----------------------------------------------------------------------

def _dotted(text: str) -> str:
    parts = text.split(".")
    if len(parts) != 4 or not all(p.isdigit() and len(p) <= 3 and int(p) <= 255 for p in parts):
        raise ValueError(text)
    return ".".join(str(int(p)) for p in parts)


def _int(text: str, lo: int | None, hi: int | None) -> int:
    if not text.isdigit():
        raise ValueError(text)
    value = int(text)
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        raise ValueError(text)
    return value


def parse_vlan_list(text: str) -> list[int]:
    """IOS style "10,20-30": sorted unique VLAN ids, each 1..4094."""
    out: set[int] = set()
    for part in text.split(","):
        if "-" in part:
            a, _, b = part.partition("-")
            lo, hi = _int(a, 1, 4094), _int(b, 1, 4094)
            if lo > hi:
                raise ValueError(text)
            out.update(range(lo, hi + 1))
        else:
            out.add(_int(part, 1, 4094))
    return sorted(out)


def parse_vlan_words(text: str) -> list[int]:
    """VRP/Comware style "10 20 30 to 40": sorted unique VLAN ids."""
    words = text.split()
    out: set[int] = set()
    i = 0
    if not words:
        raise ValueError(text)
    while i < len(words):
        lo = _int(words[i], 1, 4094)
        if i + 2 < len(words) and words[i + 1].lower() == "to":
            hi = _int(words[i + 2], 1, 4094)
            if lo > hi:
                raise ValueError(text)
            out.update(range(lo, hi + 1))
            i += 3
        else:
            out.add(lo)
            i += 1
    return sorted(out)


class Param:
    """A typed parameter. `ctx` is the session, asked for anything that depends on state."""

    def __init__(self, name: str, kind: str, lo: int | None = None, hi: int | None = None):
        self.name, self.kind, self.lo, self.hi = name, kind, lo, hi

    @property
    def rest(self) -> bool:
        # These swallow the remainder of the line (free text, VRP VLAN lists).
        return self.kind in ("line", "vlanwords")

    def convert(self, text: str, ctx) -> Any:
        k = self.kind
        if k == "int":
            return _int(text, self.lo, self.hi)
        if k == "word":
            if self.hi is not None and len(text) > self.hi:
                raise ValueError(text)
            return text
        if k == "ip":
            addr = _dotted(text)
            ipaddress.IPv4Address(addr)
            return addr
        if k == "dotted":
            return _dotted(text)
        if k == "vrpwild":  # VRP/Comware accept "0" for a host wildcard
            return "0.0.0.0" if text == "0" else _dotted(text)
        if k == "port":
            return ctx.port_number(text)
        if k == "vlanlist":
            return parse_vlan_list(text)
        if k == "vlanwords":
            return parse_vlan_words(text)
        if k == "ifname":
            return ctx.resolve_ifname(text)
        if k == "line":
            if not text.strip():
                raise ValueError(text)
            return text
        raise AssertionError(f"unknown parameter kind {k}")


# ---- pattern language -------------------------------------------------------------------

_PATTERN_TOKEN = re.compile(r"<[^>]+>|[{}\[\]|]|[^\s{}\[\]|<>]+")


def _parse_pattern(pattern: str) -> list:
    tokens = _PATTERN_TOKEN.findall(pattern)
    pos = 0

    def seq(stop: set[str]) -> list:
        nonlocal pos
        items: list = []
        while pos < len(tokens) and tokens[pos] not in stop:
            t = tokens[pos]
            pos += 1
            if t == "{":
                items.append(("alt", alts("}")))
            elif t == "[":
                items.append(("alt", [*alts("]"), []]))
            elif t.startswith("<"):
                name, kind, *rng = t[1:-1].split(":")
                lo = hi = None
                if rng:
                    a, _, b = rng[0].partition("-")
                    lo, hi = (int(a) if a else None), (int(b) if b else None)
                items.append(("param", Param(name, kind, lo, hi)))
            else:
                items.append(("kw", t.lower()))
        return items

    def alts(close: str) -> list[list]:
        nonlocal pos
        options = [seq({"|", close})]
        while pos < len(tokens) and tokens[pos] == "|":
            pos += 1
            options.append(seq({"|", close}))
        if pos >= len(tokens) or tokens[pos] != close:
            raise ValueError(f"unbalanced pattern: {pattern}")
        pos += 1
        return options

    items = seq(set())
    if pos != len(tokens):
        raise ValueError(f"unbalanced pattern: {pattern}")
    return items


def _expand(items: list) -> list[list]:
    paths: list[list] = [[]]
    for item in items:
        if item[0] == "alt":
            options = [p for opt in item[1] for p in _expand(opt)]
            paths = [a + b for a in paths for b in options]
        else:
            paths = [a + [item] for a in paths]
    return paths


@dataclass
class _Node:
    keywords: dict[str, "_Node"] = field(default_factory=dict)
    params: list[tuple[Param, "_Node"]] = field(default_factory=list)
    handler: str | None = None


class Grammar:
    def __init__(self) -> None:
        self.root = _Node()

    def add(self, pattern: str, handler: str) -> "Grammar":
        for path in _expand(_parse_pattern(pattern)):
            node = self.root
            for kind, value in path:
                if kind == "kw":
                    node = node.keywords.setdefault(value, _Node())
                else:
                    same = next((n for p, n in node.params
                                 if (p.name, p.kind, p.lo, p.hi) ==
                                 (value.name, value.kind, value.lo, value.hi)), None)
                    if same is None:
                        same = _Node()
                        node.params.append((value, same))
                    node = same
            if node.handler not in (None, handler):
                raise ValueError(f"pattern {pattern!r} clashes with handler {node.handler}")
            node.handler = handler
        return self

    def parse(self, line: str, ctx=None) -> Match | ParseFailure:
        tokens = tokenize(line)
        if not tokens:
            return ParseFailure(INCOMPLETE, 0)
        result = self._walk(self.root, tokens, 0, line, ctx, {}, [])
        return result

    def _walk(self, node: _Node, tokens: list[Token], i: int, line: str, ctx,
              args: dict, words: list) -> Match | ParseFailure:
        if i == len(tokens):
            if node.handler:
                return Match(node.handler, dict(args), list(words), line)
            return ParseFailure(INCOMPLETE, len(line.rstrip()) + 1)
        tok = tokens[i]
        if not node.keywords and not node.params:
            return ParseFailure(TOO_MANY, tok.start, tok.text)
        low = tok.text.lower()
        failures: list[ParseFailure] = []
        tried_any = False
        exact = node.keywords.get(low)
        prefixed = [k for k in node.keywords if k.startswith(low)] if exact is None else [low]
        if len(prefixed) == 1:
            tried_any = True
            kw = prefixed[0]
            r = self._walk(node.keywords[kw], tokens, i + 1, line, ctx, args, words + [kw])
            if isinstance(r, Match):
                return r
            failures.append(r)
        for param, child in node.params:
            for width in self._widths(param, tokens, i):
                text = line[tok.start:] if param.rest else " ".join(t.text for t in
                                                                  tokens[i:i + width])
                try:
                    value = param.convert(text.strip() if param.rest else text, ctx)
                except (ValueError, KeyError):
                    continue
                tried_any = True
                nxt = len(tokens) if param.rest else i + width
                r = self._walk(child, tokens, nxt, line, ctx, {**args, param.name: value},
                               words + [value])
                if isinstance(r, Match):
                    return r
                failures.append(r)
        if failures:
            return max(failures, key=lambda f: f.pos)
        if len(prefixed) > 1 and not tried_any:
            return ParseFailure(AMBIGUOUS, tok.start, tok.text)
        why = WRONG_PARAM if node.params else UNRECOGNIZED
        return ParseFailure(why, tok.start, tok.text)

    @staticmethod
    def _widths(param: Param, tokens: list[Token], i: int) -> list[int]:
        # An interface name may be typed as two tokens ("GigabitEthernet 0/1", "Vlan 10").
        if param.kind == "ifname" and i + 1 < len(tokens) and tokens[i].text.isalpha():
            return [1, 2]
        return [1]


def build(patterns: list[tuple[str, str]]) -> Grammar:
    g = Grammar()
    for pattern, handler in patterns:
        g.add(pattern, handler)
    return g
