"""Site scenarios through decide + gate + passback + tailgating, wired the way the edge agent wires them.

Two gates (gate-main, gate-side) lead from ``outside`` into ``floor3``. The
``Site`` below is a minimal shell: it asks ``decide``, feeds the grant to the
gate state machine, and moves the passback record only on the gate's
``Passage`` events. Every scenario asserts exactly what came out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone

from hypothesis import example, given, settings
from hypothesis import strategies as st

from access_control.alarms import Alarm
from access_control.cards import CardFormatError, credential_key, decode, encode
from access_control.credentials import CredentialDB, build_credential_db
from access_control.decision import AccessRequest, Decision, GatePolicy, decide
from access_control.gate import (
    AlarmOutput,
    Buzzer,
    Deny,
    FireAlarm,
    GateConfig,
    GateState,
    Grant,
    GrantCancelled,
    GrantedNoEntry,
    Led,
    Passage,
    PassageComplete,
    Power,
    Relock,
    Tick,
    Unlock,
    Withdraw,
    step,
)
from access_control.passback import PassbackPolicy, Presence, PresenceState, areas_for, record_passage, reset
from access_control.tailgating import TailgateConfig, TailgateDetector

T0 = datetime(2025, 12, 1, 2, 0, tzinfo=timezone.utc)  # Monday 10:00 in Shanghai
GATES = ("gate-main", "gate-side")
TRAINED = {"completed": date(2025, 10, 15), "expires": date(2030, 10, 15)}
PEOPLE = [
    {"id": "p-003", "role": "annotator", "badges": [{"number": "10003", "facility": 12}], "training": TRAINED},
    {"id": "p-004", "role": "annotator", "badges": [{"number": "10004", "facility": 12}], "training": TRAINED},
    {
        "id": "p-005",
        "role": "annotator",
        "badges": [{"number": "10005", "facility": 12}],
        "training": {"completed": date(2023, 6, 1), "expires": date(2024, 6, 1)},
    },
    {
        "id": "p-007",
        "role": "annotator",
        "badges": [{"number": "10007", "facility": 12, "valid_until": date(2024, 12, 31)}],
        "training": TRAINED,
    },
    {"id": "p-001", "role": "officer", "badges": [{"number": "10001", "facility": 12}]},
]
DB = build_credential_db(PEOPLE)
UNLOCK_ENTRY = (Unlock("entry", 5.0), Led("green", 5.0), Buzzer("short"))
UNLOCK_EXIT = (Unlock("exit", 5.0), Led("green", 5.0), Buzzer("short"))
DENY = (Led("red", 2.0, flash=True), Buzzer("deny"))


def card(number: int) -> tuple[bytes, int]:
    """What the reader sends for a 26-bit demo badge."""
    return encode("wiegand26", 12, number)


@dataclass
class Result:
    decision: Decision | None = None
    commands: tuple = ()
    alarms: tuple = ()
    events: tuple = ()


@dataclass
class Site:
    passback: PassbackPolicy = PassbackPolicy("hard")
    fail_mode: str = "secure"
    db: CredentialDB = DB
    presence: PresenceState = PresenceState()
    gates: dict = field(default_factory=lambda: {g: GateState() for g in GATES})
    detectors: dict = field(default_factory=lambda: {g: TailgateDetector(TailgateConfig(g, 8.0)) for g in GATES})

    def policy(self, gate: str) -> GatePolicy:
        return GatePolicy(gate, "floor3", "outside", "Asia/Shanghai", passback=self.passback)

    def config(self, gate: str) -> GateConfig:
        return GateConfig(gate, open_seconds=5.0, held_grace_s=10.0, fail_mode=self.fail_mode)

    def _step(self, gate: str, event, result: Result) -> None:
        out = step(self.config(gate), self.gates[gate], event)
        self.gates[gate] = out.state
        result.commands += out.commands
        result.alarms += out.alarms
        result.events += out.events
        for e in out.events:
            if isinstance(e, Passage):
                if e.cause == "grant" and e.person_id is not None:
                    _, to_area = areas_for(e.direction, "floor3", "outside")
                    self.presence = record_passage(
                        self.presence, e.person_id, to_area, T0 + timedelta(seconds=event.now), gate
                    )
                    for other in GATES:
                        if other != gate:
                            self._step(other, Withdraw(event.now, e.person_id), result)
                if e.cause != "fail_safe":
                    self.detectors[gate], alarms = self.detectors[gate].passages(event.now)
                    result.alarms += alarms

    def present(self, gate: str, direction: str, read: tuple[bytes, int], t: float) -> Result:
        result = Result()
        try:
            key = decode(*read).key
        except CardFormatError:
            self._step(gate, Deny(t, "bad_read"), result)
            return result
        request = AccessRequest(gate, direction, key, fail_safe_open=self.gates[gate].mode == "fail_safe_open")
        decision = decide(request, self.db, self.presence, self.policy(gate), T0 + timedelta(seconds=t))
        result.decision = decision
        result.alarms += decision.alarms
        if decision.reason == "gate_fail_safe_open":
            return result
        if decision.granted:
            self._step(gate, Grant(t, direction, decision.person_id), result)
            if any(isinstance(c, Unlock) for c in result.commands):
                self.detectors[gate], _ = self.detectors[gate].grant(t)
        else:
            self._step(gate, Deny(t, decision.reason), result)
        return result

    def passage(self, gate: str, direction: str, t: float) -> Result:
        result = Result()
        self._step(gate, PassageComplete(t, direction), result)
        return result

    def tick(self, gate: str, t: float) -> Result:
        result = Result()
        self._step(gate, Tick(t), result)
        return result


def at(seconds: float, area: str, gate: str) -> Presence:
    return Presence(area, T0 + timedelta(seconds=seconds), gate)


def test_normal_entry_then_exit_through_the_other_gate():
    site = Site()
    r = site.present("gate-main", "entry", card(10003), 0.0)
    assert r == Result(Decision(True, "granted", (), "p-003"), UNLOCK_ENTRY)
    assert site.presence == PresenceState()  # a grant alone moves nobody
    r = site.passage("gate-main", "entry", 2.0)
    assert r == Result(None, (Relock("entry"), Led("red")), (), (Passage("gate-main", "entry", "p-003", "grant"),))
    assert site.presence == PresenceState({"p-003": at(2.0, "floor3", "gate-main")})
    r = site.present("gate-side", "exit", card(10003), 3600.0)
    assert r == Result(Decision(True, "granted", (), "p-003"), UNLOCK_EXIT)
    site.passage("gate-side", "exit", 3602.0)
    assert site.presence == PresenceState({"p-003": at(3602.0, "outside", "gate-side")})


def test_tailgater_following_on_one_grant():
    site = Site()
    site.present("gate-main", "entry", card(10003), 0.0)
    site.passage("gate-main", "entry", 1.0)
    r = site.passage("gate-main", "entry", 1.8)
    assert r == Result(
        None,
        (AlarmOutput(True, 10.0),),
        (
            Alarm("door_forced", "gate-main", direction="entry", detail="passage without grant"),
            Alarm(
                "tailgating",
                "gate-main",
                count=2,
                expected=1,
                window=(0.0, 8.0),
                detail="2 through on 1 grant(s) (passages)",
            ),
        ),
        (Passage("gate-main", "entry", None, "forced"),),
    )
    assert site.presence == PresenceState({"p-003": at(1.0, "floor3", "gate-main")})  # the tailgater is nobody


def test_a_grant_left_open_at_one_gate_dies_when_its_holder_enters_at_another():
    site = Site()
    site.present("gate-main", "entry", card(10004), 0.0)  # badges, changes her mind
    site.present("gate-side", "entry", card(10004), 1.0)
    r = site.passage("gate-side", "entry", 2.0)
    assert r.events == (
        Passage("gate-side", "entry", "p-004", "grant"),
        GrantCancelled("gate-main", "entry", "p-004", "passed_elsewhere"),
    )
    assert r.commands == (Relock("entry"), Led("red"), Relock("entry"), Led("red"))
    # Someone walking through gate-main on her old grant is nobody, and raises the alarm.
    r = site.passage("gate-main", "entry", 3.0)
    assert r.events == (Passage("gate-main", "entry", None, "forced"),)
    assert [a.kind for a in r.alarms] == ["door_forced"]
    assert site.presence == PresenceState({"p-004": at(2.0, "floor3", "gate-side")})


def passback_attempt(site: Site) -> Result:
    """p-003 enters at gate-main, passes the badge back over the gate, a friend shows it at gate-side."""
    site.present("gate-main", "entry", card(10003), 0.0)
    site.passage("gate-main", "entry", 2.0)
    return site.present("gate-side", "entry", card(10003), 60.0)


PASSBACK_ALARM = Alarm(
    "passback",
    "gate-side",
    person_id="p-003",
    direction="entry",
    detail="recorded in floor3 since 2025-12-01T02:00:02+00:00",
)


def test_passback_hard_denies():
    site = Site(PassbackPolicy("hard"))
    r = passback_attempt(site)
    assert r == Result(Decision(False, "passback_denied", (PASSBACK_ALARM,), "p-003"), DENY, (PASSBACK_ALARM,))
    assert site.gates["gate-side"].mode == "locked"


def test_passback_soft_allows_with_alarm():
    site = Site(PassbackPolicy("soft"))
    r = passback_attempt(site)
    assert r == Result(Decision(True, "passback_soft", (PASSBACK_ALARM,), "p-003"), UNLOCK_ENTRY, (PASSBACK_ALARM,))
    site.passage("gate-side", "entry", 61.0)
    assert site.presence == PresenceState({"p-003": at(61.0, "floor3", "gate-side")})


def test_passback_timed_denies_then_forgets():
    site = Site(PassbackPolicy("timed", timedelta(minutes=10)))
    assert passback_attempt(site).decision == Decision(False, "passback_denied", (PASSBACK_ALARM,), "p-003")
    r = site.present("gate-side", "entry", card(10003), 602.0)
    assert r == Result(Decision(True, "granted", (), "p-003"), UNLOCK_ENTRY)


def test_passback_exempt_person():
    site = Site(PassbackPolicy("hard", exempt=frozenset({"p-003"})))
    assert passback_attempt(site) == Result(Decision(True, "granted", (), "p-003"), UNLOCK_ENTRY)


def test_passback_officer_reset():
    site = Site(PassbackPolicy("hard"))
    passback_attempt(site)
    site.present("gate-main", "entry", card(10004), 100.0)
    site.passage("gate-main", "entry", 101.0)
    site.presence = reset(site.presence, "p-003")
    assert site.presence == PresenceState({"p-004": at(101.0, "floor3", "gate-main")})
    assert site.present("gate-side", "entry", card(10003), 120.0).decision == Decision(True, "granted", (), "p-003")
    assert site.present("gate-main", "entry", card(10004), 130.0).decision.reason == "passback_denied"
    site.presence = reset(site.presence)
    assert site.present("gate-main", "entry", card(10004), 140.0).decision == Decision(True, "granted", (), "p-004")


def test_granted_but_no_entry_leaves_the_record_alone():
    site = Site()
    site.present("gate-main", "entry", card(10003), 0.0)
    r = site.tick("gate-main", 5.0)
    assert r == Result(None, (Relock("entry"), Led("red")), (), (GrantedNoEntry("gate-main", "entry", "p-003"),))
    assert site.presence == PresenceState()
    # Not recorded inside, so a second try is no passback.
    assert site.present("gate-side", "entry", card(10003), 30.0).decision == Decision(True, "granted", (), "p-003")


def test_forced_passage_moves_nobody():
    site = Site()
    r = site.passage("gate-side", "entry", 5.0)
    assert r.alarms == (Alarm("door_forced", "gate-side", direction="entry", detail="passage without grant"),)
    assert site.presence == PresenceState()


def test_expired_badge_expired_training_unknown_card_bad_parity():
    site = Site()
    assert site.present("gate-main", "entry", card(10007), 0.0) == Result(
        Decision(False, "badge_expired", (), "p-007"), DENY
    )
    assert site.present("gate-main", "entry", card(10005), 1.0) == Result(
        Decision(False, "training_expired", (), "p-005"), DENY
    )
    assert site.present("gate-main", "entry", card(55555), 2.0) == Result(
        Decision(False, "unknown_card", (), None), DENY
    )
    data, n = card(10003)
    broken = bytes([data[0] ^ 0x80]) + data[1:]  # even parity bit flipped on the wire
    assert site.present("gate-main", "entry", (broken, n), 3.0) == Result(None, DENY)
    assert site.gates["gate-main"] == GateState(clock=3.0)
    assert site.presence == PresenceState()


def test_fire_alarm_evacuation_then_back_to_normal():
    site = Site()
    site.present("gate-main", "entry", card(10003), 0.0)
    site.passage("gate-main", "entry", 1.0)
    site._step("gate-main", FireAlarm(100.0, True), Result())
    r = site.present("gate-main", "exit", card(10003), 101.0)
    assert r == Result(Decision(True, "gate_fail_safe_open", (), "p-003"))
    assert site.passage("gate-main", "exit", 102.0).events == (Passage("gate-main", "exit", None, "fail_safe"),)
    # Evacuation does not move the record, so the officer resets after the drill.
    assert site.presence == PresenceState({"p-003": at(1.0, "floor3", "gate-main")})
    site._step("gate-main", FireAlarm(900.0, False), Result())
    assert site.gates["gate-main"].mode == "locked"


def test_power_loss_fail_safe_versus_fail_secure():
    for fail_mode, mode, commands in (
        ("safe", "fail_safe_open", (Unlock("both", None), Led("amber"))),
        ("secure", "locked", ()),
    ):
        site = Site(fail_mode=fail_mode)
        r = Result()
        site._step("gate-side", Power(0.0, False), r)
        assert site.gates["gate-side"].mode == mode
        assert r.commands == commands
        assert [a.kind for a in r.alarms] == ["power_lost"]


# --- property: the record only moves on completed passages -------------------

people_cards = st.sampled_from([10003, 10004, 10001, 10005, 55555])
gate_dir = st.tuples(st.sampled_from(GATES), st.sampled_from(["entry", "exit"]))
actions = st.one_of(
    st.tuples(st.just("walk"), gate_dir, people_cards),  # badge, then walk through a second later
    st.tuples(st.just("present"), gate_dir, people_cards),
    st.tuples(st.just("passage"), gate_dir, st.none()),
    st.tuples(st.just("tick"), gate_dir, st.none()),
)


def check_step(site: Site, before: PresenceState, r: Result, gate: str, t: float, inside: dict) -> None:
    moved = [e for e in r.events if isinstance(e, Passage) and e.cause == "grant"]
    if not moved:
        assert site.presence == before
        return
    (p,) = moved
    _, to_area = areas_for(p.direction, "floor3", "outside")
    expected = dict(before.entries)
    expected[p.person_id] = Presence(to_area, T0 + timedelta(seconds=t), gate)
    assert site.presence == PresenceState(expected)
    # Hard anti-passback: never two granted entries (or exits) in a row, across both gates.
    if p.direction == "entry":
        assert before.get(p.person_id) is None or before.get(p.person_id).area == "outside"
    inside[p.person_id] = inside.get(p.person_id, 0) + (1 if p.direction == "entry" else -1)
    assert inside[p.person_id] in (-1, 0, 1)


@settings(max_examples=200)
@given(st.lists(st.tuples(st.sampled_from([0.5, 1.0, 3.0, 6.0, 120.0]), actions), max_size=40))
@example([  # p-004's grant still open at gate-main after she went in at gate-side
    (0.5, ("walk", ("gate-main", "entry"), 10003)),
    (0.5, ("present", ("gate-main", "entry"), 10004)),
    (0.5, ("walk", ("gate-side", "entry"), 10004)),
    (0.5, ("walk", ("gate-main", "entry"), 10003)),
])
def test_presence_changes_only_on_completed_passages(script):
    site, t = Site(PassbackPolicy("hard")), 0.0
    inside: dict[str, int] = {}
    for gap, (kind, (gate, direction), number) in script:
        t += gap
        if kind in ("walk", "present"):
            before = site.presence
            check_step(site, before, site.present(gate, direction, card(number), t), gate, t, inside)
        if kind in ("walk", "passage"):
            t += 1.0 if kind == "walk" else 0.0
            before = site.presence
            check_step(site, before, site.passage(gate, direction, t), gate, t, inside)
        if kind == "tick":
            before = site.presence
            check_step(site, before, site.tick(gate, t), gate, t, inside)


def test_decoded_reads_match_site_badges():
    assert decode(*card(10003)).key == credential_key("wiegand26", 12, "10003")
