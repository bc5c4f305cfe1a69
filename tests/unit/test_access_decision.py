"""decide(): every reason, in order, with exactly the alarms it carries."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from access_control.alarms import Alarm
from access_control.cards import decode, encode
from access_control.credentials import build_credential_db
from access_control.decision import (
    DENIAL_REASONS,
    GRANT_REASONS,
    AccessRequest,
    Decision,
    GatePolicy,
    decide,
)
from access_control.passback import PassbackPolicy, Presence, PresenceState
from access_control.schedule import Schedule, WeeklyWindow

TZ = "Asia/Shanghai"
SHANGHAI = ZoneInfo(TZ)
# Monday 2025-12-01 10:00 in Shanghai.
NOW = datetime(2025, 12, 1, 10, 0, tzinfo=SHANGHAI)


def badge(number, **extra):
    return {"number": number, "format": "wiegand26", "facility": 12, **extra}


def training(completed, expires):
    return {"completed": date.fromisoformat(completed), "expires": date.fromisoformat(expires)}


# The demo site's people, plus a few edge cases.
DB = build_credential_db(
    [
        {
            "id": "p-001",
            "role": "officer",
            "badges": [badge("10001")],
            "training": training("2025-09-01", "2030-09-01"),
        },
        {
            "id": "p-003",
            "role": "annotator",
            "badges": [badge("10003")],
            "training": training("2025-10-15", "2030-10-15"),
        },
        {
            "id": "p-005",
            "role": "annotator",
            "badges": [badge("10005")],
            "training": training("2023-06-01", "2024-06-01"),
        },
        {
            "id": "p-007",
            "role": "annotator",
            "badges": [badge("10007", valid_until=date(2024, 12, 31))],
            "training": training("2025-11-03", "2030-11-03"),
        },
        {"id": "p-009", "role": "staff", "badges": [{"number": "20001", "format": "h10304", "facility": 300}]},
        {"id": "p-010", "role": "visitor", "badges": [badge("30001", valid_from=date(2026, 1, 1))]},
        {"id": "p-011", "role": "annotator", "badges": [badge("10011")]},
        {"id": "p-012", "role": "staff", "badges": [badge("10012")], "enabled": False},
        {"id": "p-013", "role": "staff", "badges": [badge("10013", revoked=True)]},
        {
            "id": "p-014",
            "role": "annotator",
            "badges": [badge("10014")],
            "training": training("2025-12-02", "2026-12-02"),
        },
    ]
)

POLICY = GatePolicy("gate-main", area_in="floor3", area_out="outside", timezone=TZ)


def key(number, fmt="wiegand26", facility=12):
    return decode(*encode(fmt, facility, number)).key


NOBODY = PresenceState()


def present(number, direction="entry", *, presence=NOBODY, policy=POLICY, now=NOW, **request):
    return decide(AccessRequest(policy.gate_id, direction, key(number), **request), DB, presence, policy, now)


def test_normal_entry_and_exit():
    assert present(10003) == Decision(True, "granted", (), "p-003")
    inside = PresenceState({"p-003": Presence("floor3", NOW, "gate-main")})
    assert present(10003, "exit", presence=inside) == Decision(True, "granted", (), "p-003")


def test_h10304_staff_badge():
    request = AccessRequest("gate-main", "entry", key(20001, "h10304", 300))
    assert decide(request, DB, PresenceState(), POLICY, NOW) == Decision(True, "granted", (), "p-009")


def test_unknown_card_and_wrong_facility():
    assert present(40404) == Decision(False, "unknown_card", (), None)
    assert decide(AccessRequest("gate-main", "entry", key(10003, facility=13)), DB, PresenceState(), POLICY, NOW) == (
        Decision(False, "unknown_card", (), None)
    )


def test_expired_badge():
    assert present(10007) == Decision(False, "badge_expired", (), "p-007")
    assert present(10007, "exit") == Decision(False, "badge_expired", (), "p-007")


def test_badge_not_yet_valid_until_its_first_local_day():
    assert present(30001) == Decision(False, "badge_not_yet_valid", (), "p-010")
    # 2025-12-31 16:00 UTC is already 2026-01-01 in Shanghai.
    assert present(30001, now=datetime(2025, 12, 31, 16, 0, tzinfo=timezone.utc)) == Decision(
        True, "granted", (), "p-010"
    )
    assert present(30001, now=datetime(2025, 12, 31, 15, 59, tzinfo=timezone.utc)).reason == "badge_not_yet_valid"


def test_badge_valid_through_its_last_local_day():
    assert present(10007, now=datetime(2024, 12, 31, 23, 59, tzinfo=SHANGHAI)).reason != "badge_expired"
    assert present(10007, now=datetime(2025, 1, 1, 0, 0, tzinfo=SHANGHAI)).reason == "badge_expired"


def test_revoked_badge_and_disabled_person():
    assert present(10013) == Decision(False, "badge_revoked", (), "p-013")
    assert present(10012) == Decision(False, "person_disabled", (), "p-012")


def test_expired_training_refuses_entry_but_never_traps_inside():
    assert present(10005) == Decision(False, "training_expired", (), "p-005")
    inside = PresenceState({"p-005": Presence("floor3", NOW)})
    assert present(10005, "exit", presence=inside) == Decision(True, "granted", (), "p-005")


def test_training_missing_or_not_yet_completed():
    assert present(10011) == Decision(False, "no_training", (), "p-011")
    assert present(10014) == Decision(False, "no_training", (), "p-014")  # course is tomorrow
    assert present(10014, now=NOW + timedelta(days=1)) == Decision(True, "granted", (), "p-014")


def test_training_expires_on_its_expiry_day():
    p003_expiry = datetime(2030, 10, 15, 0, 0, tzinfo=SHANGHAI)
    assert present(10003, now=p003_expiry - timedelta(minutes=1)).granted
    assert present(10003, now=p003_expiry).reason == "training_expired"


def test_training_roles_are_configurable():
    staff_need_it = GatePolicy("gate-main", "floor3", "outside", TZ, training_roles=frozenset({"annotator", "staff"}))
    assert decide(
        AccessRequest("gate-main", "entry", key(20001, "h10304", 300)), DB, PresenceState(), staff_need_it, NOW
    ) == (Decision(False, "no_training", (), "p-009"))
    nobody = GatePolicy("gate-main", "floor3", "outside", TZ, training_roles=frozenset())
    assert present(10005, policy=nobody) == Decision(True, "granted", (), "p-005")


def test_not_allowed_on_gate():
    officers = GatePolicy(
        "gate-main", "floor3", "outside", TZ, allowed_roles=frozenset({"officer"}), allowed_people=frozenset({"p-009"})
    )
    assert present(10003, policy=officers) == Decision(False, "not_allowed_on_gate", (), "p-003")
    assert present(10001, policy=officers) == Decision(True, "granted", (), "p-001")
    assert decide(
        AccessRequest("gate-main", "entry", key(20001, "h10304", 300)), DB, PresenceState(), officers, NOW
    ).granted


def test_schedule_by_role_and_person():
    office = Schedule((WeeklyWindow.parse("mon-fri", "08:00-20:00"),))
    nights = Schedule((WeeklyWindow.parse("mon-sun", "20:00-08:00"),))
    policy = GatePolicy(
        "gate-main", "floor3", "outside", TZ, role_schedules={"annotator": office}, person_schedules={"p-003": nights}
    )
    evening = NOW.replace(hour=21)
    assert present(10003, policy=policy) == Decision(
        False, "outside_schedule", (), "p-003"
    )  # person rule replaces role
    assert present(10003, policy=policy, now=evening) == Decision(True, "granted", (), "p-003")
    assert present(10014, policy=policy, now=evening + timedelta(days=1)) == Decision(
        False, "outside_schedule", (), "p-014"
    )
    assert present(10001, policy=policy, now=evening) == Decision(True, "granted", (), "p-001")  # officers: no schedule
    # Leaving is never refused for the time of day.
    inside = PresenceState({"p-014": Presence("floor3", NOW)})
    assert present(10014, "exit", policy=policy, presence=inside, now=evening + timedelta(days=1)).granted


def test_passback_hard_soft_timed_exempt():
    handed_back = PresenceState({"p-003": Presence("floor3", NOW - timedelta(minutes=5), "gate-side")})
    alarm = Alarm(
        "passback",
        "gate-main",
        person_id="p-003",
        direction="entry",
        detail="recorded in floor3 since 2025-12-01T09:55:00+08:00",
    )
    hard = GatePolicy("gate-main", "floor3", "outside", TZ, passback=PassbackPolicy("hard"))
    soft = GatePolicy("gate-main", "floor3", "outside", TZ, passback=PassbackPolicy("soft"))
    timed = GatePolicy("gate-main", "floor3", "outside", TZ, passback=PassbackPolicy("timed", timedelta(minutes=10)))
    exempt = GatePolicy(
        "gate-main", "floor3", "outside", TZ, passback=PassbackPolicy("hard", exempt=frozenset({"p-003"}))
    )
    assert present(10003, presence=handed_back, policy=hard) == Decision(False, "passback_denied", (alarm,), "p-003")
    assert present(10003, presence=handed_back, policy=soft) == Decision(True, "passback_soft", (alarm,), "p-003")
    assert present(10003, presence=handed_back, policy=timed) == Decision(False, "passback_denied", (alarm,), "p-003")
    assert present(10003, presence=handed_back, policy=timed, now=NOW + timedelta(minutes=5)) == Decision(
        True, "granted", (), "p-003"
    )
    assert present(10003, presence=handed_back, policy=exempt) == Decision(True, "granted", (), "p-003")


def test_exit_passback_when_never_recorded_inside():
    outside = PresenceState({"p-003": Presence("outside", NOW)})
    assert present(10003, "exit", presence=outside) == Decision(
        False,
        "passback_denied",
        (
            Alarm(
                "passback",
                "gate-main",
                person_id="p-003",
                direction="exit",
                detail="recorded in outside since 2025-12-01T10:00:00+08:00",
            ),
        ),
        "p-003",
    )


def test_fail_safe_open_gate_lets_everyone_out():
    assert present(10005, fail_safe_open=True) == Decision(True, "gate_fail_safe_open", (), "p-005")
    assert present(40404, "exit", fail_safe_open=True) == Decision(True, "gate_fail_safe_open", (), None)


def test_first_failing_check_wins():
    # Expired badge AND expired training AND passback: the badge is reported.
    db = build_credential_db(
        [
            {
                "id": "x",
                "role": "annotator",
                "badges": [badge("1", valid_until=date(2020, 1, 1))],
                "training": training("2019-01-01", "2020-01-01"),
                "enabled": False,
            }
        ]
    )
    inside = PresenceState({"x": Presence("floor3", NOW)})
    assert decide(AccessRequest("gate-main", "entry", key(1)), db, inside, POLICY, NOW).reason == "badge_expired"


def test_wrong_gate_and_naive_time_are_refused():
    with pytest.raises(ValueError, match="gate-side"):
        decide(AccessRequest("gate-side", "entry", key(10003)), DB, PresenceState(), POLICY, NOW)
    with pytest.raises(ValueError, match="aware"):
        decide(AccessRequest("gate-main", "entry", key(10003)), DB, PresenceState(), POLICY, datetime(2025, 1, 1))
    with pytest.raises(ValueError):
        AccessRequest("gate-main", "in", key(10003))
    with pytest.raises(ValueError):
        GatePolicy("g", "a", "a")


def test_decision_does_not_move_presence():
    state = PresenceState({"p-001": Presence("outside", NOW)})
    present(10001, presence=state)
    assert state == PresenceState({"p-001": Presence("outside", NOW)})


HOLDERS = {
    10001: "p-001",
    10003: "p-003",
    10005: "p-005",
    10007: "p-007",
    10011: "p-011",
    10012: "p-012",
    10013: "p-013",
    10014: "p-014",
    30001: "p-010",
    40404: None,
}
numbers = st.sampled_from(sorted(HOLDERS))


@given(
    numbers,
    st.sampled_from(["entry", "exit"]),
    st.sampled_from([None, "outside", "floor3"]),
    st.sampled_from(["off", "hard", "soft"]),
    st.datetimes(min_value=datetime(2023, 1, 1), max_value=datetime(2031, 1, 1), timezones=st.just(timezone.utc)),
    st.booleans(),
)
def test_decisions_are_consistent(number, direction, recorded, mode, now, fail_safe):
    holder = HOLDERS[number]
    presence = PresenceState({} if recorded is None or holder is None else {holder: Presence(recorded, now)})
    policy = GatePolicy("gate-main", "floor3", "outside", TZ, passback=PassbackPolicy(mode))
    d = present(number, direction, presence=presence, policy=policy, now=now, fail_safe_open=fail_safe)
    assert d.reason in GRANT_REASONS | DENIAL_REASONS
    assert d.granted == (d.reason in GRANT_REASONS)
    assert bool(d.alarms) == (d.reason in {"passback_denied", "passback_soft"})
    if fail_safe:
        assert d.reason == "gate_fail_safe_open"
    if d.reason != "unknown_card":
        assert d.person_id == holder
    if holder is None:
        assert d.reason in {"unknown_card", "gate_fail_safe_open"}
    # An entry by someone already recorded inside is never a plain grant unless passback is off.
    if direction == "entry" and recorded == "floor3" and mode != "off" and holder is not None:
        assert d.reason != "granted"
