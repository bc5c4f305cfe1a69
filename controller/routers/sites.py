"""Sites and their config; a config change is validated, versioned, ledgered and pushed."""
from __future__ import annotations

import json

from fastapi import APIRouter, Body, HTTPException, Request, status
from sqlalchemy import select

from controller.auth import DB, SITE_READERS, require
from controller.errors import problem_list
from controller.limits import SITE_FILE_LIMIT
from controller.models import Role, Site, User, iso
from controller.params import Int64
from controller.sites import apply_site_config
from edge_agent.wire.redact import redact_site_config
from edge_agent.wire.site import SiteFileError, parse_site_text

router = APIRouter(prefix="/api/sites", tags=["sites"])


def site_view(s: Site, viewer: User | None = None) -> dict:
    """The site; with its config when a ``viewer`` is given, secrets masked for that viewer."""
    view = {"id": s.id, "slug": s.slug, "name": s.name, "version": s.version,
            "config_hash": s.config_hash, "updated_at": iso(s.updated_at)}
    if viewer is not None:
        # Passwords are masked for everyone (the edge reads them, people never need them);
        # badge numbers are shown in full only to admins, who write the site file.
        view["config"] = redact_site_config(json.loads(s.config_json),
                                            show_badge_numbers=viewer.role == Role.admin.value)
    return view


@router.get("", dependencies=[require(*SITE_READERS)])
def list_sites(db: DB) -> list[dict]:
    return [site_view(s) for s in db.scalars(select(Site).order_by(Site.slug))]


def _site(db, site_id: int) -> Site:
    s = db.get(Site, site_id)
    if s is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such site")
    return s


@router.get("/{site_id}")
def get_site(site_id: Int64, db: DB, user: User = require(*SITE_READERS)) -> dict:
    return site_view(_site(db, site_id), viewer=user)


@router.put("/{site_id}/config")
def put_site_config(
    site_id: Int64, request: Request, db: DB,
    yaml_text: str = Body(..., media_type="application/yaml", max_length=SITE_FILE_LIMIT),
    user: User = require(Role.admin),
) -> dict:
    site = _site(db, site_id)
    try:
        config = parse_site_text(yaml_text, filename=f"{site.slug}.yaml")
    except SiteFileError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            problem_list([str(p) for p in exc.problems], type_="site_file")) from None
    if config.site.id != site.slug:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            f"file describes site {config.site.id!r}, not {site.slug!r}")
    site, changed = apply_site_config(db, config)
    if changed:
        request.app.state.ledger.record(db, "site.config_changed", {
            "site": site.slug, "version": site.version, "config_hash": site.config_hash, "by": user.username})
    db.commit()
    pushed = 0
    if changed:
        pushed = request.app.state.wire.push_config(site.id, site.config_json, site.config_hash)
    return {**site_view(site), "changed": changed, "pushed_to_agents": pushed}
