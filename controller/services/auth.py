"""Logins, API tokens, passwords and lock-outs: what the API, the login page and the CLI share."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from controller.domain_errors import Forbidden, Invalid, NotFound, TooManyAttempts
from controller.ledger import Ledger
from controller.login import LoginResult, attempt_login
from controller.login import lift_lockouts as lift_buckets
from controller.models import ApiToken, Role, User
from controller.security import hash_password
from controller.sessions import (
    end_everything,
    end_session,
    issue_token,
    revoke_token,
    token_row,
    token_view,
)


async def authenticate(sessions: sessionmaker, ledger: Ledger, username: str, password: str, address: str,
                       path: str) -> LoginResult:
    """Check a login (throttled, ledgered): the one path both the API and the login page take."""
    return await attempt_login(sessions, ledger, username, password, address, path)


def refuse_if_locked(result: LoginResult) -> None:
    if result.retry_after_s:
        raise TooManyAttempts(f"too many failed logins: try again in {result.retry_after_s} s",
                              result.retry_after_s)


def new_token(sessions: sessionmaker, user_id: int, ttl_hours: float, label: str, address: str) -> str:
    with sessions() as s:
        token, _ = issue_token(s, user_id, dt.timedelta(hours=ttl_hours), label, address)
        return token


def logout(db, ledger: Ledger, user: User, bearer: str | None, sid: str | None) -> None:
    """End the session or revoke the token a request came with."""
    ledger.record(db, "auth.logout", {"username": user.username})
    if bearer is not None:
        row = token_row(db, bearer)
        if row is not None:
            revoke_token(db, row)
    elif sid is not None:
        end_session(db, sid)
    db.commit()  # the leaf, whichever way it ended


def tokens(db, user: User, all_users: bool) -> list[dict]:
    """The user's own tokens; an admin's ``all_users`` lists everyone's."""
    q = select(ApiToken, User).join(User, User.id == ApiToken.user_id)
    if not (all_users and user.role == Role.admin.value):
        q = q.where(ApiToken.user_id == user.id)
    return [token_view(t, owner) for t, owner in db.execute(q.order_by(ApiToken.id.desc()).limit(500))]


def revoke(db, ledger: Ledger, user: User, token_id: int) -> None:
    row = db.get(ApiToken, token_id)
    if row is None or (row.user_id != user.id and user.role != Role.admin.value):
        raise NotFound("no such token")
    if row.revoked_at is None:
        ledger.record(db, "auth.token_revoked", {"token": row.id, "user_id": row.user_id, "by": user.username})
        revoke_token(db, row)


def change_password(sessions: sessionmaker, ledger: Ledger, user: User, checked: LoginResult,
                    new_password: str) -> dict[str, int]:
    """``checked``: the login with the current password. A new password ends every session and
    token of the account."""
    refuse_if_locked(checked)
    if checked.user is None or checked.user.id != user.id:
        raise Forbidden("current password is wrong")
    with sessions() as s:
        u = s.get(User, user.id)
        u.password_hash = hash_password(new_password)
        ended = end_everything(s, user.id)
        ledger.record(s, "user.password_changed", {"username": user.username, "ended": ended})
        s.commit()
        return ended


def lift_lockouts(db, ledger: Ledger, username: str | None, address: str | None, by: str) -> list[str]:
    """Lift the lock-outs of an account and/or an address, ledgered; returns the buckets lifted."""
    if not username and not address:
        raise Invalid("give a username, an address or both")
    lifted = lift_buckets(db, username, address)
    ledger.record(db, "auth.lockout_lifted", {"username": username, "address": address,
                                              "buckets": lifted, "by": by})
    db.commit()
    return lifted
