"""Annotation work for annotators: the next task, its content, the page's heartbeat, the draft,
submit and skip. Each asks the site's policy with the live facts first; a refusal is 403 with
every failing reason. Content is shown inline and never offered as a download."""
from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field, StringConstraints

from controller import errors
from controller.auth import DB, client_address, require
from controller.deps import LedgerDep, SettingsDep
from controller.models import Role, User
from controller.params import Int64
from controller.services import work as svc

router = APIRouter(prefix="/api/work", tags=["work"])
ANNOTATOR = require(Role.annotator)
REFUSED = {403: {"description": "The site's policy refuses work here now; `reasons` names every failing rule",
                 "content": {"application/json": {"schema": {
                     "type": "object", "required": ["detail"],
                     "properties": {"detail": {"type": "string"},
                                    "reasons": {"type": "array", "items": {"type": "string"}}}}}}}}
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
WATERMARK_HEADER = "X-SiteGuard-Watermark"


class ResultIn(BaseModel):
    result: dict[str, Any] = Field(default_factory=dict)


class SkipIn(BaseModel):
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]


@router.post("/projects/{project_id}/next", responses={**REFUSED, 204: {"description": "Nothing is free for you"}})
def next_task(project_id: Int64, request: Request, db: DB, settings: SettingsDep, user: User = ANNOTATOR) -> Any:
    """Claim the next task of the project (or get back the one already held), reserved until
    ``reserved_until`` unless the page's heartbeat renews it. 204: nothing is free for you."""
    out = svc.next_task(db, user, project_id, client_address(request), settings.agent_offline_after_s,
                        gold_seed=settings.gold_seed)
    if out is None:
        return Response(status_code=204, headers=NO_STORE)
    return out


@router.get("/tasks/{task_id}/content", responses={**REFUSED, 200: {"content": {"application/octet-stream": {}}}})
def task_content(task_id: Int64, request: Request, db: DB, settings: SettingsDep, user: User = ANNOTATOR) -> Response:
    """The item's bytes, to the annotator holding the task, while the policy allows; shown
    inline, never stored by the browser. A remote session whose customer wants a watermark gets
    its text in ``X-SiteGuard-Watermark`` (UTF-8, percent-encoded), and an image with it burnt
    into the pixels."""
    return content_response(svc.content(db, user, task_id, client_address(request), settings.agent_offline_after_s,
                                        settings.data_dir))


def content_response(c: svc.Content) -> Response:
    """Content shown inline and never stored; a watermarked session's text in its header (the
    page overlays it; an image carries it in its pixels already)."""
    headers = {**NO_STORE, "Content-Disposition": "inline", "X-Content-Type-Options": "nosniff",
               "Content-Security-Policy": "sandbox; default-src 'none'"}
    if c.watermark is not None:  # UTF-8, percent-encoded: a header's value is ASCII
        headers[WATERMARK_HEADER] = quote(c.watermark, safe=" -./:@")
    return Response(c.body, media_type=c.media_type, headers=headers)


@router.post("/tasks/{task_id}/heartbeat")
def heartbeat(task_id: Int64, request: Request, db: DB, settings: SettingsDep, user: User = ANNOTATOR) -> dict[str, Any]:
    """The page's re-check every few seconds: the policy's answer now (the page hides the
    content on a no and keeps the draft) and, while it allows, the reservation renewed."""
    return svc.heartbeat(db, user, task_id, client_address(request), settings.agent_offline_after_s)


@router.get("/tasks/{task_id}/draft", responses=REFUSED)
def get_draft(task_id: Int64, request: Request, db: DB, settings: SettingsDep, user: User = ANNOTATOR) -> dict[str, Any]:
    return svc.get_draft(db, user, task_id, client_address(request), settings.agent_offline_after_s)


@router.put("/tasks/{task_id}/draft")
def put_draft(task_id: Int64, body: ResultIn, db: DB, user: User = ANNOTATOR) -> dict[str, Any]:
    """Autosave (overwritten; a draft is not evidence)."""
    return svc.put_draft(db, user, task_id, body.result)


@router.post("/tasks/{task_id}/submit", responses=REFUSED)
def submit(task_id: Int64, body: ResultIn, request: Request, db: DB, ledger: LedgerDep, settings: SettingsDep,
           user: User = ANNOTATOR) -> dict[str, Any]:
    """Save a new version of your annotation (1, 2, ... chained by hash) with its ledger leaf."""
    return svc.submit(db, ledger, user, task_id, body.result, client_address(request), settings.agent_offline_after_s)


@router.post("/tasks/{task_id}/skip")
def skip(task_id: Int64, body: SkipIn, db: DB, user: User = ANNOTATOR) -> dict[str, Any]:
    """Pass on a held task, with the reason; it is not offered to you again."""
    return svc.skip(db, user, task_id, body.reason)


errors.document_common_errors(router.routes)
