"""Shared types for path and query parameters."""
from __future__ import annotations

from typing import Annotated

from annotated_types import Ge, Le

# Every integer a client may send in a path or query: the database's 64-bit range, so a larger
# one is a 422 that names the parameter, not an overflow in the driver.
Int64 = Annotated[int, Ge(-(2**63)), Le(2**63 - 1)]
