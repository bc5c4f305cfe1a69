"""Browser sessions and API tokens kept on the server, so that ending one is real: logout,
revocation, disabling a user and a new password all take effect on the next request.

The cookie and the bearer token are random strings; the database keeps only their SHA-256.
"""
from __future__ import annotations

import datetime as dt
import secrets

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from controller.models import ApiToken, User, UserSession, aware, iso, utcnow
from controller.security import new_token, token_hash


def open_session(db: Session, user_id: int, ttl: dt.timedelta, client: str) -> str:
    """A new browser session; returns the id the cookie carries."""
    sid = secrets.token_urlsafe(32)
    db.add(UserSession(sid_hash=token_hash(sid), user_id=user_id, expires_at=utcnow() + ttl,
                       client=client[:64]))
    db.commit()
    return sid


def _valid(row) -> bool:
    return row is not None and row.revoked_at is None and aware(row.expires_at) > utcnow()


def session_user(db: Session, sid: str) -> User | None:
    """The session's active user while the session is valid; one query, as on every request."""
    found = db.execute(select(UserSession, User).join(User, User.id == UserSession.user_id)
                       .where(UserSession.sid_hash == token_hash(sid))).first()
    if found is None or not _valid(found[0]):
        return None
    return found[1] if found[1].active else None


def end_session(db: Session, sid: str) -> bool:
    n = db.execute(update(UserSession).where(UserSession.sid_hash == token_hash(sid),
                                             UserSession.revoked_at.is_(None))
                   .values(revoked_at=utcnow())).rowcount
    db.commit()
    return bool(n)


def issue_token(db: Session, user_id: int, ttl: dt.timedelta, label: str, client: str) -> tuple[str, ApiToken]:
    token, digest = new_token()
    row = ApiToken(user_id=user_id, token_hash=digest, expires_at=utcnow() + ttl, label=label[:100],
                   client=client[:64])
    db.add(row)
    db.commit()
    return token, row


def token_row(db: Session, token: str) -> ApiToken | None:
    """The token's row while it is valid (not revoked, not expired), else None."""
    row = db.scalar(select(ApiToken).where(ApiToken.token_hash == token_hash(token)))
    return row if _valid(row) else None


def token_user(db: Session, token: str) -> User | None:
    """The token's user (active or not) while the token is valid; one query, as on every request."""
    found = db.execute(select(ApiToken, User).join(User, User.id == ApiToken.user_id)
                       .where(ApiToken.token_hash == token_hash(token))).first()
    return found[1] if found is not None and _valid(found[0]) else None


def revoke_token(db: Session, row: ApiToken) -> bool:
    if row.revoked_at is not None:
        return False
    row.revoked_at = utcnow()
    db.commit()
    return True


def end_everything(db: Session, user_id: int) -> dict[str, int]:
    """Revoke every session and token of a user (disabled, or a new password); the caller
    commits and ledgers. Revoked rows stay revoked if the user is enabled again."""
    now = utcnow()
    sessions = db.execute(update(UserSession).where(UserSession.user_id == user_id,
                                                    UserSession.revoked_at.is_(None))
                          .values(revoked_at=now)).rowcount
    tokens = db.execute(update(ApiToken).where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
                        .values(revoked_at=now)).rowcount
    return {"sessions": sessions or 0, "tokens": tokens or 0}


def token_view(t: ApiToken, owner: User | None = None) -> dict:
    now = utcnow()
    state = "revoked" if t.revoked_at else ("expired" if aware(t.expires_at) <= now else "active")
    view = {"id": t.id, "user_id": t.user_id, "label": t.label, "client": t.client,
            "created_at": iso(t.created_at), "expires_at": iso(t.expires_at),
            "revoked_at": iso(t.revoked_at), "state": state}
    if owner is not None:
        view["username"], view["customer_id"] = owner.username, owner.customer_id
    return view
