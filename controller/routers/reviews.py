"""Reviews: the queue of submitted work awaiting review, an annotation's versions side by side,
and a reviewer's decision (accept, reject with a reason, or fix with the fixed result). A
reviewer is an annotator with the project's review right, asked the site's policy like any
annotator; officers and the project's customer may read versions; another customer's reads as
missing."""
from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field

from controller import errors
from controller.auth import DB, client_address, require
from controller.deps import LedgerDep, SettingsDep
from controller.models import Role, User
from controller.params import Int64
from controller.routers.work import REFUSED, content_response
from controller.services import reviews as svc

router = APIRouter(prefix="/api", tags=["reviews"])
REVIEWER = require(Role.annotator)
READER = require(Role.annotator, Role.admin, Role.officer, Role.customer)


class ReviewIn(BaseModel):
    decision: Literal["accept", "reject", "fix"]
    reason: str = Field("", max_length=500, description="required for reject")
    result: dict[str, Any] | None = Field(None, description="the fixed result; required for fix")


@router.get("/projects/{project_id}/review/queue", responses=REFUSED)
def review_queue(project_id: Int64, request: Request, db: DB, settings: SettingsDep,
                 user: User = REVIEWER) -> list[dict[str, Any]]:
    """Submitted annotations (the newest version of each) not yet reviewed; never your own."""
    return svc.queue(db, user, project_id, client_address(request), settings.agent_offline_after_s)


@router.get("/annotations/{annotation_id}/versions", responses=REFUSED)
def annotation_versions(annotation_id: Int64, request: Request, db: DB, settings: SettingsDep,
                        user: User = READER) -> dict[str, Any]:
    """Every version of that annotator's work on the task, oldest first, and their reviews."""
    return svc.versions(db, user, annotation_id, client_address(request), settings.agent_offline_after_s)


@router.post("/projects/{project_id}/review/heartbeat")
def review_heartbeat(project_id: Int64, request: Request, db: DB, settings: SettingsDep,
                     user: User = REVIEWER) -> dict[str, Any]:
    """The reviewer page's re-check every few seconds: the policy's answer now (the page hides
    the content on a no) and the seat the request comes from."""
    return svc.heartbeat(db, user, project_id, client_address(request), settings.agent_offline_after_s)


@router.get("/annotations/{annotation_id}/content", responses={**REFUSED, 200: {"content": {"application/octet-stream": {}}}})
def annotation_content(annotation_id: Int64, request: Request, db: DB, settings: SettingsDep,
                       user: User = REVIEWER) -> Response:
    """The annotated item's bytes, to a reviewer of its project while the policy allows; shown
    inline, never stored by the browser."""
    return content_response(svc.content(db, user, annotation_id, client_address(request),
                                        settings.agent_offline_after_s, settings.data_dir))


@router.get("/annotations/{annotation_id}/diff", responses=REFUSED)
def annotation_diff(annotation_id: Int64, request: Request, db: DB, settings: SettingsDep,
                    against: Int64 | None = Query(None, description="the older side: another annotation of the "
                                                  "same task; left out, an empty result"),
                    user: User = READER) -> dict[str, Any]:
    """What changed from ``against`` to this annotation, in the task's terms: labels, spans,
    boxes (paired by IoU), audio segments (with the transcript's character diff)."""
    return svc.compare(db, user, annotation_id, against, client_address(request), settings.agent_offline_after_s)


@router.post("/annotations/{annotation_id}/review", responses=REFUSED)
def review(annotation_id: Int64, body: ReviewIn, request: Request, db: DB, ledger: LedgerDep, settings: SettingsDep,
           user: User = REVIEWER) -> dict[str, Any]:
    """Accept, reject (the task goes back to the queue for one more annotator) or fix (a new
    version of the annotator's chain, written by you); a `review.recorded` ledger leaf each."""
    return svc.review(db, ledger, user, annotation_id, body.decision, body.reason, body.result,
                      client_address(request), settings.agent_offline_after_s)


errors.document_common_errors(router.routes)
