"""Emergency plans and drills of a site, and the /drills page. Officers and admins run drills and
write plans; inspectors read them."""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field

from controller.auth import DB, SITE_READERS, STAFF, require
from controller.deps import EdgeDep, LedgerDep, SettingsDep
from controller.errors import documented
from controller.models import User
from controller.params import Int64
from controller.routers.pages import page_user, render, site_list
from controller.services import drills as svc

router = APIRouter(tags=["drills"])

class LocalText(BaseModel):
    zh_CN: str = Field(min_length=1, max_length=20_000)
    en: str = Field(min_length=1, max_length=20_000)


class ChecklistItemIn(BaseModel):
    id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    text: LocalText


class PlanIn(BaseModel):
    kind: str = Field(pattern="^(fire|evacuation|power_loss|intrusion|data_leak)$")
    title: LocalText
    body: LocalText
    checklist: list[ChecklistItemIn] = Field(default_factory=list, max_length=100)


class DrillIn(BaseModel):
    scenario: str = Field("fire", pattern="^(fire|evacuation)$")


class SafeIn(BaseModel):
    person: str = Field(min_length=1, max_length=64)


class TickIn(BaseModel):
    item: str = Field(min_length=1, max_length=64)
    done: bool = True


class FindingsIn(BaseModel):
    findings: str = Field(max_length=20_000)


class EndIn(BaseModel):
    findings: str | None = Field(None, max_length=20_000)


@router.get("/api/sites/{site_id}/plans", dependencies=[require(*SITE_READERS)])
def list_plans(site_id: Int64, db: DB, history: bool = Query(False)) -> list[dict]:
    """The site's emergency plans: the latest version of each, or every version."""
    return svc.plans(db, site_id, history)


@router.get("/api/plans/{plan_id}", dependencies=[require(*SITE_READERS)])
def get_plan(plan_id: Int64, db: DB) -> dict:
    return svc.one_plan(db, plan_id)


@router.post("/api/sites/{site_id}/plans", status_code=201)
def new_plan(site_id: Int64, body: PlanIn, db: DB, ledger: LedgerDep, user: User = require(*STAFF)) -> dict:
    """A new version of one of the site's plans (the earlier ones stay); ledgered."""
    row = svc.new_plan_version(db, ledger, site_id, body.kind, body.title.model_dump(), body.body.model_dump(),
                               [i.model_dump() for i in body.checklist], user.username)
    return svc.plan_view(row)


@router.get("/api/sites/{site_id}/drills", dependencies=[require(*SITE_READERS)])
def list_drills(site_id: Int64, db: DB, limit: int = Query(50, ge=1, le=500)) -> dict[str, Any]:
    """The running drill (or null) and the site's drills, newest first."""
    return {"current": svc.current(db, site_id), "drills": svc.history(db, site_id, limit)}


@router.post("/api/sites/{site_id}/drills", status_code=201, responses=documented(409))
def start_drill(site_id: Int64, body: DrillIn, db: DB, ledger: LedgerDep, edge: EdgeDep, settings: SettingsDep,
                user: User = require(*STAFF)) -> dict:
    """Start a fire or evacuation drill: the roll of who is inside is taken, then the site's edge
    releases every gate lane over OSDP (``release_error`` says why not, where it could not)."""
    return svc.start(db, ledger, edge, site_id, body.scenario, user.username, settings.command_timeout_s)


@router.get("/api/drills/{drill_id}", dependencies=[require(*SITE_READERS)])
def get_drill(drill_id: Int64, db: DB) -> dict:
    return svc.one(db, drill_id)


@router.post("/api/drills/{drill_id}/release", responses=documented(409), dependencies=[require(*STAFF)])
def release_lanes(drill_id: Int64, db: DB, edge: EdgeDep, settings: SettingsDep) -> dict:
    """Command the release of every lane again (e.g. a drill the fire input started at one gate)."""
    return svc.release(db, edge, drill_id, settings.command_timeout_s)


@router.post("/api/drills/{drill_id}/safe", responses=documented(409))
def mark_safe(drill_id: Int64, body: SafeIn, db: DB, ledger: LedgerDep, user: User = require(*STAFF)) -> dict:
    """An officer marks a person on the roll safe (seen at the muster point)."""
    return svc.mark_safe(db, ledger, drill_id, body.person, user.username)


@router.post("/api/drills/{drill_id}/checklist", responses=documented(409))
def tick(drill_id: Int64, body: TickIn, db: DB, user: User = require(*STAFF)) -> dict:
    return svc.tick(db, drill_id, body.item, body.done, user.username)


@router.put("/api/drills/{drill_id}/findings", responses=documented(409), dependencies=[require(*STAFF)])
def findings(drill_id: Int64, body: FindingsIn, db: DB) -> dict:
    return svc.set_findings(db, drill_id, body.findings)


@router.post("/api/drills/{drill_id}/end", responses=documented(409, 503, 502))
def end_drill(drill_id: Int64, body: EndIn, db: DB, ledger: LedgerDep, edge: EdgeDep, settings: SettingsDep,
              user: User = require(*STAFF)) -> dict:
    """End the drill: every lane relocked, anti-passback reset for the people evacuated, the
    drill's record ledgered."""
    return svc.end(db, ledger, edge, drill_id, user.username, body.findings, settings.command_timeout_s)


@router.get("/drills", response_class=HTMLResponse, include_in_schema=False)
def drills_page(request: Request, db: DB, site: int | None = Query(None)):
    """The running drill's muster board, lane releases, checklist and findings; past drills; plans."""
    user, other = page_user(request, db, "drills")
    if other is not None:
        return other
    sites = site_list(db)
    site_id = site if any(s["id"] == site for s in sites) else (sites[0]["id"] if sites else None)
    current = svc.current(db, site_id) if site_id is not None else None
    past = [d for d in svc.history(db, site_id) if d["state"] == "ended"] if site_id is not None else []
    plans = svc.plans(db, site_id) if site_id is not None else []
    tz = next((s["tz"] for s in sites if s["id"] == site_id), None)
    return render(request, "drills.html", user, site_id=site_id, sites=sites, site_tz=tz, current=current,
                  past=past, plans=plans)
