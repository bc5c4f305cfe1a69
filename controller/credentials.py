"""The credentials document: what a site's gates decide on, cached on its edge agent."""
from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from access_control.credentials import training_status
from controller.models import Person, Site, TrainingRecord, utcnow


def site_today(site: Site, now: dt.datetime | None = None) -> dt.date:
    """The date on the site's own calendar (its site file's time zone), the one training,
    badges and schedules are judged on."""
    zone = ZoneInfo(json.loads(site.config_json)["site"]["timezone"])
    return (now or utcnow()).astimezone(zone).date()


def latest_training(db, person_ids: list[int]) -> dict[int, TrainingRecord]:
    """Each person's training record that expires last."""
    out: dict[int, TrainingRecord] = {}
    if not person_ids:
        return out
    for r in db.scalars(select(TrainingRecord).where(TrainingRecord.person_id.in_(person_ids))):
        if r.person_id not in out or r.expires > out[r.person_id].expires:
            out[r.person_id] = r
    return out


def person_view(p: Person, training: TrainingRecord | None, today: dt.date) -> dict[str, Any]:
    """``today``: the site's date (``site_today``); the training status is the gates' own rule."""
    return {"id": p.id, "person": p.person, "name": p.name, "role": p.role, "customers": p.customers,
            "active": p.active, "badges": p.badges, "training_status": training_status(training, today),
            "training": None if training is None else {
                "completed": training.completed.isoformat(), "expires": training.expires.isoformat(),
                "recorded_by": training.recorded_by}}


def people_views(db, site: Site, now: dt.datetime | None = None) -> list[dict[str, Any]]:
    """The site's people, by person id, each with their latest training judged on the site's date."""
    people = list(db.scalars(select(Person).where(Person.site_id == site.id).order_by(Person.person)))
    training = latest_training(db, [p.id for p in people])
    today = site_today(site, now)
    return [person_view(p, training.get(p.id), today) for p in people]


def credentials_document(db, site: Site) -> dict[str, Any]:
    """What the site's gates decide on, cached on the edge so gates work without the controller."""
    docs = people_views(db, site)
    for d in docs:
        d.pop("id")
    version = hashlib.sha256(json.dumps(docs, sort_keys=True).encode()).hexdigest()
    return {"site": site.slug, "version": version, "people": docs}
