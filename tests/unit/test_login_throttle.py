"""Login throttling decided over plain data: who gets locked, for how long, and who never does."""
from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from controller import throttle as t

T0 = dt.datetime(2026, 12, 5, 9, 0, tzinfo=dt.timezone.utc)
S = dt.timedelta(seconds=1)


def fail(b: t.Bucket, times: int, start: dt.datetime = T0, step: dt.timedelta = S):
    tripped = []
    for i in range(times):
        b, hit = t.record_failure(b, start + i * step)
        tripped.append(hit)
    return b, tripped


def test_keys_separate_pair_address_and_account():
    assert t.bucket_keys(" Officer ", "10.0.0.7") == ["pair:officer|10.0.0.7", "addr:10.0.0.7", "user:officer"]


def test_pair_locks_on_the_fifth_failure_for_one_minute():
    b, tripped = fail(t.Bucket("pair:off|1.2.3.4"), 5)
    assert tripped == [False, False, False, False, True]
    assert b.locked_until == T0 + 4 * S + dt.timedelta(minutes=1) and b.lockouts == 1
    v = t.check([b], T0 + 10 * S)
    assert not v.allowed and v.locked_by == "pair:off|1.2.3.4"
    assert v.retry_after == dt.timedelta(minutes=1) - 6 * S
    assert t.check([b], b.locked_until).allowed  # it ends by itself


def test_lockouts_double_and_stop_at_fifteen_minutes():
    b = t.Bucket("pair:off|1.2.3.4")
    lengths = []
    now = T0
    for _ in range(7):
        b, _ = fail(b, 5, start=now)
        lengths.append(b.locked_until - (now + 4 * S))
        now = b.locked_until + S
    assert [int(x.total_seconds() // 60) for x in lengths] == [1, 2, 4, 8, 15, 15, 15]


def test_a_quiet_window_after_a_lockout_starts_the_doubling_over():
    b, _ = fail(t.Bucket("pair:off|1.2.3.4"), 5)
    b, _ = fail(b, 5, start=b.locked_until + S)
    assert b.lockouts == 2
    later = b.locked_until + dt.timedelta(minutes=16)
    b, _ = fail(b, 5, start=later)
    assert b.lockouts == 1 and b.locked_until - (later + 4 * S) == dt.timedelta(minutes=1)


def test_failures_spread_wider_than_the_window_never_lock():
    b, tripped = fail(t.Bucket("pair:off|1.2.3.4"), 50, step=dt.timedelta(minutes=4))
    assert not any(tripped)


def test_account_bucket_only_slows_it_never_locks_it():
    b, tripped = fail(t.Bucket("user:officer"), 50)
    assert tripped[-1]
    v = t.check([b, t.Bucket("pair:officer|9.9.9.9"), t.Bucket("addr:9.9.9.9")], T0 + 60 * S)
    assert v.allowed and v.delay == t.SLOW_DOWN  # the officer at 9.9.9.9 still gets in, slowly


def test_an_attacker_elsewhere_cannot_lock_the_officers_desk():
    attacker, _ = fail(t.Bucket("pair:officer|6.6.6.6"), 20)
    attacker_addr, _ = fail(t.Bucket("addr:6.6.6.6"), 30)
    now = T0 + 40 * S
    assert not t.check([attacker, attacker_addr, t.Bucket("user:officer")], now).allowed
    assert t.check([t.Bucket("pair:officer|10.1.1.5"), t.Bucket("addr:10.1.1.5"), t.Bucket("user:officer")],
                   now).allowed


def test_spraying_many_accounts_locks_the_address():
    addr, tripped = fail(t.Bucket("addr:6.6.6.6"), 30)
    assert tripped.index(True) == 29
    assert not t.check([t.Bucket("pair:someone-new|6.6.6.6"), addr, t.Bucket("user:someone-new")],
                       T0 + 31 * S).allowed


def test_success_forgets_pair_and_account_but_not_the_address():
    addr, _ = fail(t.Bucket("addr:6.6.6.6"), 3)
    assert t.record_success(addr) == addr
    assert t.record_success(t.Bucket("pair:a|6.6.6.6", failures=3)) is None
    assert t.record_success(t.Bucket("user:a", failures=3)) is None


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=1200), min_size=1, max_size=60))
def test_no_lock_is_longer_than_the_cap_and_every_lock_ends(gaps):
    b, now = t.Bucket("pair:x|1.1.1.1"), T0
    for gap in gaps:
        now += dt.timedelta(seconds=gap)
        b, _ = t.record_failure(b, now)
        if b.locked_until is not None:
            assert b.locked_until - now <= t.LONGEST_LOCK
            assert t.check([b], b.locked_until).allowed
