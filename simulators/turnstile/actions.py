"""Everything a test, a scenario or a person can do to a gate, checked the same way everywhere.

`prepare(action, fields, site)` checks the fields and returns a function that performs the
action on a `SimulatedGate` and returns a JSON-friendly result. The HTTP endpoint and the
scenario runner both go through here, so a scenario step and a request mean the same thing.

World actions (instant):
  badge    {person | card, reader: entry|exit}      a card is held to the reader
  pass     {direction: entry|exit, people: 1|2}      people walk into the lane (no card)
  force    {direction}                               someone forces the leaf/arm without a grant
  hold     {seconds, direction}                      the leaf is kept open, nobody passes
  power    {on: bool}                                mains on/off
  fire     {on: bool}                                the fire alarm input
  tamper   {on: bool}                                the housing tamper switch
  garbage  {bytes: 1-4096, to: device|panel|both}   random bytes on the line
People flows (take a few seconds; they react to what the panel does):
  enter    {person | card, wait}          badge at the entry reader, walk in if a grant comes
  exit     {person | card, wait}          the same on the exit side
  tailgate {person | card, direction, wait}  badge, then two people walk through on one grant
  passback {person | card, delay, wait}   enter, hand the card back over the gate, a second
                                          person badges it after `delay` s and walks if let in
`wait` (default 3 s) is how long the person waits for the gate to unlock after badging.
"""
from __future__ import annotations

import time
from typing import Callable

from simulators.control_http import RequestError

from .mechanism import DIRECTIONS
from .site_view import Site, card_from_spec, person_card
from .wiegand import CardBits

DEFAULT_WAIT = 3.0
MAX_WAIT = 120.0

Action = Callable[[object], dict]


def _fields(body: dict, allowed: set[str], required: set[str] = frozenset()) -> None:
    if not isinstance(body, dict):
        raise RequestError("the body must be a JSON object")
    unknown = set(body) - allowed
    if unknown:
        raise RequestError(f"unknown field(s) {', '.join(sorted(map(str, unknown)))}; expected "
                           f"{', '.join(sorted(allowed)) or 'none'}")
    missing = required - set(body)
    if missing:
        raise RequestError(f"missing field(s) {', '.join(sorted(missing))}")


def _bool(body: dict, key: str) -> bool:
    value = body.get(key)
    if not isinstance(value, bool):
        raise RequestError(f"'{key}' must be true or false, not {value!r}")
    return value


def _number(body: dict, key: str, default: float, low: float, high: float) -> float:
    value = body.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise RequestError(f"'{key}' must be a number from {low:g} to {high:g}, not {value!r}")
    return float(value)


def _choice(body: dict, key: str, choices: tuple[str, ...], default: str) -> str:
    value = body.get(key, default)
    if value not in choices:
        raise RequestError(f"'{key}' must be one of {', '.join(choices)}, not {value!r}")
    return value


def _card(body: dict, site: Site) -> CardBits:
    if ("person" in body) == ("card" in body):
        raise RequestError("give exactly one of 'person' (a person id from the site file) or "
                           "'card' ({\"format\": \"wiegand26\", \"facility\": 12, "
                           "\"number\": 345})")
    try:
        if "person" in body:
            if not isinstance(body["person"], str):
                raise ValueError(f"'person' must be a person id string, not {body['person']!r}")
            return person_card(site, body["person"])
        return card_from_spec(body["card"])
    except ValueError as exc:
        raise RequestError(str(exc)) from None


def _badge_and_walk(gate, card: CardBits, direction: str, people: int, wait: float) -> dict:
    read = gate.present_card(card, "entry" if direction == "entry" else "exit")
    if read["result"] != "read":
        return {"result": read["result"], "card": card.as_dict()}
    if not gate.wait_free(direction, wait):
        return {"result": "no_grant", "card": card.as_dict(), "waited": wait}
    outcome = gate.walk(direction, people)
    gate.wait_idle(5.0)
    return {**outcome, "card": card.as_dict()}


def prepare(action: str, body: dict, site: Site) -> Action:
    """Check an action's fields; return what performs it on a gate."""
    if body is None:
        body = {}
    if action == "badge":
        _fields(body, {"person", "card", "reader"})
        card, reader = _card(body, site), _choice(body, "reader", ("entry", "exit"), "entry")
        return lambda gate: gate.present_card(card, reader)
    if action == "pass":
        _fields(body, {"direction", "people"})
        direction = _choice(body, "direction", DIRECTIONS, "entry")
        people = body.get("people", 1)
        if people not in (1, 2) or isinstance(people, bool):
            raise RequestError(f"'people' must be 1 or 2, not {people!r}")
        return lambda gate: gate.walk(direction, people)
    if action == "force":
        _fields(body, {"direction"})
        direction = _choice(body, "direction", DIRECTIONS, "entry")
        return lambda gate: gate.force(direction)
    if action == "hold":
        _fields(body, {"seconds", "direction"}, {"seconds"})
        seconds = _number(body, "seconds", 0, 0.1, 3600)
        direction = _choice(body, "direction", DIRECTIONS, "entry")
        return lambda gate: gate.hold(seconds, direction)
    if action in ("power", "fire", "tamper"):
        _fields(body, {"on"}, {"on"})
        on = _bool(body, "on")
        method = {"power": "set_power", "fire": "set_fire", "tamper": "set_tamper"}[action]
        return lambda gate: getattr(gate, method)(on)
    if action == "garbage":
        _fields(body, {"bytes", "to"})
        count = body.get("bytes", 64)
        if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= 4096:
            raise RequestError(f"'bytes' must be a whole number from 1 to 4096, not {count!r}")
        to = _choice(body, "to", ("device", "panel", "both"), "both")
        return lambda gate: gate.inject_garbage(count, to)
    if action in ("enter", "exit"):
        _fields(body, {"person", "card", "wait"})
        card, wait = _card(body, site), _number(body, "wait", DEFAULT_WAIT, 0, MAX_WAIT)
        direction = "entry" if action == "enter" else "exit"
        return lambda gate: _badge_and_walk(gate, card, direction, 1, wait)
    if action == "tailgate":
        _fields(body, {"person", "card", "direction", "wait"})
        card, wait = _card(body, site), _number(body, "wait", DEFAULT_WAIT, 0, MAX_WAIT)
        direction = _choice(body, "direction", DIRECTIONS, "entry")
        return lambda gate: _badge_and_walk(gate, card, direction, 2, wait)
    if action == "passback":
        _fields(body, {"person", "card", "delay", "wait"})
        card, wait = _card(body, site), _number(body, "wait", DEFAULT_WAIT, 0, MAX_WAIT)
        delay = _number(body, "delay", 2.0, 0, 600)

        def passback(gate) -> dict:
            first = _badge_and_walk(gate, card, "entry", 1, wait)
            time.sleep(delay)  # the card goes back over the gate to the next person
            second = _badge_and_walk(gate, card, "entry", 1, wait)
            return {"result": "passback", "first": first, "second": second}
        return passback
    raise RequestError(f"no action {action!r}; actions: {', '.join(ACTIONS)}", 404)


ACTIONS = ("badge", "pass", "force", "hold", "power", "fire", "tamper", "garbage",
           "enter", "exit", "tailgate", "passback")
