"""A project's export: the zip of its label files with every version's ledger proof, for the
customer that owns the project and for officers, admins and inspectors; never for annotators.
Each export is ledgered; the response's X-Export-SHA256 is the digest the ledger holds."""
from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from controller.auth import DB, CurrentUser, require
from controller.deps import LedgerDep
from controller.errors import documented
from controller.models import Role
from controller.params import Int64
from controller.services import exports as svc

router = APIRouter(prefix="/api/projects", tags=["exports"])
EXPORTERS = (Role.admin, Role.officer, Role.inspector, Role.customer)


@router.post("/{project_id}/exports", dependencies=[require(*EXPORTERS)], responses={
    **documented(409, 422), 200: {"content": {"application/zip": {}}, "description": "the export bundle"}})
def create_export(project_id: Int64, db: DB, ledger: LedgerDep, user: CurrentUser,
                  format: Literal["jsonl", "coco", "yolo", "nemo"] | None = Query(
                      None, description="jsonl (text), coco or yolo (image boxes), nemo (speech); by default "
                                        "the one the project's label kind calls for")) -> StreamingResponse:
    """Build, ledger (`export.created`) and stream the project's export. 409 while some of its
    versions still wait for the ledger's sequencer: try again after Retry-After seconds.
    Check the zip offline with `siteguard verify-export FILE --key <ledger public key>`."""
    export = svc.create_export(db, ledger, user, project_id, format)
    return StreamingResponse(export.chunks(), media_type="application/zip", headers={
        "Content-Disposition": f'attachment; filename="{export.filename}"', "Content-Length": str(export.size),
        "X-Export-SHA256": export.sha256, "X-Export-Count": str(export.exported)})
