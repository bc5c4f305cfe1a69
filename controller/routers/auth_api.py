"""API login: exchange a username and password for a bearer token."""
from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, HTTPException, Request, status
from pydantic import BaseModel, Field
from sqlalchemy import select

from controller.auth import DB, CurrentUser
from controller.errors import documented
from controller.models import ApiToken, User, utcnow
from controller.security import new_token, verify_password

router = APIRouter(prefix="/api", tags=["auth"])


class Credentials(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


def authenticate(request: Request, db, username: str, password: str) -> User | None:
    """Check a login and record it in the ledger either way."""
    user = db.scalar(select(User).where(User.username == username))
    ok = verify_password(user.password_hash if user else None, password) and bool(user and user.active)
    client = request.client.host if request.client else ""
    request.app.state.ledger.append(
        "auth.login" if ok else "auth.login_failed",
        {"username": username[:64], "client": client, "via": request.url.path},
    )
    return user if ok else None


@router.post("/auth/token", responses=documented(401))
def issue_token(body: Credentials, request: Request, db: DB) -> dict:
    user = authenticate(request, db, body.username, body.password)
    if user is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "wrong username or password")
    token, digest = new_token()
    ttl = request.app.state.settings.token_ttl_hours
    db.add(ApiToken(user_id=user.id, token_hash=digest, expires_at=utcnow() + dt.timedelta(hours=ttl)))
    db.commit()
    return {"token": token, "token_type": "bearer", "expires_in": ttl * 3600, "role": user.role}


@router.get("/me")
def me(user: CurrentUser) -> dict:
    return {"id": user.id, "username": user.username, "role": user.role, "customer_id": user.customer_id}
