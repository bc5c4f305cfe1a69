"""Who is asking, and may they: FastAPI dependencies for the database session, the user and roles.

API clients send `Authorization: Bearer <token>`; pages use the session cookie. A state-changing
request that rides on the cookie must also carry the session's CSRF token.
"""
from __future__ import annotations

import ipaddress
import secrets
from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from sqlalchemy.orm import Session

from controller.deps import SessionsDep
from controller.models import Role, User
from controller.sessions import session_user, token_user

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def get_db(sessions: SessionsDep) -> Iterator[Session]:
    with sessions() as s:
        yield s


DB = Annotated[Session, Depends(get_db)]


def _in(address: str, networks: tuple[str, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in ipaddress.ip_network(n, strict=False) for n in networks)


def client_address(request: Request) -> str:
    """The address the request came from: the connecting peer, unless that peer is one of the
    configured trusted proxies; then the nearest address in X-Forwarded-For that is not itself
    a trusted proxy (what a client wrote there beyond the proxies is never believed)."""
    peer = request.client.host if request.client else ""
    core = getattr(request.app.state, "core", None)
    trusted = tuple(getattr(getattr(core, "settings", None), "trusted_proxies", ()) or ())
    if not trusted or not _in(peer, trusted):
        return peer
    hops = [h.strip() for h in ",".join(request.headers.getlist("x-forwarded-for")).split(",") if h.strip()]
    for hop in reversed(hops):
        if not _in(hop, trusted):
            return hop
    return hops[0] if hops else peer


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
    user = token_user(db, bearer_token(header))
    if user is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "invalid, expired or revoked token",
                            headers={"WWW-Authenticate": "Bearer"})
    if not user.active:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "account disabled")
    return user


def optional_user(request: Request, db: DB) -> User | None:
    user = _login(request, db)
    # End the read: the connection goes back to the pool while the request waits for a thread
    # to run its endpoint (holding it there, every connection could be held by requests waiting
    # for threads that wait for connections). The user stays loaded.
    db.commit()
    return user


def _login(request: Request, db: Session) -> User | None:
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

