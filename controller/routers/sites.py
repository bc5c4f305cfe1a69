"""Sites and their config; a config change is validated, versioned, ledgered and pushed."""
from __future__ import annotations

from fastapi import APIRouter, Body
from sqlalchemy import select

from controller.auth import DB, SITE_READERS, require
from controller.deps import EdgeDep, LedgerDep
from controller.limits import SITE_FILE_LIMIT
from controller.models import Role, Site, User
from controller.params import Int64
from controller.services import sites as svc

router = APIRouter(prefix="/api/sites", tags=["sites"])


@router.get("", dependencies=[require(*SITE_READERS)])
def list_sites(db: DB) -> list[dict]:
    return [svc.site_view(s) for s in db.scalars(select(Site).order_by(Site.slug))]


@router.get("/{site_id}")
def get_site(site_id: Int64, db: DB, user: User = require(*SITE_READERS)) -> dict:
    return svc.site_view(svc.site_or_404(db, site_id), viewer=user)


@router.put("/{site_id}/config")
def put_site_config(
    site_id: Int64, db: DB, ledger: LedgerDep, edge: EdgeDep,
    yaml_text: str = Body(..., media_type="application/yaml", max_length=SITE_FILE_LIMIT),
    user: User = require(Role.admin),
) -> dict:
    return svc.replace_config(db, ledger, edge, site_id, yaml_text, user.username)
