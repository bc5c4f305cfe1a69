"""The credentials document: what a site's gates decide on, cached on its edge agent."""
from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

from sqlalchemy import select

from controller.models import Person, Site, TrainingRecord


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
    # The gate's rule: current from the day completed up to, not including, the expiry day.
    status_ = ("none" if training is None or today < training.completed
               else "current" if today < training.expires else "expired")
    return {"id": p.id, "person": p.person, "name": p.name, "role": p.role, "customers": p.customers,
            "active": p.active, "badges": p.badges, "training_status": status_,
            "training": None if training is None else {
                "completed": training.completed.isoformat(), "expires": training.expires.isoformat(),
                "recorded_by": training.recorded_by}}


def credentials_document(db, site: Site) -> dict[str, Any]:
    """What the site's gates decide on, cached on the edge so gates work without the controller."""
    people = list(db.scalars(select(Person).where(Person.site_id == site.id).order_by(Person.person)))
    training = latest_training(db, [p.id for p in people])
    today = dt.date.today()
    docs = [person_view(p, training.get(p.id), today) for p in people]
    for d in docs:
        d.pop("id")
    version = hashlib.sha256(json.dumps(docs, sort_keys=True).encode()).hexdigest()
    return {"site": site.slug, "version": version, "people": docs}
