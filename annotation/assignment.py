"""Who may take which place on a task, and how long a reservation lasts.

A task has k slots, made with it. A slot is free, reserved by one annotator until a time, or
submitted (final). An annotator may claim a slot that is free, or reserved past its expiry (the
page stopped renewing it), on a task they have never held, submitted or skipped; so no task ever
reaches one annotator twice and no task ever has more than k annotators. The database keeps the
same rule (a unique (task, annotator) key); these functions are the rule itself, over plain data
and an injected clock.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

FREE, RESERVED, SUBMITTED = "free", "reserved", "submitted"
# How long a claim holds without a word from the page; the page renews it every few seconds.
RESERVATION = dt.timedelta(seconds=90)


@dataclass(frozen=True)
class SlotView:
    task: int
    slot: int
    state: str
    annotator: int | None
    reserved_until: dt.datetime | None


def expires_at(now: dt.datetime, hold: dt.timedelta = RESERVATION) -> dt.datetime:
    return now + hold


def expired(slot: SlotView, now: dt.datetime) -> bool:
    """A reservation ends at its expiry instant: from then on the slot is anyone's again."""
    return slot.state == RESERVED and (slot.reserved_until is None or slot.reserved_until <= now)


def open_to_claim(slot: SlotView, now: dt.datetime) -> bool:
    return slot.state == FREE or expired(slot, now)


def held_by(slot: SlotView, annotator: int, now: dt.datetime) -> bool:
    """The annotator's reservation is live: the slot is theirs to work on."""
    return slot.state == RESERVED and slot.annotator == annotator and not expired(slot, now)


def taken(slots: Iterable[SlotView], now: dt.datetime) -> int:
    """Places of a task that count against k: submitted, or reserved and not expired."""
    return sum(1 for s in slots if s.state == SUBMITTED or (s.state == RESERVED and not expired(s, now)))


def barred_tasks(slots: Iterable[SlotView], skipped: Iterable[int], annotator: int) -> set[int]:
    """Tasks never to be offered to the annotator again: any they hold or held a slot of
    (reserved, expired or submitted) and any they skipped."""
    return {s.task for s in slots if s.annotator == annotator} | set(skipped)


def claimable(slot: SlotView, annotator: int, barred: set[int], now: dt.datetime) -> bool:
    """May the annotator claim this slot now. An expired reservation of their own may be taken
    back; any other slot of a barred task may not."""
    if not open_to_claim(slot, now):
        return False
    if slot.annotator == annotator:
        return True
    return slot.task not in barred


def pick(slots: Iterable[SlotView], skipped: Iterable[int], annotator: int, wanted: dict[int, int],
         now: dt.datetime) -> SlotView | None:
    """The slot the annotator gets next: the lowest (task, slot) they may claim on a task that
    has fewer than k places taken. None only when no such slot exists."""
    slots = list(slots)
    barred = barred_tasks(slots, skipped, annotator)
    by_task: dict[int, list[SlotView]] = {}
    for s in slots:
        by_task.setdefault(s.task, []).append(s)
    for s in sorted(slots, key=lambda s: (s.task, s.slot)):
        if claimable(s, annotator, barred, now) and taken(by_task[s.task], now) < wanted.get(s.task, 0):
            return s
    return None


def claim(slot: SlotView, annotator: int, now: dt.datetime, hold: dt.timedelta = RESERVATION) -> SlotView:
    return SlotView(slot.task, slot.slot, RESERVED, annotator, expires_at(now, hold))


def renew(slot: SlotView, annotator: int, now: dt.datetime, hold: dt.timedelta = RESERVATION) -> SlotView | None:
    """The page's heartbeat: a live reservation of the annotator runs on from now; an expired
    one is theirs again only while nobody else took it (the slot still names them)."""
    if slot.state != RESERVED or slot.annotator != annotator:
        return None
    return SlotView(slot.task, slot.slot, RESERVED, annotator, expires_at(now, hold))
