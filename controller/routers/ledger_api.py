"""The evidence ledger: latest signed checkpoint, inclusion proofs, full export for inspectors."""
from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, Response, status

from controller.auth import SITE_READERS, require
from controller.login import report_failed_logins
from controller.models import Role
from controller.params import Int64

router = APIRouter(prefix="/api/ledger", tags=["ledger"])


@router.get("/checkpoint", dependencies=[require(*SITE_READERS)])
def checkpoint(request: Request) -> dict:
    ledger = request.app.state.ledger
    return {"checkpoint": ledger.checkpoint(), "public_key": ledger.public_key.hex(),
            "origin": ledger.origin}


@router.get("/entries/{index}/proof", dependencies=[require(*SITE_READERS)])
def proof(index: Int64, request: Request) -> dict:
    try:
        return request.app.state.ledger.inclusion(index)
    except IndexError:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such entry") from None


@router.get("/export", dependencies=[require(Role.admin, Role.inspector)])
def export(request: Request) -> Response:
    ledger = request.app.state.ledger
    # Failed logins are ledgered per burst once it goes quiet; an export holds them up to now.
    report_failed_logins(request.app.state.sessions, ledger, flush_all=True)
    ledger.append("ledger.exported", {"size": ledger.size})
    return Response(ledger.export(), media_type="application/json",
                    headers={"Content-Disposition": 'attachment; filename="ledger-export.json"'})
