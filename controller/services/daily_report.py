"""The daily security report of a site: its figures gathered from the database (this module's
queries), assembled by controller.daily_report, rendered by controller.report_render, and kept:
the HTML, the PDF, the PDF's SHA-256 in the ledger and a signed note over it by the ledger's key.

The report covers one day of the site's own calendar. It is made every day at the hour
``Settings.report_hour`` (site time) for the day before, in each language, by the controller's
housekeeping, and on demand (API, page, ``siteguard daily-report``).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_, select

from controller import daily_report as dr
from controller import i18n, report_render
from controller.coverage_history import seat_spans
from controller.credentials import latest_training
from controller.domain_errors import Invalid, NotFound
from controller.ledger import Ledger
from controller.models import (
    AccessEvent,
    Agent,
    Alarm,
    CameraState,
    Customer,
    DailyReport,
    Event,
    NetworkApproval,
    NetworkChange,
    Person,
    Segment,
    Site,
    WorkRefusalHour,
    aware,
    iso,
    utcnow,
)
from controller.services import floorplan
from controller.services.seats import _changes
from controller.services.sites import site_or_404
from controller.services.work_refusals import ANY

log = logging.getLogger("siteguard.report")

LEDGER_KIND = "report.daily"
SCHEDULE = "schedule"  # created_by of the reports the housekeeping makes

# Sections other parts of the controller add to the report (e.g. drills): each gets the session,
# the site and the window and returns its rows, or None where the site keeps none.
EXTRA_SECTIONS: dict[str, Callable[[Any, Site, dt.datetime, dt.datetime], list[dict[str, Any]] | None]] = {}


def window(site: Site, day: dt.date) -> tuple[str, dt.datetime, dt.datetime]:
    """The site's time zone and ``day``'s start and end on its calendar, in UTC."""
    tz = json.loads(site.config_json)["site"]["timezone"]
    zone = ZoneInfo(tz)
    start = dt.datetime.combine(day, dt.time(), zone).astimezone(dt.timezone.utc)
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), zone).astimezone(dt.timezone.utc)
    return tz, start, end


def gather(db, site_id: int, day: dt.date, now: dt.datetime | None = None) -> dr.Figures:
    """Every figure of the report of ``site_id`` for ``day``, read from the database."""
    site = site_or_404(db, site_id)
    config = json.loads(site.config_json)
    tz, start, end = window(site, day)
    until = min(end, now or utcnow())  # a report of today covers what has happened so far
    agents = select(Agent.id).where(Agent.site_id == site.id)

    seats = [s["id"] for s in config.get("seats", [])]
    spans = seat_spans(_changes(db, site.id, start, until), seats, start, until) if until > start else {}

    cam_ids = [c["id"] for c in config.get("cameras", [])]
    states = {r.camera: r for r in db.scalars(select(CameraState).where(CameraState.site_id == site.id))}
    cameras = [{"camera": c, "state": states[c].state if c in states else None,
                "detail": states[c].detail if c in states else ""} for c in cam_ids]
    segments: dict[str, list] = {}
    for cam, s0, s1, size in db.execute(
            select(Segment.camera, Segment.start, Segment.end, Segment.bytes)
            .where(Segment.site_id == site.id, Segment.start < end, Segment.end > start).order_by(Segment.start)):
        segments.setdefault(cam, []).append((aware(s0), aware(s1), int(size)))
    oldest = {cam: aware(t) for cam, t in db.execute(
        select(Segment.camera, func.min(Segment.start)).where(Segment.site_id == site.id, Segment.deleted_at.is_(None))
        .group_by(Segment.camera))}
    deletions = [{"camera": r.camera, "seq": r.seq, "start": aware(r.start), "deleted_at": aware(r.deleted_at),
                  "reason": r.deletion_reason or ""}
                 for r in db.scalars(select(Segment).where(Segment.site_id == site.id, Segment.deleted_at >= start,
                                                           Segment.deleted_at < end).order_by(Segment.deleted_at))]
    cap_event = db.scalars(select(Event).where(Event.agent_id.in_(agents), Event.kind == "retention.capacity",
                                               Event.received_at < end).order_by(Event.id.desc()).limit(1)).first()

    alarms = []
    for a in db.scalars(select(Alarm).where(Alarm.site_id == site.id, Alarm.raised_at < end,
                                            or_(Alarm.cleared_at.is_(None), Alarm.cleared_at >= start))
                        .order_by(Alarm.raised_at)):
        details = a.details or {}
        alarms.append({"id": a.id, "kind": a.kind, "severity": a.severity, "message": a.message, "state": a.state,
                       "camera": details.get("camera"), "raised_at": aware(a.raised_at),
                       "cleared_at": aware(a.cleared_at), "acknowledged_by": a.acknowledged_by,
                       "acknowledged_at": aware(a.acknowledged_at), "ack_note": a.ack_note or "",
                       "assigned_to": a.assigned_to})

    access = [{"at": aware(e.at), "gate": e.gate, "person": e.person, "kind": e.kind, "direction": e.direction,
               "granted": e.granted, "reason": e.reason}
              for e in db.scalars(select(AccessEvent).where(AccessEvent.site_id == site.id, AccessEvent.at >= start,
                                                            AccessEvent.at < end).order_by(AccessEvent.at))]

    slugs = dict(db.execute(select(Customer.id, Customer.slug)).all())
    changes = []
    for c in db.scalars(select(NetworkChange).where(
            NetworkChange.site_id == site.id,
            or_((NetworkChange.created_at >= start) & (NetworkChange.created_at < end),
                (NetworkChange.finished_at >= start) & (NetworkChange.finished_at < end))).order_by(NetworkChange.created_at)):
        approvals = [{"customer": slugs.get(ap.customer_id, str(ap.customer_id)), "decision": ap.decision,
                      "by": ap.by, "at": aware(ap.at)}
                     for ap in db.scalars(select(NetworkApproval).where(NetworkApproval.change_id == c.id)
                                          .order_by(NetworkApproval.at))]
        changes.append({"id": c.id, "title": c.title, "status": c.status, "created_by": c.created_by,
                        "created_at": aware(c.created_at), "finished_at": aware(c.finished_at), "approvals": approvals})

    people = list(db.scalars(select(Person).where(Person.site_id == site.id, Person.active.is_(True))
                             .order_by(Person.person)))
    latest = latest_training(db, [p.id for p in people])
    training = [{"person": p.person, "name": p.name, "expires": latest[p.id].expires if p.id in latest else None}
                for p in people]

    refusals = dict(db.execute(select(WorkRefusalHour.reason, func.sum(WorkRefusalHour.count))
                               .where(WorkRefusalHour.site_id == site.id, WorkRefusalHour.hour >= start,
                                      WorkRefusalHour.hour < end).group_by(WorkRefusalHour.reason)).all())

    drills = vpn_peers = None
    for name, section in EXTRA_SECTIONS.items():
        rows = section(db, site, start, end)
        if name == "drills":
            drills = rows
        elif name == "vpn_peers":
            vpn_peers = rows

    blind = [{**r, "hour": dt.datetime.fromisoformat(r["hour"])} for r in floorplan.blind_hours(db, site.id, start, end)]
    return dr.Figures(
        site=site.slug, site_name=site.name, day=day, timezone=tz, start=start, end=end, seats=spans,
        blind_hours=blind, has_floor_plan=site.id in floorplan.sites_with_plans(db), cameras=cameras,
        segments=segments, oldest_segment=oldest, deletions=deletions,
        retention_min_months=int((config.get("retention") or {}).get("min_months", 6)),
        capacity=cap_event.data if cap_event is not None else None, alarms=alarms, access=access,
        network_changes=changes, training=training,
        refusals={k: int(v) for k, v in refusals.items() if k != ANY}, refusals_total=int(refusals.get(ANY) or 0),
        drills=drills, vpn_peers=vpn_peers, generated_at=now or utcnow())


def build(db, site_id: int, day: dt.date, lang: str, now: dt.datetime | None = None) -> tuple[dr.Report, str, bytes]:
    """The report, its HTML and its PDF, made but not kept."""
    if lang not in i18n.LOCALES:
        raise Invalid(f"unknown language {lang!r} (one of {', '.join(i18n.LOCALES)})")
    report = dr.assemble(gather(db, site_id, day, now))
    html = report_render.html(report, lang)
    return report, html, report_render.pdf(html)


def generate(db, ledger: Ledger, site_id: int, day: dt.date, lang: str, by: str,
             now: dt.datetime | None = None) -> DailyReport:
    """Make the report and keep it: the PDF's hash is ledgered and signed (a signed note by the
    ledger's key), in the report row's own transaction."""
    report, html, pdf = build(db, site_id, day, lang, now)
    site = db.get(Site, site_id)
    digest = hashlib.sha256(pdf).hexdigest()
    note = ledger.sign_note(dr.note_text(site.slug, day, lang, digest))
    row = DailyReport(site_id=site_id, day=day, lang=lang, created_at=utcnow(), created_by=by,
                      summary=_jsonable(report.summary), html=html, pdf=pdf, sha256=digest, signature=note)
    db.add(row)
    db.flush()
    ledger.record(db, LEDGER_KIND, {"report": row.id, "site": site.slug, "day": day.isoformat(), "lang": lang,
                                    "sha256": digest, "bytes": len(pdf), "by": by, "summary": row.summary})
    db.commit()
    return row


def _jsonable(v: Any) -> Any:
    return json.loads(json.dumps(v, default=str))


def report_view(r: DailyReport, site_slug: str | None = None) -> dict[str, Any]:
    return {"id": r.id, "site_id": r.site_id, "site": site_slug, "day": r.day.isoformat(), "lang": r.lang,
            "created_at": iso(r.created_at), "created_by": r.created_by, "sha256": r.sha256, "bytes": len(r.pdf),
            "summary": r.summary, "signature": r.signature,
            "html": f"/api/reports/{r.id}/html", "pdf": f"/api/reports/{r.id}/pdf"}


def list_reports(db, site_id: int | None = None, limit: int = 200) -> list[dict[str, Any]]:
    stmt = (select(DailyReport.id, DailyReport.site_id, Site.slug, DailyReport.day, DailyReport.lang,
                   DailyReport.created_at, DailyReport.created_by, DailyReport.sha256, DailyReport.summary)
            .join(Site, Site.id == DailyReport.site_id))
    if site_id is not None:
        stmt = stmt.where(DailyReport.site_id == site_id)
    rows = db.execute(stmt.order_by(DailyReport.day.desc(), DailyReport.id.desc()).limit(limit))
    return [{"id": i, "site_id": sid, "site": slug, "day": day.isoformat(), "lang": lang, "created_at": iso(at),
             "created_by": by, "sha256": sha, "summary": summary,
             "html": f"/api/reports/{i}/html", "pdf": f"/api/reports/{i}/pdf"}
            for i, sid, slug, day, lang, at, by, sha, summary in rows]


def one(db, report_id: int) -> DailyReport:
    row = db.get(DailyReport, report_id)
    if row is None:
        raise NotFound("no such report")
    return row


def verify(db, ledger: Ledger, report_id: int) -> dict[str, Any]:
    """Re-hash the kept PDF and check the signed note against the ledger's public key."""
    row = one(db, report_id)
    site = db.get(Site, row.site_id)
    return dr.verify_report(row.pdf, row.signature, ledger.public_key,
                            expect={"site": site.slug, "day": row.day.isoformat(), "lang": row.lang})


def due(db, hour: int, now: dt.datetime | None = None) -> list[tuple[int, dt.date, str]]:
    """(site, day, language) of the scheduled reports not made yet: from ``hour`` o'clock on the
    site's calendar, the day before, in each language."""
    now = now or utcnow()
    out = []
    for site in db.scalars(select(Site).order_by(Site.id)):
        tz = json.loads(site.config_json)["site"]["timezone"]
        local = now.astimezone(ZoneInfo(tz))
        if local.hour < hour:
            continue
        day = local.date() - dt.timedelta(days=1)
        made = set(db.scalars(select(DailyReport.lang).where(DailyReport.site_id == site.id, DailyReport.day == day,
                                                             DailyReport.created_by == SCHEDULE)))
        out.extend((site.id, day, lang) for lang in i18n.LOCALES if lang not in made)
    return out


def generate_due(sessions, ledger: Ledger, hour: int, now: dt.datetime | None = None) -> int:
    """The housekeeping's step: make every scheduled report that is due. Returns how many."""
    if hour < 0:
        return 0
    made = 0
    with sessions() as db:
        todo = due(db, hour, now)
    for site_id, day, lang in todo:
        with sessions() as db:
            try:
                generate(db, ledger, site_id, day, lang, SCHEDULE, now)
                made += 1
            except Exception:  # one site's failure must not hold back the others; tried again next round
                db.rollback()
                log.exception("daily report of site %s for %s (%s) failed", site_id, day, lang)
    return made


from controller.services import drills as _drills  # noqa: E402,F401  (adds the drills section)
from controller.services import vpn as _vpn  # noqa: E402,F401  (adds the remote-work section)
