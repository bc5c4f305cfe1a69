"""Annotation access the site's policy refused, counted per site, hour and reason (the daily
report's annotation access denials)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from controller.models import WorkRefusalHour, utcnow

ANY = ""


def note_refusal(db, site_id: int | None, reasons, now: dt.datetime | None = None) -> None:
    """Count one refused annotation access under each of its reasons, for the site's hour, and
    commit (the refusal that follows must not take the count with it)."""
    if site_id is None:
        return
    hour = (now or utcnow()).astimezone(dt.timezone.utc).replace(minute=0, second=0, microsecond=0)
    # Under "" the refusal itself (one refusal may have several reasons).
    for reason in [ANY, *(sorted(set(str(r)[:80] for r in reasons)) or ["unspecified"])]:
        for _ in range(3):
            done = db.execute(update(WorkRefusalHour).where(
                WorkRefusalHour.site_id == site_id, WorkRefusalHour.hour == hour, WorkRefusalHour.reason == reason)
                .values(count=WorkRefusalHour.count + 1)).rowcount
            if done:
                break
            try:
                with db.begin_nested():
                    db.add(WorkRefusalHour(site_id=site_id, hour=hour, reason=reason, count=1))
                break
            except IntegrityError:  # another request made the row meanwhile: add to it
                continue
    db.commit()
