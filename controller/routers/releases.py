"""Releases of a project's dataset to its customer: asked by an officer or admin, or by the
project's customer; granted only when the Wilson lower bound of the accuracy estimated from gold
and review samples meets the project's target, refused otherwise with what is missing. Each is
kept and ledgered (``release.decided``); another customer's project reads as missing."""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from controller import errors
from controller.auth import DB, CurrentUser, require
from controller.deps import LedgerDep
from controller.models import Role
from controller.params import Int64
from controller.services import releases as svc

router = APIRouter(prefix="/api/projects", tags=["releases"])
REQUESTERS = (Role.admin, Role.officer, Role.customer)
READERS = (Role.admin, Role.officer, Role.inspector, Role.customer)


class ReleaseIn(BaseModel):
    dataset_id: Int64 | None = Field(None, description="the dataset released, when it is one of the project's")


@router.post("/{project_id}/releases", status_code=201, dependencies=[require(*REQUESTERS)])
def create_release(project_id: Int64, db: DB, ledger: LedgerDep, user: CurrentUser,
                   body: ReleaseIn | None = None) -> dict[str, Any]:
    """Decide a release now. `granted` is true only when `figures.overall.low` meets
    `figures.target`; otherwise `missing` names what would prove it (e.g. "review 120 more
    items", then per label). The figures, the sampling plan and the answer are ledgered."""
    return svc.create_release(db, ledger, user, project_id, body.dataset_id if body else None)


@router.get("/{project_id}/releases", dependencies=[require(*READERS)])
def list_releases(project_id: Int64, db: DB, user: CurrentUser) -> list[dict[str, Any]]:
    """The project's releases, granted and refused, newest first."""
    return svc.list_releases(db, user, project_id)


errors.document_common_errors(router.routes)
