"""The evidence ledger: latest signed checkpoint, inclusion proofs, full export for inspectors."""
from __future__ import annotations

from fastapi import APIRouter, Response

from controller.auth import SITE_READERS, require
from controller.deps import LedgerDep, SessionsDep
from controller.models import Role
from controller.params import Int64
from controller.services import ledger as svc

router = APIRouter(prefix="/api/ledger", tags=["ledger"])


@router.get("/checkpoint", dependencies=[require(*SITE_READERS)])
def checkpoint(ledger: LedgerDep) -> dict:
    return svc.checkpoint(ledger)


@router.get("/entries/{index}/proof", dependencies=[require(*SITE_READERS)])
def proof(index: Int64, ledger: LedgerDep) -> dict:
    return svc.proof(ledger, index)


@router.get("/export", dependencies=[require(Role.admin, Role.inspector)])
def export(sessions: SessionsDep, ledger: LedgerDep) -> Response:
    return Response(svc.export(sessions, ledger), media_type="application/json",
                    headers={"Content-Disposition": 'attachment; filename="ledger-export.json"'})
