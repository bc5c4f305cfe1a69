"""Error answers in the documented shapes, never an echo of the input.

Every 422 carries ``{"detail": [{"loc", "msg", "type"}, ...]}`` as FastAPI's HTTPValidationError
schema says, whether FastAPI's validation or a route's own check raised it; the rejected value
itself is never sent back (it may be huge, binary or not encodable).
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

MSG_MAX = 300  # characters of one message
ITEMS_MAX = 50  # messages in one answer


def problem_list(messages: Iterable[str], loc: Sequence[str | int] = ("body",),
                 type_: str = "value_error") -> list[dict[str, Any]]:
    """Validation error items for a route's own checks."""
    return [{"loc": list(loc), "msg": str(m)[:MSG_MAX], "type": type_} for m in list(messages)[:ITEMS_MAX]]


def _loc_part(part: Any) -> str | int:
    return part if isinstance(part, int) and not isinstance(part, bool) else str(part)[:100]


def validation_items(errors: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """FastAPI's validation errors without ``input`` and ``ctx``; a body that is not text gets a
    message that says so."""
    out = []
    for e in errors[:ITEMS_MAX]:
        loc = [_loc_part(p) for p in e.get("loc", ())]
        kind = str(e.get("type", "value_error"))
        msg = str(e.get("msg", "invalid value"))
        if kind == "string_unicode" and loc == ["body"]:
            msg = "the body is not valid UTF-8 text"
        out.append({"loc": loc, "msg": msg[:MSG_MAX], "type": kind[:100]})
    return out


def as_validation_detail(detail: Any) -> list[dict[str, Any]]:
    """A route's 422 detail (a message, a list of messages or already items) as items."""
    if isinstance(detail, list) and all(isinstance(d, dict) and {"loc", "msg", "type"} <= d.keys() for d in detail):
        return validation_items(detail)
    if isinstance(detail, (list, tuple)):
        return problem_list(str(d) for d in detail)
    return problem_list([str(detail)])


async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    return JSONResponse({"detail": validation_items(exc.errors())}, status_code=422)


async def _http_error(request: Request, exc: StarletteHTTPException):
    if exc.status_code == 422:
        return JSONResponse({"detail": as_validation_detail(exc.detail)}, status_code=422,
                            headers=getattr(exc, "headers", None))
    return await http_exception_handler(request, exc)


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
