"""Gold and quality pauses. An officer, an admin or a reviewer of the project (at a seat the
site allows) makes an accepted annotation's item gold (``gold.promoted``). Pauses hold an
annotator from a project while their accuracy on gold is proven under its target; officers and
the project's customer read them, officers and admins lift one with a note
(``quality.pause_lifted``)."""
from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, StringConstraints

from controller import errors
from controller.auth import DB, CurrentUser, client_address, require
from controller.deps import LedgerDep, SettingsDep
from controller.models import Role, User
from controller.params import Int64
from controller.routers.work import REFUSED
from controller.services import gold as gold_svc
from controller.services import pauses as pause_svc

router = APIRouter(prefix="/api", tags=["quality"])
PROMOTERS = require(Role.admin, Role.officer, Role.annotator)
READERS = (Role.admin, Role.officer, Role.inspector, Role.customer)


class LiftIn(BaseModel):
    note: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]


@router.post("/annotations/{annotation_id}/gold", responses=REFUSED)
def promote(annotation_id: Int64, request: Request, db: DB, ledger: LedgerDep, settings: SettingsDep,
            user: User = PROMOTERS) -> dict[str, Any]:
    """Make the item of an accepted annotation gold, with that annotation's result as its answer;
    from then on it is served to every annotator once as a hidden test."""
    return gold_svc.promote(db, ledger, user, annotation_id, client_address(request), settings.agent_offline_after_s)


@router.get("/projects/{project_id}/pauses", dependencies=[require(*READERS)])
def list_pauses(project_id: Int64, db: DB, user: CurrentUser, open_only: bool = False) -> list[dict[str, Any]]:
    """The project's quality pauses, newest first, with their reasons and figures."""
    return pause_svc.list_pauses(db, user, project_id, open_only)


@router.post("/projects/{project_id}/pauses/{user_id}/lift")
def lift_pause(project_id: Int64, user_id: Int64, body: LiftIn, db: DB, ledger: LedgerDep,
               user: User = require(Role.admin, Role.officer)) -> list[dict[str, Any]]:
    """Lift the annotator's open pause on the project, with a note; they are judged afresh
    from their next gold answers."""
    return pause_svc.lift(db, ledger, user, project_id, user_id, body.note)


errors.document_common_errors(router.routes)
