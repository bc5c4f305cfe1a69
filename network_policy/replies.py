"""What a switch's replies mean: a refused line, and whether a prompt is the mode a line should
leave the session in.

Pure functions over text, so every dialect's wording is tested without a device. A switch says
"no" in many ways (IOS "% Invalid input", VRP "Error: Unrecognized command", Comware "% Wrong
parameter", a simulator's "No such command"), and sometimes says nothing at all while ignoring
the line: then only the prompt shows it (a line that should open an ACL leaves the session where
it was; a configuration line lands at an exec prompt).
"""
from __future__ import annotations

import re

# A refusal starts its line (after blanks). Anchored so that a configuration that merely contains
# these words (a description, a cipher text starting with %) is not taken for one.
_REFUSAL = re.compile(
    r"^\s*(?:"
    r"%\s*(?:Invalid|Incomplete|Ambiguous|Unknown|Unrecognized|Unrecognised|Wrong|Too many|Bad|Error|"
    r"Duplicate|Access denied|Permission denied|Not allowed|Command rejected|Command authorization failed|"
    r"Authorization failed|Cannot|Can't|Unable)"
    r"|%[^\n]*\bnot (?:allowed|permitted|supported)\b"
    r"|Error\s*:"                                        # VRP: "Error: ...", "Error:Too many parameters"
    r"|No such command"                                  # fake-switches
    r"|Command rejected"
    r"|(?:Unknown|Unrecognized|Incomplete|Ambiguous|Invalid) (?:command|input|parameter)"
    r"|Too many parameters|Wrong parameter"
    r"|(?:Permission|Access) denied"
    r"|Command authorization failed"
    r")",
    re.IGNORECASE | re.MULTILINE)

# Lines that open a sub-mode (an ACL, an interface, a VLAN); removals ("no ...", "undo ...") do not.
_ENTERS = {"cisco_ios": re.compile(r"^(?:interface|ip access-list|line|router)\s|^vlan \d+$"),
           "huawei": re.compile(r"^(?:interface|acl|user-interface)\s|^vlan \d+$"),
           "hp_comware": re.compile(r"^(?:interface|acl|line)\s|^vlan \d+$")}
_LEAVES = {"cisco_ios": {"exit"}, "huawei": {"quit"}, "hp_comware": {"quit"}}

_EXEC = {"cisco_ios": re.compile(r"^[^\s()]+#$"), "huawei": re.compile(r"^<[^<>\s]+>$"),
         "hp_comware": re.compile(r"^<[^<>\s]+>$")}
_CONFIG = {"cisco_ios": re.compile(r"^[^\s()]+\(config[^()\s]*\)#$"),
           "huawei": re.compile(r"^\[[~*]?[^\[\]\s]+\]$"), "hp_comware": re.compile(r"^\[[~*]?[^\[\]\s]+\]$")}


def refusal(output: str) -> str | None:
    """The first line of ``output`` in which the device refuses what it was sent, or None."""
    m = _REFUSAL.search(output)
    if m is None:
        return None
    end = output.find("\n", m.start())
    return output[m.start():end if end >= 0 else None].strip()


def is_exec_prompt(vendor: str, prompt: str) -> bool:
    """Privileged exec (IOS ``Switch#``) or user view (VRP/Comware ``<HUAWEI>``): where reads run."""
    return bool(_EXEC[vendor].match(prompt.strip()))


def is_config_prompt(vendor: str, prompt: str) -> bool:
    return bool(_CONFIG[vendor].match(prompt.strip()))


def wrong_mode(vendor: str, line: str, top: str, before: str, after: str) -> str | None:
    """Why ``after`` (the prompt once ``line`` ran at prompt ``before``) is not where the line should
    have left the session; None when it is. ``top`` is the global configuration prompt.

    The rendered lines nest one level: a line that opens an ACL or interface must leave the global
    prompt; ``exit``/``quit`` must come back to it; an indented line belongs in a sub-mode; any other
    line stays where it was sent."""
    after, before, top = after.strip(), before.strip(), top.strip()
    if not is_config_prompt(vendor, after):
        return f"the device left configuration mode (prompt {after!r})"
    text = line.strip()
    if text in _LEAVES[vendor]:
        return None if after == top else f"the device did not return to {top!r} (prompt {after!r})"
    if _ENTERS[vendor].search(text):
        return None if after != top else f"the device did not enter the line's mode (prompt stayed {after!r})"
    if line[:1].isspace() and before == top:
        return f"the line belongs in a sub-mode but the device is at {top!r}"
    return None if after == before else f"the device moved from {before!r} to {after!r}"
