"""Which slot an annotator may claim: never a task they hold, held, submitted or skipped, never
past k, always one when one is free for them; a reservation ends at its expiry instant."""
from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from annotation import assignment as A

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.timezone.utc)


def slot(task, n, state=A.FREE, who=None, until=None):
    return A.SlotView(task, n, state, who, until)


def test_reservation_expires_at_its_instant():
    s = A.claim(slot(1, 0), 7, T0)
    assert s.reserved_until == T0 + A.RESERVATION and s.annotator == 7 and s.state == A.RESERVED
    assert A.held_by(s, 7, T0 + A.RESERVATION - dt.timedelta(microseconds=1))
    assert not A.held_by(s, 7, T0 + A.RESERVATION)
    assert A.open_to_claim(s, T0 + A.RESERVATION) and not A.open_to_claim(s, T0)


def test_renewal_runs_from_now_and_only_for_the_holder():
    s = A.claim(slot(1, 0), 7, T0)
    later = T0 + dt.timedelta(seconds=60)
    assert A.renew(s, 7, later).reserved_until == later + A.RESERVATION
    assert A.renew(s, 8, later) is None
    assert A.renew(slot(1, 0, A.SUBMITTED, 7), 7, later) is None


def test_never_a_task_held_submitted_or_skipped():
    slots = [slot(1, 0, A.RESERVED, 7, T0 + A.RESERVATION), slot(1, 1), slot(2, 0, A.SUBMITTED, 7), slot(2, 1),
             slot(3, 0), slot(4, 0)]
    assert A.pick(slots, {3}, 7, {1: 2, 2: 2, 3: 1, 4: 1}, T0) == slot(4, 0)
    assert A.pick(slots, {3, 4}, 7, {1: 2, 2: 2, 3: 1, 4: 1}, T0) is None
    assert A.pick(slots, set(), 8, {1: 2, 2: 2, 3: 1, 4: 1}, T0) == slot(1, 1)


def test_an_expired_reservation_is_anyones_again():
    slots = [slot(1, 0, A.RESERVED, 7, T0 - dt.timedelta(seconds=1))]
    assert A.pick(slots, set(), 8, {1: 1}, T0) == slots[0]
    assert A.pick(slots, set(), 7, {1: 1}, T0) == slots[0]  # its holder may take it back


tasks = st.integers(1, 4)
states = st.sampled_from([A.FREE, A.RESERVED, A.SUBMITTED])


@given(st.lists(st.tuples(tasks, states, st.sampled_from([None, 1, 2, 3]), st.integers(-120, 120)), max_size=12),
       st.sets(tasks), st.integers(1, 3), st.integers(1, 3))
def test_pick_obeys_the_rule(raw, skipped, annotator, k):
    slots, counts = [], {}
    for task, state, who, offset in raw:
        n = counts.get(task, 0)
        counts[task] = n + 1
        who = None if state == A.FREE else who
        # the unique (task, annotator) key: one annotator never names two slots of one task
        if who is not None and any(s.task == task and s.annotator == who for s in slots):
            who = None
            state = A.FREE
        slots.append(slot(task, n, state, who, T0 + dt.timedelta(seconds=offset) if state == A.RESERVED else None))
    wanted = {t: k for t in counts}
    got = A.pick(slots, skipped, annotator, wanted, T0)
    barred = A.barred_tasks(slots, skipped, annotator)

    def fits(s):
        mine = s.annotator == annotator
        ok_task = mine or s.task not in barred
        return A.open_to_claim(s, T0) and ok_task and A.taken([x for x in slots if x.task == s.task], T0) < k

    if got is None:
        assert not any(fits(s) for s in slots)  # never "nothing" while a slot is free for them
    else:
        assert fits(got)
        assert got.annotator == annotator or got.task not in barred
