"""Users and roles (admin only); every creation and role change is ledgered."""
from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, status
from pydantic import BaseModel, Field, model_validator
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from controller.auth import DB, require
from controller.errors import documented
from controller.models import Customer, Role, User
from controller.params import Int64
from controller.security import hash_password
from controller.sessions import end_everything

router = APIRouter(prefix="/api/users", tags=["users"])


def user_view(u: User) -> dict:
    return {"id": u.id, "username": u.username, "role": u.role, "customer_id": u.customer_id,
            "active": u.active}


class NewUser(BaseModel):
    username: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.@\-]+$")
    password: str = Field(min_length=8, max_length=256)
    role: Role
    customer_id: int | None = None

    @model_validator(mode="after")
    def _scope(self):
        if (self.role == Role.customer) != (self.customer_id is not None):
            raise ValueError("customer_id is required for, and only for, role 'customer'")
        return self


class UserChange(BaseModel):
    role: Role | None = None
    customer_id: int | None = None
    active: bool | None = None


def create_user(db, ledger, username: str, password: str, role: Role, customer_id: int | None,
                by: str) -> User:
    if customer_id is not None and db.get(Customer, customer_id) is None:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "no such customer")
    user = User(username=username, password_hash=hash_password(password), role=role.value,
                customer_id=customer_id, active=True)
    db.add(user)
    ledger.record(db, "user.created", {"username": username, "role": role.value,
                                       "customer_id": customer_id, "by": by})
    try:
        db.commit()
    except IntegrityError:
        db.rollback()
        raise HTTPException(status.HTTP_409_CONFLICT, "username taken") from None
    return user


@router.get("", dependencies=[require(Role.admin)])
def list_users(db: DB) -> list[dict]:
    return [user_view(u) for u in db.scalars(select(User).order_by(User.username))]


@router.post("", status_code=201, responses=documented(409))
def add_user(body: NewUser, db: DB, request: Request, admin: User = require(Role.admin)) -> dict:
    u = create_user(db, request.app.state.ledger, body.username, body.password, body.role,
                    body.customer_id, admin.username)
    return user_view(u)


@router.patch("/{user_id}")
def change_user(user_id: Int64, body: UserChange, db: DB, request: Request,
                admin: User = require(Role.admin)) -> dict:
    u = db.get(User, user_id)
    if u is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such user")
    before = user_view(u)
    role = body.role.value if body.role else u.role
    customer_id = body.customer_id if body.customer_id is not None else (
        u.customer_id if role == Role.customer.value else None)
    if (role == Role.customer.value) != (customer_id is not None):
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            "customer_id is required for, and only for, role 'customer'")
    if customer_id is not None and db.get(Customer, customer_id) is None:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "no such customer")
    u.role, u.customer_id = role, customer_id
    if body.active is not None:
        u.active = body.active
    # Disabling, or moving an account to another role or customer, ends what it holds now:
    # enabling it again later brings back no session and no token.
    disabled = before["active"] and not u.active
    rescoped = (before["role"], before["customer_id"]) != (u.role, u.customer_id)
    ended = end_everything(db, u.id) if disabled or rescoped else None
    request.app.state.ledger.record(db, "user.changed", {"username": u.username, "before": before,
                                                     "after": user_view(u), "by": admin.username,
                                                     **({"ended": ended} if ended else {})})
    db.commit()
    return user_view(u)
