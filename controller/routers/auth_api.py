"""API login and what ends it: bearer tokens issued, listed and revoked, logout, a new password,
and the officers' view of login lock-outs."""
from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, HTTPException, Request, Response, status
from pydantic import BaseModel, Field
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from controller.auth import DB, STAFF, CurrentUser, bearer_token, require
from controller.errors import documented
from controller.login import LoginResult, active_lockouts, attempt_login, lift_lockouts
from controller.models import ApiToken, Role, User
from controller.params import Int64
from controller.security import hash_password
from controller.sessions import (
    end_everything,
    end_session,
    issue_token,
    revoke_token,
    token_row,
    token_view,
)

router = APIRouter(prefix="/api", tags=["auth"])


class Credentials(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)
    label: str = Field(default="", max_length=100, description="what the token is for, shown in the token list")


class PasswordChange(BaseModel):
    current_password: str = Field(min_length=1, max_length=256)
    new_password: str = Field(min_length=8, max_length=256)


class LockoutLift(BaseModel):
    username: str | None = Field(default=None, min_length=1, max_length=64)
    address: str | None = Field(default=None, min_length=1, max_length=64)


def client_address(request: Request) -> str:
    return request.client.host if request.client else ""


async def authenticate(request: Request, username: str, password: str) -> LoginResult:
    """Check a login (throttled, ledgered): the one path both the API and the login page take."""
    state = request.app.state
    return await attempt_login(state.sessions, state.ledger, username, password,
                               client_address(request), request.url.path)


def locked_out(result: LoginResult) -> HTTPException:
    return HTTPException(status.HTTP_429_TOO_MANY_REQUESTS,
                         f"too many failed logins: try again in {result.retry_after_s} s",
                         headers={"Retry-After": str(result.retry_after_s)})


@router.post("/auth/token", responses=documented(401, 429))
async def issue_api_token(body: Credentials, request: Request) -> dict:
    result = await authenticate(request, body.username, body.password)
    if result.retry_after_s:
        raise locked_out(result)
    if result.user is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "wrong username or password")
    ttl = request.app.state.settings.token_ttl_hours

    def issue() -> str:
        with request.app.state.sessions() as s:
            token, _ = issue_token(s, result.user.id, dt.timedelta(hours=ttl), body.label,
                                   client_address(request))
            return token

    token = await run_in_threadpool(issue)
    return {"token": token, "token_type": "bearer", "expires_in": ttl * 3600, "role": result.user.role}


@router.post("/auth/logout", status_code=204)
def logout(request: Request, db: DB, user: CurrentUser) -> Response:
    """End the session or revoke the token this request came with."""
    request.app.state.ledger.record(db, "auth.logout", {"username": user.username})
    header = request.headers.get("authorization")
    if header:
        row = token_row(db, bearer_token(header))
        if row is not None:
            revoke_token(db, row)
    elif isinstance(request.session.get("sid"), str):
        end_session(db, request.session["sid"])
        request.session.clear()
    db.commit()  # the leaf, whichever way it ended
    return Response(status_code=204)


@router.get("/auth/tokens")
def list_tokens(db: DB, user: CurrentUser, all_users: bool = False) -> list[dict]:
    """Your own tokens; an admin may ask for everyone's (`all_users=true`)."""
    q = select(ApiToken, User).join(User, User.id == ApiToken.user_id)
    if not (all_users and user.role == Role.admin.value):
        q = q.where(ApiToken.user_id == user.id)
    return [token_view(t, owner) for t, owner in db.execute(q.order_by(ApiToken.id.desc()).limit(500))]


@router.delete("/auth/tokens/{token_id}", status_code=204)
def revoke_api_token(token_id: Int64, request: Request, db: DB, user: CurrentUser) -> Response:
    row = db.get(ApiToken, token_id)
    if row is None or (row.user_id != user.id and user.role != Role.admin.value):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such token")
    if row.revoked_at is None:
        request.app.state.ledger.record(db, "auth.token_revoked", {"token": row.id, "user_id": row.user_id,
                                                                   "by": user.username})
        revoke_token(db, row)
    return Response(status_code=204)


@router.post("/me/password", status_code=204, responses=documented(403, 429))
async def change_password(body: PasswordChange, request: Request, user: CurrentUser) -> Response:
    """A new password ends every session and token of the account, this one included."""
    result = await authenticate(request, user.username, body.current_password)
    if result.retry_after_s:
        raise locked_out(result)
    if result.user is None or result.user.id != user.id:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "current password is wrong")

    def store() -> dict[str, int]:
        with request.app.state.sessions() as s:
            u = s.get(User, user.id)
            u.password_hash = hash_password(body.new_password)
            ended = end_everything(s, user.id)
            request.app.state.ledger.record(s, "user.password_changed", {"username": user.username, "ended": ended})
            s.commit()
            return ended

    await run_in_threadpool(store)
    request.session.clear()
    return Response(status_code=204)


@router.get("/auth/lockouts", dependencies=[require(*STAFF)])
def list_lockouts(db: DB) -> list[dict]:
    return active_lockouts(db)


@router.post("/auth/lockouts/lift")
def lift(body: LockoutLift, request: Request, db: DB, officer: User = require(*STAFF)) -> dict:
    if not body.username and not body.address:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "give a username, an address or both")
    lifted = lift_lockouts(db, body.username, body.address)
    request.app.state.ledger.record(db, "auth.lockout_lifted", {"username": body.username, "address": body.address,
                                                            "buckets": lifted, "by": officer.username})
    db.commit()
    return {"lifted": lifted}


@router.get("/me")
def me(user: CurrentUser) -> dict:
    return {"id": user.id, "username": user.username, "role": user.role, "customer_id": user.customer_id}

