"""What a request body may be, checked before any route reads it: its size and, for JSON, its text.

An ASGI middleware. A body over its route's limit is answered 413 at once, from Content-Length
when the client declares one, else as soon as the streamed bytes pass the limit, so the rest is
never read. JSON bodies are small (the default limit), so they are read whole here and checked to
be UTF-8 without lone surrogates (which the JSON parser accepts as escapes but nothing downstream
can store or encode); uploads stream through to their route, counted.
"""
from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.exceptions import HTTPException


Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

JSON_LIMIT = 1 << 20  # every route that takes JSON or a form
SITE_FILE_LIMIT = 4 << 20  # a site's YAML file
DATASET_UPLOAD_LIMIT = 4 << 30  # one file or zip imported into an annotation project
# Routes that take a larger body, by method and path template.
UPLOAD_LIMITS: dict[tuple[str, str], int] = {
    ("PUT", "/api/sites/{site_id}/config"): SITE_FILE_LIMIT,
    ("POST", "/api/projects/{project_id}/datasets"): DATASET_UPLOAD_LIMIT,
}


def _template_regex(template: str) -> re.Pattern[str]:
    parts = re.split(r"({[^/}]+})", template)
    return re.compile("^" + "".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts) + "$")


class TooLarge(HTTPException):
    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is larger than this route accepts ({limit} bytes)")


def lone_surrogate(body: bytes) -> bool:
    r"""Whether a JSON text escapes a UTF-16 surrogate that is not half of a pair (``"\ud800"``).
    Scans escapes left to right so an escaped backslash (``\\ud800``) is not mistaken for one."""
    pending_high_end = -1  # where the last high surrogate escape ended, awaiting its low half
    for m in re.finditer(rb"\\(u[0-9a-fA-F]{4}|.)", body, re.S):
        esc = m.group(1)
        unit = int(esc[1:], 16) if len(esc) == 5 else None
        if pending_high_end >= 0:
            if m.start() == pending_high_end and unit is not None and 0xDC00 <= unit <= 0xDFFF:
                pending_high_end = -1
                continue
            return True
        if unit is not None and 0xD800 <= unit <= 0xDBFF:
            pending_high_end = m.end()
        elif unit is not None and 0xDC00 <= unit <= 0xDFFF:
            return True
    return pending_high_end >= 0


def json_text_problem(body: bytes) -> dict[str, Any] | None:
    """Why a JSON body's text is unusable, as a validation error item; None when it is fine."""
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as exc:
        return {"loc": ["body"], "msg": f"the body is not valid UTF-8 (byte {exc.start})", "type": "json_invalid"}
    if lone_surrogate(body):
        return {"loc": ["body"], "msg": "the body has a lone UTF-16 surrogate escape (\\ud800-\\udfff)",
                "type": "string_unicode"}
    return None


def _is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media in ("", "application/json") or media.endswith("+json")


async def _answer(send: Send, status: int, detail: Any) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})


class BodyLimit:
    def __init__(self, app: Any, default: int = JSON_LIMIT,
                 routes: dict[tuple[str, str], int] | None = None) -> None:
        self.app = app
        self.default = default
        self.routes = [(method, _template_regex(path), limit)
                       for (method, path), limit in (UPLOAD_LIMITS if routes is None else routes).items()]

    def limit_for(self, method: str, path: str) -> tuple[int, bool]:
        """(the byte limit, whether the body streams through to the route)."""
        for m, rx, limit in self.routes:
            if m == method and rx.match(path):
                return limit, True
        return self.default, False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        limit, upload = self.limit_for(scope["method"], scope["path"])
        declared = headers.get(b"content-length")
        if declared is not None:
            if not declared.isdigit():
                await _answer(send, 400, "Content-Length is not a number")
                return
            if int(declared) > limit:
                await _answer(send, 413, TooLarge(limit).detail)
                return
        if not upload and _is_json(headers.get(b"content-type", b"").decode("latin-1")):
            await self._whole_json(scope, receive, send, limit)
        else:
            await self._streamed(scope, receive, send, limit)

    async def _whole_json(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                await self.app(scope, _replay([message]), send)
                return
            size += len(message.get("body", b""))
            if size > limit:
                await _answer(send, 413, TooLarge(limit).detail)
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        problem = json_text_problem(body)
        if problem is not None:
            await _answer(send, 422, [problem])
            return
        await self.app(scope, _replay([{"type": "http.request", "body": body, "more_body": False}], receive), send)

    async def _streamed(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        size = 0
        started = False

        async def counted() -> Message:
            nonlocal size
            message = await receive()
            if message["type"] == "http.request":
                size += len(message.get("body", b""))
                if size > limit:
                    raise TooLarge(limit)
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except TooLarge as exc:  # raised where no exception handler answered it
            if started:
                raise
            await _answer(send, 413, exc.detail)


def _replay(messages: list[Message], then: Receive | None = None) -> Receive:
    """A receive that hands out ``messages`` first, then defers to ``then`` (a disconnect)."""
    queue = list(messages)

    async def receive() -> Message:
        if queue:
            return queue.pop(0)
        if then is None:
            return {"type": "http.disconnect"}
        return await then()

    return receive
