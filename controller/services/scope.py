"""What of the customers' things a user may see: a customer user its own customer's only,
everyone else all of them. Another customer's object reads as absent, never as forbidden."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from controller.domain_errors import NotFound
from controller.models import Customer, Role, User


@dataclass(frozen=True)
class CustomerScope:
    """``customer_id``/``slug`` None: every customer's things; otherwise that one customer's
    (slug "" when the account's customer no longer exists: nothing)."""

    customer_id: int | None = None
    slug: str | None = None

    @property
    def limited(self) -> bool:
        return self.slug is not None

    def sees_id(self, customer_id: int | None) -> bool:
        return not self.limited or customer_id == self.customer_id

    def sees(self, slug: str | None) -> bool:
        return not self.limited or slug == self.slug

    def sees_any(self, slugs: Any) -> bool:
        return not self.limited or self.slug in slugs

    def filter(self, stmt: Any, column: Any) -> Any:
        """``stmt`` narrowed to rows whose ``column`` (a customer id) is in scope."""
        return stmt.where(column == self.customer_id) if self.limited else stmt

    def check(self, customer_id: int | None, message: str = "not found") -> None:
        if not self.sees_id(customer_id):
            raise NotFound(message)


EVERY_CUSTOMER = CustomerScope()


def customer_scope(db, user: User) -> CustomerScope:
    if user.role != Role.customer.value:
        return EVERY_CUSTOMER
    c = db.get(Customer, user.customer_id)
    return CustomerScope(user.customer_id, c.slug if c is not None else "")


def scoped_or_404(db, user: User, model: Any, pk: int, message: str) -> Any:
    """The row of ``model`` with that key if the user's scope holds its customer; otherwise the
    same NotFound whether the row is absent or another customer's."""
    row = db.get(model, pk)
    if row is None or not customer_scope(db, user).sees_id(row.customer_id):
        raise NotFound(message)
    return row
