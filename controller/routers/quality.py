"""A project's quality: its metrics with their intervals and targets, agreement, consensus,
cross-modal consistency, per-annotator figures, the confusion matrix and the figures over time.
Officers and admins see every project's; a customer its own projects' (another's reads as
missing)."""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from controller.auth import DB, CurrentUser, require
from controller.deps import QualityBoardDep
from controller.models import Role
from controller.params import Int64
from controller.services import quality as svc
from controller.services.scope import customer_scope

router = APIRouter(prefix="/api/projects", tags=["quality"])
READERS = (Role.admin, Role.officer, Role.customer)


@router.get("/{project_id}/quality", dependencies=[require(*READERS)])
def project_quality(project_id: Int64, db: DB, board: QualityBoardDep, user: CurrentUser) -> dict[str, Any]:
    """The project's quality report (README "Quality"), scored from its newest work (at most a
    ten seconds behind the work: ``scored_at``), and ``series``, its snapshots over time, oldest first."""
    return svc.quality_view(db, board, customer_scope(db, user), project_id)


@router.post("/{project_id}/quality/snapshots", status_code=201, dependencies=[require(Role.admin, Role.officer)])
def take_snapshot(project_id: Int64, db: DB, user: CurrentUser) -> dict[str, Any]:
    """Record the project's figures now (the controller also records them every few minutes)."""
    return svc.snapshot_now(db, customer_scope(db, user), project_id)
