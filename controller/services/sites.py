"""Sites: lookup, and a new site file checked, versioned, ledgered and pushed to the edge."""
from __future__ import annotations

import json

from controller.domain_errors import Conflict, Invalid, NotFound
from controller.ledger import Ledger
from controller.models import Role, Site, User, iso
from controller.services.edge import EdgeChannel
from controller.remote_work import check_unchanged
from controller.sites import apply_site_config
from edge_agent.wire.redact import redact_site_config
from edge_agent.wire.site import SiteConfig, SiteFileError, parse_site_text


def site_or_404(db, site_id: int, message: str = "no such site") -> Site:
    site = db.get(Site, site_id)
    if site is None:
        raise NotFound(message)
    return site


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


def replace_config(db, ledger: Ledger, edge: EdgeChannel, site_id: int, yaml_text: str, by: str) -> dict:
    site = site_or_404(db, site_id)
    try:
        config = parse_site_text(yaml_text, filename=f"{site.slug}.yaml")
    except SiteFileError as exc:
        raise Invalid("the site file is not valid", [str(p) for p in exc.problems], kind="site_file") from None
    if config.site.id != site.slug:
        raise Invalid(f"file describes site {config.site.id!r}, not {site.slug!r}")
    try:
        check_unchanged(SiteConfig.model_validate_json(site.config_json), config)
    except ValueError as exc:
        raise Conflict(str(exc)) from None
    site, changed = apply_site_config(db, config)
    if changed:
        ledger.record(db, "site.config_changed", {
            "site": site.slug, "version": site.version, "config_hash": site.config_hash, "by": by})
    db.commit()
    pushed = edge.push_config(site.id, site.config_json, site.config_hash) if changed else 0
    return {**site_view(site), "changed": changed, "pushed_to_agents": pushed}
