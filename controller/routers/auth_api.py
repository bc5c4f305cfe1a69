"""API login and what ends it: bearer tokens issued, listed and revoked, logout, a new password,
and the officers' view of login lock-outs."""
from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, Response, status
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from controller.auth import (
    DB,
    STAFF,
    CurrentUser,
    bearer_token,
    client_address,
    require,
)
from controller.deps import LedgerDep, SessionsDep, SettingsDep
from controller.errors import documented
from controller.login import active_lockouts
from controller.models import User
from controller.params import Int64
from controller.services import auth as svc

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


@router.post("/auth/token", responses=documented(401, 429))
async def issue_api_token(body: Credentials, request: Request, sessions: SessionsDep, ledger: LedgerDep,
                          settings: SettingsDep) -> dict:
    address = client_address(request)
    result = await svc.authenticate(sessions, ledger, body.username, body.password, address, request.url.path)
    svc.refuse_if_locked(result)
    if result.user is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "wrong username or password")
    ttl = settings.token_ttl_hours
    token = await run_in_threadpool(svc.new_token, sessions, result.user.id, ttl, body.label, address)
    return {"token": token, "token_type": "bearer", "expires_in": ttl * 3600, "role": result.user.role}


@router.post("/auth/logout", status_code=204)
def logout(request: Request, db: DB, ledger: LedgerDep, user: CurrentUser) -> Response:
    """End the session or revoke the token this request came with."""
    header = request.headers.get("authorization")
    sid = request.session.get("sid")
    svc.logout(db, ledger, user, bearer_token(header) if header else None,
               sid if isinstance(sid, str) and not header else None)
    if not header and isinstance(sid, str):
        request.session.clear()
    return Response(status_code=204)


@router.get("/auth/tokens")
def list_tokens(db: DB, user: CurrentUser, all_users: bool = False) -> list[dict]:
    """Your own tokens; an admin may ask for everyone's (`all_users=true`)."""
    return svc.tokens(db, user, all_users)


@router.delete("/auth/tokens/{token_id}", status_code=204)
def revoke_api_token(token_id: Int64, db: DB, ledger: LedgerDep, user: CurrentUser) -> Response:
    svc.revoke(db, ledger, user, token_id)
    return Response(status_code=204)


@router.post("/me/password", status_code=204, responses=documented(403, 429))
async def change_password(body: PasswordChange, request: Request, sessions: SessionsDep, ledger: LedgerDep,
                          user: CurrentUser) -> Response:
    """A new password ends every session and token of the account, this one included."""
    checked = await svc.authenticate(sessions, ledger, user.username, body.current_password,
                                     client_address(request), request.url.path)
    await run_in_threadpool(svc.change_password, sessions, ledger, user, checked, body.new_password)
    request.session.clear()
    return Response(status_code=204)


@router.get("/auth/lockouts", dependencies=[require(*STAFF)])
def list_lockouts(db: DB) -> list[dict]:
    return active_lockouts(db)


@router.post("/auth/lockouts/lift")
def lift(body: LockoutLift, db: DB, ledger: LedgerDep, officer: User = require(*STAFF)) -> dict:
    return {"lifted": svc.lift_lockouts(db, ledger, body.username, body.address, officer.username)}


@router.get("/me")
def me(user: CurrentUser) -> dict:
    return {"id": user.id, "username": user.username, "role": user.role, "customer_id": user.customer_id}
