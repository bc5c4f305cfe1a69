"""Login throttling, decided over plain data: which buckets a failed login counts against, when
a bucket locks, for how long, and whether a new attempt may be tried at all.

Three buckets per attempt:
- `pair:<user>|<address>`: a few wrong passwords for one account from one address lock that
  pair. An attacker elsewhere cannot lock the officer out from the officer's own desk.
- `addr:<address>`: many failures from one address, whatever the accounts, lock the address
  (password spraying).
- `user:<user>`: failures for one account from everywhere (a distributed guess) only slow its
  logins down; they never lock it, so nobody can lock an account out remotely.
Lock-outs grow 1, 2, 4 … minutes with each lock-out in a row, capped at 15, and end by
themselves; an officer can lift them sooner.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Limit:
    failures: int  # failures within `window` that trip the bucket
    window: dt.timedelta
    locks: bool  # lock (refuse without checking the password) or only slow down


LIMITS = {
    "pair": Limit(5, dt.timedelta(minutes=15), locks=True),
    "addr": Limit(30, dt.timedelta(minutes=5), locks=True),
    "user": Limit(50, dt.timedelta(minutes=15), locks=False),
}
FIRST_LOCK = dt.timedelta(minutes=1)
LONGEST_LOCK = dt.timedelta(minutes=15)
# A slowed-down account answers each attempt after this delay.
SLOW_DOWN = dt.timedelta(seconds=1)


@dataclass(frozen=True)
class Bucket:
    key: str
    failures: int = 0
    window_start: dt.datetime | None = None
    locked_until: dt.datetime | None = None
    lockouts: int = 0  # lock-outs in a row; a success or a quiet window resets it

    @property
    def kind(self) -> str:
        return self.key.split(":", 1)[0]


def bucket_keys(username: str, address: str) -> list[str]:
    user = username.strip().lower()[:64]
    return [f"pair:{user}|{address}", f"addr:{address}", f"user:{user}"]


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    delay: dt.timedelta = dt.timedelta(0)  # answer no sooner than this (slowed or refused)
    retry_after: dt.timedelta = dt.timedelta(0)  # when refused: until the lock ends
    locked_by: str | None = None


def check(buckets: list[Bucket], now: dt.datetime) -> Verdict:
    """May an attempt be checked against the password now?"""
    longest = None
    for b in buckets:
        if b.locked_until is not None and b.locked_until > now and LIMITS[b.kind].locks:
            left = b.locked_until - now
            if longest is None or left > longest[0]:
                longest = (left, b.key)
    if longest is not None:
        return Verdict(False, delay=SLOW_DOWN, retry_after=longest[0], locked_by=longest[1])
    slowed = any(not LIMITS[b.kind].locks and b.locked_until is not None and b.locked_until > now
                 for b in buckets)
    return Verdict(True, delay=SLOW_DOWN if slowed else dt.timedelta(0))


def lock_length(lockouts: int) -> dt.timedelta:
    return min(FIRST_LOCK * (2 ** max(0, lockouts - 1)), LONGEST_LOCK)


def record_failure(b: Bucket, now: dt.datetime) -> tuple[Bucket, bool]:
    """The bucket after one more failure, and whether this failure locked (or slowed) it."""
    limit = LIMITS[b.kind]
    fresh = b.window_start is None or now - b.window_start >= limit.window
    if fresh and b.locked_until is not None and now - b.locked_until >= limit.window:
        b = replace(b, lockouts=0)  # a quiet window since the last lock-out: start over
    failures = 1 if fresh else b.failures + 1
    b = replace(b, failures=failures, window_start=now if fresh else b.window_start)
    if failures < limit.failures:
        return b, False
    lockouts = b.lockouts + 1
    # A full window has its lock; the next failure after it ends opens a new window.
    return replace(b, failures=0, window_start=None, lockouts=lockouts,
                   locked_until=now + lock_length(lockouts)), True


def record_success(b: Bucket) -> Bucket | None:
    """After a correct password: the pair and account start over; the address keeps its count
    (one good login must not launder a spray from the same address). None: forget the bucket."""
    if b.kind == "addr":
        return b
    return None
