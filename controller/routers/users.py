"""Users and roles (admin only): accounts, their role, customer and state, a new password, their
sessions; every change is ledgered."""
from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field, model_validator
from sqlalchemy import select

from controller.auth import DB, require
from controller.deps import LedgerDep
from controller.errors import documented
from controller.models import Role, User
from controller.params import Int64
from controller.services import users as svc

router = APIRouter(prefix="/api/users", tags=["users"])


class NewUser(BaseModel):
    username: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.@\-]+$")
    password: str = Field(min_length=8, max_length=256)
    role: Role
    customer_id: int | None = None

    @model_validator(mode="after")
    def _scope(self):
        if (self.role == Role.customer) != (self.customer_id is not None):
            raise ValueError(svc.CUSTOMER_ONLY)
        return self


class PasswordReset(BaseModel):
    new_password: str = Field(min_length=8, max_length=256)


class UserChange(BaseModel):
    role: Role | None = None
    customer_id: int | None = None
    active: bool | None = None


@router.get("", dependencies=[require(Role.admin)])
def list_users(db: DB) -> list[dict]:
    return [svc.user_view(u) for u in db.scalars(select(User).order_by(User.username))]


@router.post("", status_code=201, responses=documented(409))
def add_user(body: NewUser, db: DB, ledger: LedgerDep, admin: User = require(Role.admin)) -> dict:
    return svc.user_view(svc.create_user(db, ledger, body.username, body.password, body.role, body.customer_id,
                                 admin.username))


@router.patch("/{user_id}")
def change_user(user_id: Int64, body: UserChange, db: DB, ledger: LedgerDep,
                admin: User = require(Role.admin)) -> dict:
    return svc.user_view(svc.change_user(db, ledger, user_id, body.role, body.customer_id, body.active, admin.username))


@router.post("/{user_id}/password")
def reset_password(user_id: Int64, body: PasswordReset, db: DB, ledger: LedgerDep,
                   admin: User = require(Role.admin)) -> dict:
    """Set a new password for an account; ends all its sessions and tokens."""
    return {"ended": svc.reset_password(db, ledger, user_id, body.new_password, admin.username)}


@router.get("/{user_id}/sessions", dependencies=[require(Role.admin)])
def user_sessions(user_id: Int64, db: DB) -> list[dict]:
    """The account's browser sessions and API tokens, with their state."""
    return svc.session_views(db, user_id)


@router.post("/{user_id}/sessions/end")
def end_user_sessions(user_id: Int64, db: DB, ledger: LedgerDep, admin: User = require(Role.admin)) -> dict:
    """End every session and token of the account now."""
    return {"ended": svc.end_sessions(db, ledger, user_id, admin.username)}
