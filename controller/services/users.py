"""Accounts: creation and changes of role, customer or state, a new password set by an admin,
and their sessions; every change ledgered."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from controller.domain_errors import Conflict, Invalid, NotFound
from controller.ledger import Ledger
from controller.models import (
    ApiToken,
    Customer,
    Role,
    User,
    UserSession,
    aware,
    iso,
    utcnow,
)
from controller.security import hash_password
from controller.sessions import end_everything, token_view

CUSTOMER_ONLY = "customer_id is required for, and only for, role 'customer'"


def user_view(u: User) -> dict:
    return {"id": u.id, "username": u.username, "role": u.role, "customer_id": u.customer_id,
            "active": u.active}


def create_user(db, ledger: Ledger, username: str, password: str, role: Role, customer_id: int | None,
                by: str) -> User:
    if customer_id is not None and db.get(Customer, customer_id) is None:
        raise Invalid("no such customer")
    user = User(username=username, password_hash=hash_password(password), role=role.value,
                customer_id=customer_id, active=True)
    db.add(user)
    ledger.record(db, "user.created", {"username": username, "role": role.value,
                                       "customer_id": customer_id, "by": by})
    try:
        db.commit()
    except IntegrityError:
        db.rollback()
        raise Conflict("username taken") from None
    return user


def change_user(db, ledger: Ledger, user_id: int, role: Role | None, customer_id: int | None,
                active: bool | None, by: str) -> User:
    u = db.get(User, user_id)
    if u is None:
        raise NotFound("no such user")
    before = user_view(u)
    new_role = role.value if role else u.role
    new_customer = customer_id if customer_id is not None else (
        u.customer_id if new_role == Role.customer.value else None)
    if (new_role == Role.customer.value) != (new_customer is not None):
        raise Invalid(CUSTOMER_ONLY)
    if new_customer is not None and db.get(Customer, new_customer) is None:
        raise Invalid("no such customer")
    u.role, u.customer_id = new_role, new_customer
    if active is not None:
        u.active = active
    # Disabling, or moving an account to another role or customer, ends what it holds now:
    # enabling it again later brings back no session and no token.
    disabled = before["active"] and not u.active
    rescoped = (before["role"], before["customer_id"]) != (u.role, u.customer_id)
    ended = end_everything(db, u.id) if disabled or rescoped else None
    ledger.record(db, "user.changed", {"username": u.username, "before": before, "after": user_view(u),
                                       "by": by, **({"ended": ended} if ended else {})})
    db.commit()
    return u


def _user(db, user_id: int) -> User:
    u = db.get(User, user_id)
    if u is None:
        raise NotFound("no such user")
    return u


def reset_password(db, ledger: Ledger, user_id: int, new_password: str, by: str) -> dict[str, int]:
    """An admin sets a new password for an account (e.g. one that forgot its own): every session
    and token of it ends, ledgered (never the password)."""
    u = _user(db, user_id)
    u.password_hash = hash_password(new_password)
    ended = end_everything(db, u.id)
    ledger.record(db, "user.password_reset", {"username": u.username, "by": by, "ended": ended})
    db.commit()
    return ended


def session_views(db, user_id: int) -> list[dict]:
    """An account's browser sessions and API tokens, newest first, with their state."""
    u = _user(db, user_id)
    now = utcnow()
    rows = db.scalars(select(UserSession).where(UserSession.user_id == u.id)
                      .order_by(UserSession.id.desc()).limit(200))
    views = [{"kind": "session", "id": s.id, "client": s.client, "created_at": iso(s.created_at),
              "expires_at": iso(s.expires_at), "revoked_at": iso(s.revoked_at),
              "state": "revoked" if s.revoked_at else ("expired" if aware(s.expires_at) <= now else "active")}
             for s in rows]
    tokens = db.scalars(select(ApiToken).where(ApiToken.user_id == u.id).order_by(ApiToken.id.desc()).limit(200))
    return views + [{"kind": "token", **token_view(t)} for t in tokens]


def end_sessions(db, ledger: Ledger, user_id: int, by: str) -> dict[str, int]:
    """End every session and token of an account now (it may log in again), ledgered."""
    u = _user(db, user_id)
    ended = end_everything(db, u.id)
    ledger.record(db, "user.sessions_ended", {"username": u.username, "by": by, "ended": ended})
    db.commit()
    return ended
