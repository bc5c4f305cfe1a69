"""Who is asking, and may they: FastAPI dependencies for the database session, the user and roles.

API clients send `Authorization: Bearer <token>`; pages use the session cookie. A state-changing
request that rides on the cookie must also carry the session's CSRF token.
"""
from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from sqlalchemy.orm import Session

from controller.deps import SessionsDep
from controller.models import Role, User
from controller.sessions import session_user, token_row

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def get_db(sessions: SessionsDep) -> Iterator[Session]:
    with sessions() as s:
        yield s


DB = Annotated[Session, Depends(get_db)]


def client_address(request: Request) -> str:
    return request.client.host if request.client else ""


def csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not token:
        token = request.session["csrf"] = secrets.token_urlsafe(24)
    return token


def bearer_token(header: str) -> str:
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "use 'Authorization: Bearer <token>'",
                            headers={"WWW-Authenticate": "Bearer"})
    return token.strip()


def _user_from_token(db: Session, header: str) -> User:
    row = token_row(db, bearer_token(header))
    if row is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "invalid, expired or revoked token",
                            headers={"WWW-Authenticate": "Bearer"})
    user = db.get(User, row.user_id)
    if user is None or not user.active:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "account disabled")
    return user


def optional_user(request: Request, db: DB) -> User | None:
    header = request.headers.get("authorization")
    if header:
        return _user_from_token(db, header)
    sid = request.session.get("sid")
    if not isinstance(sid, str):
        return None
    user = session_user(db, sid)
    if user is None:  # logged out, expired, revoked or disabled: the cookie is worth nothing
        request.session.clear()
        return None
    if request.method not in SAFE_METHODS:
        sent = request.headers.get("x-csrf-token", "")
        if not sent or not secrets.compare_digest(sent, request.session.get("csrf", "")):
            raise HTTPException(status.HTTP_403_FORBIDDEN, "missing or wrong CSRF token")
    return user


def current_user(user: Annotated[User | None, Depends(optional_user)]) -> User:
    if user is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "login required",
                            headers={"WWW-Authenticate": "Bearer"})
    return user


CurrentUser = Annotated[User, Depends(current_user)]


def require(*roles: Role):
    allowed = {r.value for r in roles}

    def check(user: CurrentUser) -> User:
        if user.role not in allowed:
            raise HTTPException(status.HTTP_403_FORBIDDEN,
                                f"role {user.role} may not do this (needs {', '.join(sorted(allowed))})")
        return user

    return Depends(check)


# Commonly used role sets
STAFF = (Role.admin, Role.officer)
SITE_READERS = (Role.admin, Role.officer, Role.inspector)

