"""A sync endpoint's database session ends when the endpoint returns, not later.

FastAPI closes a yield dependency's session only after the answer is built, and building it
(validating the return value) takes a thread from the same limited pool the endpoints run in.
Under a flood, every connection can then be held by finished requests waiting for a thread
while every thread waits for a connection: nothing moves until the pool's timeout fails them
all. Closing the session as the endpoint returns gives its connection back first. The closing
is what the dependency's exit would do (roll back what was not committed, release the
connection); what the endpoint returns was loaded before, and services answer with plain data.
"""
from __future__ import annotations

import functools
import inspect
from typing import Any, Callable

from fastapi import APIRouter
from fastapi.routing import APIRoute
from sqlalchemy.orm import Session


def _closing(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(endpoint)
    def run(**values: Any) -> Any:
        try:
            return endpoint(**values)
        finally:
            for value in values.values():
                if isinstance(value, Session):
                    value.close()

    run.__siteguard_closing__ = True  # type: ignore[attr-defined]
    return run


def end_sessions_with_endpoints(router: APIRouter) -> APIRouter:
    """Wrap each sync endpoint of ``router`` so that the sessions it was given close as it
    returns. Call before the router is included: an app builds its routes from the endpoints."""
    for route in router.routes:
        if not isinstance(route, APIRoute):
            continue
        call = route.endpoint
        if inspect.iscoroutinefunction(call) or getattr(call, "__siteguard_closing__", False):
            continue
        route.endpoint = _closing(call)
        route.dependant.call = route.endpoint
    return router
