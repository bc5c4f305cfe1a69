"""Schedules, access lists and anti-passback per gate come from the site file and reach decide()."""
from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from access_control.credentials import build_credential_db
from access_control.decision import AccessRequest, decide
from access_control.passback import PresenceState, record_passage
from edge_agent.gates import gate_policy
from edge_agent.wire.site import SiteFileError, load_site_file
from tests.unit.test_site_file import BASE

GATE_EXTRA = """\
    passback: {mode: timed, minutes: 30, exempt: [p-002]}
    access:
      roles: [annotator, staff]
      people: [p-003]
      schedules: {annotator: day-shift}
"""
SCHEDULES = """\
schedules:
  - id: day-shift
    windows:
      - {days: mon-fri, time: "08:00-20:00"}
      - {days: sat, time: "22:00-06:00"}
"""
PEOPLE = """\
  - id: p-002
    name: Officer
    role: officer
    badges: [{number: "10002", facility: 12}]
  - id: p-003
    name: Visitor
    role: visitor
    badges: [{number: "10003", facility: 12}]
"""
SHANGHAI = ZoneInfo("Asia/Shanghai")


def site_text(gate_extra: str = GATE_EXTRA, schedules: str = SCHEDULES) -> str:
    marker = '    osdp: {address: 1, channel: "tcp://127.0.0.1:9701"}\n'
    text = BASE.replace(marker, marker + gate_extra).replace("expires: 2026-01-01", "expires: 2030-01-01")
    return text + PEOPLE + schedules


def load(tmp_path: Path, text: str):
    path = tmp_path / "site.yaml"
    path.write_text(text)
    return load_site_file(path)


def problems(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(SiteFileError) as info:
        load(tmp_path, text)
    return [f"{p.line}:{p.field}: {p.message}" for p in info.value.problems]


def creds(site):
    return build_credential_db([p.model_dump(mode="python") for p in site.people])


def at(y, m, d, hh, mm=0) -> dt.datetime:
    return dt.datetime(y, m, d, hh, mm, tzinfo=SHANGHAI)


def badge(n: str) -> str:
    return f"wiegand26:12:{n}"


def test_policy_carries_the_gate_settings(tmp_path):
    site = load(tmp_path, site_text())
    policy = gate_policy(site.gates[0], site)
    assert policy.passback.mode == "timed" and policy.passback.timeout == dt.timedelta(minutes=30)
    assert policy.passback.exempt == {"p-002"}
    assert policy.allowed_roles == {"annotator", "staff"} and policy.allowed_people == {"p-003"}
    assert set(policy.role_schedules) == {"annotator"}
    assert policy.timezone == "Asia/Shanghai"


@pytest.mark.parametrize(("when", "granted"), [
    (at(2026, 11, 23, 9), True),  # Monday morning
    (at(2026, 11, 23, 20, 0), False),  # the window's end is exclusive
    (at(2026, 11, 22, 9), False),  # Sunday
    (at(2026, 11, 28, 23), True),  # Saturday night shift
    (at(2026, 11, 29, 5, 59), True),  # ... running into Sunday morning
    (at(2026, 11, 29, 6, 0), False),
])
def test_an_annotator_is_held_to_the_schedule_on_the_site_clock(tmp_path, when, granted):
    site = load(tmp_path, site_text())
    decision = decide(AccessRequest("gate-main", "entry", badge("10001")), creds(site), PresenceState(),
                      gate_policy(site.gates[0], site), when.astimezone(dt.timezone.utc))
    assert decision.granted == granted, decision
    assert decision.reason == ("granted" if granted else "outside_schedule")


def test_roles_and_named_people(tmp_path):
    site = load(tmp_path, site_text())
    policy, db = gate_policy(site.gates[0], site), creds(site)
    now = at(2026, 11, 23, 9).astimezone(dt.timezone.utc)
    officer = decide(AccessRequest("gate-main", "entry", badge("10002")), db, PresenceState(), policy, now)
    visitor = decide(AccessRequest("gate-main", "entry", badge("10003")), db, PresenceState(), policy, now)
    assert (officer.granted, officer.reason) == (False, "not_allowed_on_gate")
    assert visitor.granted, visitor  # not an allowed role, but named on the gate


def test_exempt_people_pass_back(tmp_path):
    text = site_text(GATE_EXTRA.replace("roles: [annotator, staff]", "roles: [annotator, staff, officer]"))
    site = load(tmp_path, text)
    policy, db = gate_policy(site.gates[0], site), creds(site)
    now = at(2026, 11, 23, 9).astimezone(dt.timezone.utc)
    presence = record_passage(PresenceState(), "p-002", "floor3", now, "gate-main")
    again = decide(AccessRequest("gate-main", "entry", badge("10002")), db, presence, policy, now)
    assert again.granted, again


def test_defaults_are_hard_passback_and_no_limits(tmp_path):
    site = load(tmp_path, site_text(gate_extra="", schedules=""))
    policy = gate_policy(site.gates[0], site)
    assert policy.passback.mode == "hard" and policy.allowed_roles is None and not policy.role_schedules


def test_unknown_schedule_and_people_are_named_with_their_line(tmp_path):
    text = site_text(GATE_EXTRA.replace("day-shift}", "night-shift}").replace("exempt: [p-002]", "exempt: [p-404]"))
    found = problems(tmp_path, text)
    assert any("gates[0].access.schedules.annotator" in p and "unknown schedule 'night-shift'" in p for p in found), found
    assert any("gates[0].passback.exempt[0]" in p and "unknown person 'p-404'" in p for p in found), found


@pytest.mark.parametrize(("bad", "message"), [
    ('{days: mon-fri, time: "8:00-20:00"}', "a time span like 08:00-20:00"),
    ('{days: monday, time: "08:00-20:00"}', "days like mon-fri"),
    ('{days: mon-fri, time: "08:00-24:00"}', "a time span like 08:00-20:00"),
])
def test_a_malformed_window_is_refused(tmp_path, bad, message):
    found = problems(tmp_path, site_text(schedules=SCHEDULES.replace('{days: mon-fri, time: "08:00-20:00"}', bad)))
    assert len(found) == 1 and "schedules[0].windows[0]" in found[0] and message in found[0], found


def test_timed_passback_needs_minutes(tmp_path):
    found = problems(tmp_path, site_text(GATE_EXTRA.replace("mode: timed, minutes: 30,", "mode: timed,")))
    assert any("gates[0].passback" in p and "timed anti-passback needs minutes" in p for p in found), found
