"""Error answers in the documented shapes, never an echo of the input.

Every 422 carries ``{"detail": [{"loc", "msg", "type"}, ...]}`` as FastAPI's HTTPValidationError
schema says, whether FastAPI's validation or a route's own check raised it; the rejected value
itself is never sent back (it may be huge, binary or not encodable). Every other error answer is
``{"detail": "<message>"}``, and the OpenAPI document lists, per operation, the codes it can give.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.dependencies.models import Dependant
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException

from controller.auth import optional_user
from controller.domain_errors import (
    BadProof,
    Busy,
    Conflict,
    DomainError,
    EdgeFailed,
    EdgeTimeout,
    EdgeUnavailable,
    Forbidden,
    Gone,
    Invalid,
    NotFound,
    Refused,
    TooManyAttempts,
)

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
    if isinstance(detail, dict) and isinstance(detail.get("problems"), list):
        return problem_list(str(d) for d in detail["problems"])
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


# A service's refusal and the answer it gets; a subclass answers as its nearest listed base.
STATUS_OF: dict[type[DomainError], int] = {
    BadProof: 400, Forbidden: 403, NotFound: 404, Conflict: 409, Gone: 410, Invalid: 422,
    TooManyAttempts: 429, EdgeFailed: 502, EdgeUnavailable: 503, EdgeTimeout: 504, Busy: 503,
}


def status_of(exc: DomainError) -> int:
    return next((STATUS_OF[k] for k in type(exc).__mro__ if k in STATUS_OF), 400)


async def _domain_error(request: Request, exc: DomainError) -> JSONResponse:
    code = status_of(exc)
    if isinstance(exc, Invalid):
        detail: Any = problem_list(exc.problems or [exc.message], type_=exc.kind)
    else:
        detail = exc.message
    body: dict[str, Any] = {"detail": detail}
    if isinstance(exc, Refused):  # every failing rule, by name, beside the message
        body["reasons"] = exc.reasons
    return JSONResponse(body, status_code=code, headers=exc.headers)


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(DomainError, _domain_error)


# Every error answer but a 422: {"detail": "<message>"}
ERROR_SCHEMA = {"type": "object", "properties": {"detail": {"type": "string"}}, "required": ["detail"]}
WHY = {401: "Not logged in, or a bad or expired token", 403: "The role may not do this (or a missing CSRF token)",
       404: "No such object, or not the caller's to see", 413: "The request body is larger than the route accepts",
       502: "The site's edge agent failed the command", 503: "The site's edge agent is not connected",
       504: "The edge agent did not answer in time"}


def documented(*codes: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route's own error answers."""
    return {c: {"description": WHY.get(c, HTTPStatus(c).phrase),
                "content": {"application/json": {"schema": ERROR_SCHEMA}}} for c in codes}


def _needs_login(dep: Dependant) -> bool:
    return dep.call is optional_user or any(_needs_login(d) for d in dep.dependencies)


def document_common_errors(routes: Iterable[Any]) -> None:
    """Add to each operation the errors that follow from its shape: a login (401, 403), an
    object in its path (404), a body (413). Call on a router's routes before it is included."""
    for route in routes:
        if not isinstance(route, APIRoute) or not route.include_in_schema:
            continue
        codes = ([401, 403] if _needs_login(route.dependant) else []) + (
            [404] if route.dependant.path_params else []) + ([413] if route.dependant.body_params else [])
        for code, spec in documented(*codes).items():
            route.responses.setdefault(code, spec)
