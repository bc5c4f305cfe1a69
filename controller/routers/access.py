"""People, confidentiality training, gates, who is where, and the access event log."""
from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field, model_validator

from controller.auth import DB, SITE_READERS, STAFF, require
from controller.deps import EdgeDep, LedgerDep, SettingsDep
from controller.errors import documented
from controller.models import User
from controller.params import Int64
from controller.services import access as svc

router = APIRouter(prefix="/api", tags=["access"])


@router.get("/sites/{site_id}/people")
def list_people(site_id: Int64, db: DB, user: User = require(*SITE_READERS)) -> list[dict]:
    return svc.list_people(db, site_id, show_badges=user.role in {r.value for r in STAFF})


class TrainingIn(BaseModel):
    completed: dt.date
    expires: dt.date
    course: str = Field(default="confidentiality", min_length=1, max_length=100)

    @model_validator(mode="after")
    def _order(self):
        if self.expires <= self.completed:
            raise ValueError("expires must be after completed")
        return self


@router.post("/people/{person_pk}/training", status_code=201)
def record_training(person_pk: Int64, body: TrainingIn, db: DB, ledger: LedgerDep, edge: EdgeDep,
                    settings: SettingsDep, user: User = require(*STAFF)) -> dict:
    """Record a completed confidentiality training; the site's gates get it at once."""
    return svc.record_training(db, ledger, edge, person_pk, body.course, body.completed, body.expires,
                               user.username, settings.command_timeout_s)


@router.get("/sites/{site_id}/gates", dependencies=[require(*SITE_READERS)])
def list_gates(site_id: Int64, db: DB) -> list[dict]:
    return svc.gates(db, site_id)


@router.get("/sites/{site_id}/gates/alarms", dependencies=[require(*SITE_READERS)])
def gate_alarms(site_id: Int64, db: DB, hours: float = Query(24, gt=0, le=24 * 31),
                limit: int = Query(100, ge=1, le=1000)) -> list[dict]:
    """The gates' alarms of the last ``hours`` (and every active one), newest first, with the people
    they concern by name; a tailgate names the one who badged and the one who followed."""
    return svc.gate_alarms(db, site_id, hours, limit)


@router.get("/sites/{site_id}/occupancy", dependencies=[require(*SITE_READERS)])
def occupancy(site_id: Int64, db: DB) -> dict:
    """Who is inside each area now (from completed passages)."""
    return svc.occupancy(db, site_id)


@router.get("/sites/{site_id}/access-events", dependencies=[require(*SITE_READERS)])
def access_events(site_id: Int64, db: DB, person: str | None = Query(None, max_length=64),
                  gate: str | None = Query(None, max_length=64), start: dt.datetime | None = None,
                  end: dt.datetime | None = None, limit: int = Query(200, ge=1, le=5000)) -> list[dict]:
    return svc.access_events(db, site_id, person, gate, start, end, limit)


class PassbackReset(BaseModel):
    person: str | None = Field(default=None, max_length=64)  # None: everyone


@router.post("/sites/{site_id}/passback/reset", responses=documented(503, 502))
def reset_passback(site_id: Int64, body: PassbackReset, db: DB, ledger: LedgerDep, edge: EdgeDep,
                   settings: SettingsDep, user: User = require(*STAFF)) -> dict:
    """Set one person (or everyone) back to neutral for anti-passback, e.g. after a badge was
    handed over or a gate failed; ledgered, applied by the site's edge at once."""
    return svc.reset_passback(db, ledger, edge, site_id, body.person, user.username, settings.command_timeout_s)
