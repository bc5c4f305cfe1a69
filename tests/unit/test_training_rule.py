"""Confidentiality training is current by one rule, judged on the site's own calendar; the work
policy reports exactly what that rule says."""
from __future__ import annotations

import datetime as dt
import json
from types import SimpleNamespace

from hypothesis import given
from hypothesis import strategies as st

from access_control.credentials import TrainingRecord, training_status
from controller.credentials import site_today
from controller.policy import (
    NO_TRAINING,
    TRAINING_EXPIRED,
    PersonFacts,
    SeatFacts,
    person_reasons,
)

DONE, EXPIRES = dt.date(2026, 3, 1), dt.date(2027, 3, 1)
RECORD = TrainingRecord(DONE, EXPIRES)


def test_current_from_the_day_completed_up_to_but_not_including_the_expiry_day():
    assert training_status(None, DONE) == "none"
    assert training_status(RECORD, DONE - dt.timedelta(days=1)) == "none"
    assert training_status(RECORD, DONE) == "current"
    assert training_status(RECORD, EXPIRES - dt.timedelta(days=1)) == "current"
    assert training_status(RECORD, EXPIRES) == "expired"


@given(st.dates(min_value=dt.date(2025, 1, 1), max_value=dt.date(2028, 12, 31)))
def test_the_work_policy_reports_exactly_what_the_rule_says(day):
    seat = SeatFacts("A1", "acme", True)
    person = PersonFacts("p-1", "annotator", True, ("acme",), RECORD, None)
    reasons = set(person_reasons(seat, person, frozenset(), day)) & {NO_TRAINING, TRAINING_EXPIRED}
    expected = {"none": {NO_TRAINING}, "current": set(), "expired": {TRAINING_EXPIRED}}
    assert reasons == expected[training_status(RECORD, day)]
    assert RECORD.current_on(day) == (training_status(RECORD, day) == "current")


def _site(zone: str) -> SimpleNamespace:
    return SimpleNamespace(config_json=json.dumps({"site": {"id": "s", "name": "S", "timezone": zone}}))


def test_the_site_s_date_follows_its_own_time_zone():
    # 20:30 UTC on the last day before expiry is already the expiry day in Shanghai.
    now = dt.datetime(2027, 2, 28, 20, 30, tzinfo=dt.timezone.utc)
    assert site_today(_site("Asia/Shanghai"), now) == EXPIRES
    assert site_today(_site("Europe/London"), now) == dt.date(2027, 2, 28)
    assert training_status(RECORD, site_today(_site("Asia/Shanghai"), now)) == "expired"
    assert training_status(RECORD, site_today(_site("Europe/London"), now)) == "current"
