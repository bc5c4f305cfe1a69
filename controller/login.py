"""Checking a login: throttled (controller/throttle.py), ledgered, and cheap for the rest of the
controller however many wrong passwords arrive at once.

No database connection is held while argon2 runs, at most a few hashes run at a time, and a
refused or slowed attempt waits on the event loop, not in a worker thread, so a flood of bad
logins costs neither the connection pool nor the thread pool that serve everyone else.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import logging
import threading
import weakref
from dataclasses import dataclass

from sqlalchemy import delete, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from controller import metrics, throttle
from controller.ledger import Ledger
from controller.models import LoginBucket, User, aware, iso, utcnow
from controller.security import verify_password

log = logging.getLogger("siteguard.controller.login")

# argon2id takes ~64 MiB and tens of ms per check: run only this many at once per process.
HASH_SLOTS = 2
_slots: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore]" = weakref.WeakKeyDictionary()
_write_locks: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock]" = weakref.WeakKeyDictionary()
# Unreported failures go to the ledger once their burst has been quiet this long, or at the latest
# this long after the first of them.
REPORT_AFTER_QUIET = dt.timedelta(seconds=30)
REPORT_AT_LATEST = dt.timedelta(minutes=5)


@dataclass(frozen=True)
class LoginUser:
    id: int
    username: str
    role: str


@dataclass(frozen=True)
class LoginResult:
    user: LoginUser | None
    retry_after_s: int = 0  # > 0: refused by a lock-out, the password was not even checked


def _per_loop(table: weakref.WeakKeyDictionary, make):
    loop = asyncio.get_running_loop()
    sem = table.get(loop)
    if sem is None:
        sem = table[loop] = make()
    return sem


def _hash_slots() -> asyncio.Semaphore:
    return _per_loop(_slots, lambda: asyncio.Semaphore(HASH_SLOTS))


def _write_turn() -> asyncio.Lock:
    return _per_loop(_write_locks, asyncio.Lock)


def _as_bucket(row: LoginBucket | None, key: str) -> throttle.Bucket:
    if row is None:
        return throttle.Bucket(key)
    return throttle.Bucket(key, row.failures, aware(row.window_start), aware(row.locked_until), row.lockouts)


def _load_buckets(sessions: sessionmaker, keys: list[str]) -> list[throttle.Bucket]:
    with sessions() as s:
        rows = {r.key: r for r in s.scalars(select(LoginBucket).where(LoginBucket.key.in_(keys)))}
    return [_as_bucket(rows.get(k), k) for k in keys]


def _fetch_user(sessions: sessionmaker, username: str) -> tuple[LoginUser | None, str | None, bool]:
    with sessions() as s:
        u = s.scalar(select(User).where(User.username == username))
        if u is None:
            return None, None, False
        return LoginUser(u.id, u.username, u.role), u.password_hash, bool(u.active)


def _update_buckets(sessions: sessionmaker, keys: list[str], now: dt.datetime, *,
                    failed: bool, counted: bool = True) -> list[throttle.Bucket]:
    """Apply one attempt's outcome to its buckets in one transaction; returns the buckets that
    this attempt locked. Rows are locked on PostgreSQL (workers in other processes); SQLite has
    no row locks, so this process's attempts take turns (SQLite serves one process anyway)."""
    with _bucket_writes:
        return _update_buckets_once(sessions, keys, now, failed=failed, counted=counted)


_bucket_writes = threading.Lock()
# Attempts refused during a lock-out are counted here and folded into the buckets by the
# periodic report: a flood of refused attempts costs no database write each.
_refused: dict[str, tuple[int, dt.datetime]] = {}
_refused_lock = threading.Lock()


def _note_refused(pair_key: str, now: dt.datetime) -> None:
    with _refused_lock:
        n, _ = _refused.get(pair_key, (0, now))
        _refused[pair_key] = (n + 1, now)


def _fold_refused(s: Session) -> None:
    with _refused_lock:
        pending = dict(_refused)
        _refused.clear()
    for key, (n, last) in pending.items():
        row = s.get(LoginBucket, key, with_for_update=True)
        if row is None:
            row = LoginBucket(key=key, failures=0, lockouts=0, unreported=0)
            s.add(row)
        row.unreported = (row.unreported or 0) + n
        row.first_unreported_at = row.first_unreported_at or last
        row.last_failure_at = last
    s.flush()


def _update_buckets_once(sessions: sessionmaker, keys: list[str], now: dt.datetime, *,
                         failed: bool, counted: bool) -> list[throttle.Bucket]:
    for _ in range(5):  # two first failures may insert the same new key at once
        locked: list[throttle.Bucket] = []
        with sessions() as s:
            rows = {r.key: r for r in s.scalars(
                select(LoginBucket).where(LoginBucket.key.in_(keys)).with_for_update())}
            for key in keys:
                row = rows.get(key)
                before = _as_bucket(row, key)
                if not failed:
                    if row is None or throttle.record_success(before) is not None:
                        continue  # nothing kept, or a bucket a success leaves as it is
                    if row.unreported:  # forget the count, keep what the ledger has yet to hear
                        row.failures, row.window_start, row.locked_until, row.lockouts = 0, None, None, 0
                    else:
                        s.delete(row)
                    continue
                after, tripped = throttle.record_failure(before, now) if counted else (before, False)
                if row is None:
                    row = LoginBucket(key=key, unreported=0)
                    s.add(row)
                row.failures, row.window_start = after.failures, after.window_start
                row.locked_until, row.lockouts = after.locked_until, after.lockouts
                if key.startswith("pair:"):  # the ledger reports per account and address
                    row.unreported = (row.unreported or 0) + 1
                    row.first_unreported_at = row.first_unreported_at or now
                row.last_failure_at = now
                if tripped:
                    locked.append(after)
            try:
                s.commit()
            except IntegrityError:
                continue
        return locked
    raise RuntimeError("login buckets kept colliding")


async def attempt_login(sessions: sessionmaker, ledger: Ledger, username: str, password: str,
                        client: str, via: str) -> LoginResult:
    now = utcnow()
    keys = throttle.bucket_keys(username, client)
    verdict = throttle.check(await run_in_threadpool(_load_buckets, sessions, keys), now)
    if not verdict.allowed:
        metrics.LOGINS.labels("locked").inc()
        # Counted against the bucket that refused it: an address locked for spraying reports its
        # refusals as one count, not one ledger entry per made-up account.
        _note_refused(verdict.locked_by or keys[0], now)
        await asyncio.sleep(verdict.delay.total_seconds())  # each flooding connection crawls
        return LoginResult(None, retry_after_s=max(1, int(verdict.retry_after.total_seconds() + 0.999)))
    if verdict.delay:
        await asyncio.sleep(verdict.delay.total_seconds())
    user, stored_hash, active = await run_in_threadpool(_fetch_user, sessions, username)
    async with _hash_slots():
        ok = await run_in_threadpool(verify_password, stored_hash, password)
    ok = ok and user is not None and active
    async with _write_turn():  # waiting here holds no worker thread
        locked = await run_in_threadpool(_update_buckets, sessions, keys, now, failed=not ok)
    if ok:
        metrics.LOGINS.labels("ok").inc()
        await run_in_threadpool(ledger.append, "auth.login",
                                {"username": user.username, "client": client, "via": via})
        return LoginResult(user)
    metrics.LOGINS.labels("failed").inc()
    for b in locked:
        await run_in_threadpool(ledger.append, "auth.lockout", {
            "bucket": b.key, "until": iso(b.locked_until), "lockouts": b.lockouts, "via": via})
        log.warning("login lock-out: %s until %s", b.key, b.locked_until)
    return LoginResult(None)


def report_failed_logins(sessions: sessionmaker, ledger: Ledger, now: dt.datetime | None = None,
                         flush_all: bool = False) -> int:
    """Write one `auth.login_failed` ledger entry per account and address for each burst of
    failures (with its count and span) once it has gone quiet; returns the entries written.
    The leaf and the taking off of the count are one transaction: reported once, never lost."""
    now = now or utcnow()
    with _bucket_writes, sessions() as s:
        _fold_refused(s)
        due = 0
        for row in s.scalars(select(LoginBucket).where(LoginBucket.unreported > 0).with_for_update()):
            first, last = aware(row.first_unreported_at) or now, aware(row.last_failure_at) or now
            if not (flush_all or now - last >= REPORT_AFTER_QUIET or now - first >= REPORT_AT_LATEST):
                continue
            kind, _, rest = row.key.partition(":")
            user, _, client = rest.rpartition("|") if kind == "pair" else (None, "", rest)
            ledger.record(s, "auth.login_failed", {"username": user, "client": client, "failures": row.unreported,
                                                   "first": iso(first), "last": iso(last)})
            row.unreported, row.first_unreported_at = 0, None
            due += 1
        # Buckets with nothing to report, no lock and an expired window are forgotten.
        stale = now - max(lim.window for lim in throttle.LIMITS.values())
        s.flush()
        s.execute(delete(LoginBucket).where(
            LoginBucket.unreported == 0,
            or_(LoginBucket.locked_until.is_(None), LoginBucket.locked_until < now),
            or_(LoginBucket.last_failure_at.is_(None), LoginBucket.last_failure_at < stale)),
            execution_options={"synchronize_session": False})
        s.commit()
    return due


def active_lockouts(s: Session, now: dt.datetime | None = None) -> list[dict]:
    now = now or utcnow()
    rows = s.scalars(select(LoginBucket).where(LoginBucket.locked_until > now)
                     .order_by(LoginBucket.locked_until.desc()))
    out = []
    for r in rows:
        b = _as_bucket(r, r.key)
        if not throttle.LIMITS[b.kind].locks:
            continue
        out.append({"bucket": r.key, "kind": b.kind, "until": iso(r.locked_until),
                    "lockouts": r.lockouts})
    return out


def lift_lockouts(s: Session, username: str | None, address: str | None) -> list[str]:
    """Lift every lock-out of that account (from any address) and/or of that address; the
    caller ledgers it. Returns the buckets lifted."""
    conds = []
    if username:
        user = username.strip().lower()
        conds += [LoginBucket.key == f"user:{user}", LoginBucket.key.like(f"pair:{_like(user)}|%", escape="\\")]
    if address:
        conds += [LoginBucket.key == f"addr:{address}", LoginBucket.key.like(f"pair:%|{_like(address)}", escape="\\")]
    if not conds:
        return []
    lifted = []
    for row in s.scalars(select(LoginBucket).where(or_(*conds))):
        if row.locked_until is not None or row.failures:
            lifted.append(row.key)
        row.failures, row.window_start, row.locked_until, row.lockouts = 0, None, None, 0
    return lifted


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")

