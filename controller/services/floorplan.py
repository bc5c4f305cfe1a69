"""Floor plans: each area's work area against what its live cameras see, the blind area and its
alarm, camera calibrations (versioned, ledgered) and the blind area per hour for the daily report.

The geometry is camera.floor_coverage's; this module feeds it the site file's plan, the
calibrations in force and the camera states, and keeps what it finds.
"""
from __future__ import annotations

import datetime as dt
import json
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from camera import floor_coverage as fc
from controller.alarms import clear_alarms, raise_alarm
from controller.domain_errors import Invalid, NotFound
from controller.ledger import Ledger
from controller.models import (
    AccessEvent,
    Alarm,
    BlindAreaHour,
    CameraCalibration,
    CameraState,
    GateState,
    Person,
    Site,
    iso,
    utcnow,
)

ALARM_KIND = "coverage.blind_spot"
LIVE_STATE = "recording"  # a camera sees the floor only while it records untampered


def alarm_source(site_id: int, area: str) -> str:
    return f"floor:{site_id}:{area}"


@dataclass(frozen=True)
class _Built:
    floor: fc.Floor
    footprints: dict[str, Any]
    max_blind_m2: float


# Footprints depend only on the site file and the calibrations in force: kept per that pair.
_CACHE: OrderedDict[tuple, dict[str, _Built]] = OrderedDict()
_CACHE_LOCK = threading.Lock()


def _calibrations(db: Session, site: Site, config: dict) -> dict[str, dict[str, Any]]:
    """The calibration in force per camera: the newest submitted version, else the site file's."""
    out: dict[str, dict[str, Any]] = {}
    for area in config.get("areas", []):
        for pc in (area.get("floor_plan") or {}).get("cameras", []):
            pairs = [(p["image"], p["floor"]) for p in pc.get("calibration", [])]
            if pairs:
                try:
                    cal = fc.calibrate(pairs)
                except fc.CalibrationError:
                    continue
                out[pc["camera"]] = {"version": 0, "source": "site file", "pairs": [list(map(list, p)) for p in pairs],
                                     "homography": [list(r) for r in cal.homography], "rms_m": cal.rms_m,
                                     "created_by": None, "created_at": None}
    latest = (select(CameraCalibration.camera, func.max(CameraCalibration.version).label("v"))
              .where(CameraCalibration.site_id == site.id).group_by(CameraCalibration.camera).subquery())
    rows = db.scalars(select(CameraCalibration).join(
        latest, (CameraCalibration.camera == latest.c.camera) & (CameraCalibration.version == latest.c.v))
        .where(CameraCalibration.site_id == site.id))
    for r in rows:
        out[r.camera] = {"version": r.version, "source": "officer", "pairs": r.pairs, "homography": r.homography,
                         "rms_m": r.rms_m, "created_by": r.created_by, "created_at": iso(r.created_at)}
    return out


def _build(site: Site, config: dict, cals: dict[str, dict[str, Any]]) -> dict[str, _Built]:
    key = (site.id, site.config_hash, tuple(sorted((c, v["version"]) for c, v in cals.items())))
    with _CACHE_LOCK:
        if key in _CACHE:
            _CACHE.move_to_end(key)
            return _CACHE[key]
    cameras = {c["id"]: c for c in config.get("cameras", [])}
    built: dict[str, _Built] = {}
    for area in config.get("areas", []):
        plan = area.get("floor_plan")
        if not plan:
            continue
        floor = fc.Floor.of(plan["outline"], plan.get("walls", []), plan.get("occluders", []))
        fps = {}
        for pc in plan.get("cameras", []):
            cam, cal = cameras.get(pc["camera"]), cals.get(pc["camera"])
            if cam is None or cal is None:
                continue
            loc = cam.get("location")
            fps[pc["camera"]] = fc.footprint(floor, cal["homography"], tuple(cam.get("resolution") or (1920, 1080)),
                                             (loc["x"], loc["y"]) if loc else None, pc.get("usable_from_row", 0))
        built[area["id"]] = _Built(floor, fps, float(plan.get("max_blind_m2", fc.DEFAULT_MAX_BLIND_M2)))
    with _CACHE_LOCK:
        _CACHE[key] = built
        while len(_CACHE) > 32:
            _CACHE.popitem(last=False)
    return built


def _states(db: Session, site_id: int) -> dict[str, str]:
    return dict(db.execute(select(CameraState.camera, CameraState.state).where(CameraState.site_id == site_id)).all())


def _plan_cameras(config: dict, area_id: str) -> list[str]:
    area = next(a for a in config.get("areas", []) if a["id"] == area_id)
    return [pc["camera"] for pc in area["floor_plan"].get("cameras", [])]


def recompute(db: Session, site_id: int, now: dt.datetime | None = None) -> tuple[list[Alarm], list[Alarm]]:
    """Recompute every floor plan of a site from the camera states: keep the hour's figure, raise
    the blind-spot alarm where a patch exceeds the plan's threshold, clear it where none does.
    The alarm waits until every camera on the plan has reported once (a camera never heard of
    has its own offline alarm). Returns (raised, cleared); the caller ledgers and commits."""
    site = db.get(Site, site_id)
    if site is None:
        return [], []
    config = json.loads(site.config_json)
    built = _build(site, config, _calibrations(db, site, config))
    if not built:
        return [], []
    states = _states(db, site_id)
    live = [c for c, st in states.items() if st == LIVE_STATE]
    now = now or utcnow()
    hour = now.replace(minute=0, second=0, microsecond=0)
    raised, cleared = [], []
    for area_id, b in built.items():
        cov = fc.coverage(b.floor, b.footprints, live)
        row = db.get(BlindAreaHour, (site_id, area_id, hour))
        if row is None:
            db.add(BlindAreaHour(site_id=site_id, area=area_id, hour=hour, work_area_m2=cov.work_area_m2,
                                 max_blind_m2=cov.blind_m2, last_blind_m2=cov.blind_m2, updated_at=now))
        else:
            row.work_area_m2, row.last_blind_m2, row.updated_at = cov.work_area_m2, cov.blind_m2, now
            row.max_blind_m2 = max(row.max_blind_m2, cov.blind_m2)
        if any(c not in states for c in _plan_cameras(config, area_id)):
            continue
        big = fc.alarm_patches(cov, b.max_blind_m2)
        source = alarm_source(site_id, area_id)
        if big:
            down = sorted(c for c in _plan_cameras(config, area_id) if states.get(c) != LIVE_STATE)
            message = (f"{area_id}: {len(big)} blind patch(es) over {b.max_blind_m2:g} m², largest "
                       f"{big[0].area:.1f} m²; blind {cov.blind_m2:.1f} m² ({cov.blind_share:.1%})"
                       + (f"; cameras not watching: {', '.join(down)}" if down else ""))
            alarm = raise_alarm(db, ALARM_KIND, message, source=source, severity="critical", site_id=site_id,
                                details={"area": area_id, "blind_m2": round(cov.blind_m2, 3),
                                         "patches": [fc.polygon_points(p)[0] for p in big], "cameras_down": down})
            if alarm is not None:
                raised.append(alarm)
        else:
            cleared.extend(clear_alarms(db, ALARM_KIND, source))
    return raised, cleared


def sites_with_plans(db: Session) -> list[int]:
    return [s.id for s in db.scalars(select(Site)) if any(
        a.get("floor_plan") for a in json.loads(s.config_json).get("areas", []))]


def hourly_due(db: Session, now: dt.datetime | None = None) -> list[int]:
    """Sites with a floor plan and no blind-area figure yet for the current hour."""
    hour = (now or utcnow()).replace(minute=0, second=0, microsecond=0)
    done = set(db.scalars(select(BlindAreaHour.site_id).where(BlindAreaHour.hour == hour)))
    return [sid for sid in sites_with_plans(db) if sid not in done]


def blind_hours(db: Session, site_id: int, start: dt.datetime, end: dt.datetime) -> list[dict[str, Any]]:
    rows = db.scalars(select(BlindAreaHour).where(BlindAreaHour.site_id == site_id, BlindAreaHour.hour >= start,
                                                  BlindAreaHour.hour < end).order_by(BlindAreaHour.hour))
    return [{"area": r.area, "hour": iso(r.hour), "work_area_m2": round(r.work_area_m2, 3),
             "max_blind_m2": round(r.max_blind_m2, 3), "last_blind_m2": round(r.last_blind_m2, 3)} for r in rows]


def _site(db: Session, site_id: int) -> tuple[Site, dict]:
    site = db.get(Site, site_id)
    if site is None:
        raise NotFound("no such site")
    return site, json.loads(site.config_json)


def floor_view(db: Session, site_id: int) -> dict[str, Any]:
    """Everything the floor plan page draws, per area with a plan."""
    site, config = _site(db, site_id)
    cals = _calibrations(db, site, config)
    built = _build(site, config, cals)
    states = _states(db, site_id)
    live = [c for c, st in states.items() if st == LIVE_STATE]
    cameras = {c["id"]: c for c in config.get("cameras", [])}
    gate_states = dict(db.execute(select(GateState.gate, GateState.state).where(GateState.site_id == site_id)).all())
    names = dict(db.execute(select(Person.person, Person.name).where(Person.site_id == site_id)).all())
    active = {a.source: a for a in db.scalars(select(Alarm).where(Alarm.site_id == site_id, Alarm.state == "active",
                                                                 Alarm.kind == ALARM_KIND))}
    areas = []
    for area in config.get("areas", []):
        plan = area.get("floor_plan")
        if not plan:
            continue
        b = built[area["id"]]
        cov = fc.coverage(b.floor, b.footprints, live)
        seen = fc.shapely.union_all([b.footprints[c] for c in live if c in b.footprints])
        exclusive = fc.exclusive_patches(b.footprints, live)
        cams = []
        for pc in plan.get("cameras", []):
            cid, cam = pc["camera"], cameras.get(pc["camera"], {})
            fp = b.footprints.get(cid)
            cal = cals.get(cid)
            cams.append({"camera": cid, "name": cam.get("name", cid), "location": cam.get("location"),
                         "resolution": cam.get("resolution"), "state": states.get(cid, "unknown"),
                         "live": cid in live, "footprint": fc.polygon_points(fp) if fp is not None else [],
                         "footprint_m2": round(fp.area, 3) if fp is not None else 0.0,
                         "exclusive_m2": round(exclusive[cid].area, 3) if cid in exclusive else 0.0,
                         "calibration": None if cal is None else {k: cal[k] for k in (
                             "version", "source", "pairs", "rms_m", "created_by", "created_at")}})
        outline = b.floor.outline
        seats = []
        for seat in config.get("seats", []):
            pos = seat.get("position")
            if pos and outline.covers(fc.shapely.Point(pos["x"], pos["y"])):
                p = fc.shapely.Point(pos["x"], pos["y"])
                seats.append({"seat": seat["id"], "customer": seat.get("customer"), "position": pos,
                              "covered": (not seen.is_empty) and seen.buffer(1e-6).covers(p)})
        gates = []
        for gate in config.get("gates", []):
            pos = gate.get("position")
            if pos and area["id"] in (gate.get("area_in"), gate.get("area_out")):
                last = db.scalar(select(AccessEvent).where(AccessEvent.site_id == site_id, AccessEvent.gate == gate["id"],
                                                           AccessEvent.kind == "passage")
                                 .order_by(AccessEvent.at.desc()).limit(1))
                gates.append({"gate": gate["id"], "name": gate.get("name", gate["id"]), "position": pos,
                              "state": gate_states.get(gate["id"], "unknown"),
                              "last_person": (names.get(last.person, last.person) if last else None),
                              "last_at": iso(last.at) if last else None})
        alarm = active.get(alarm_source(site_id, area["id"]))
        areas.append({
            "area": area["id"], "name": area.get("name", area["id"]), "outline": plan["outline"],
            "walls": plan.get("walls", []), "occluders": plan.get("occluders", []),
            "background": plan.get("background"), "max_blind_m2": b.max_blind_m2,
            "bounds": [round(v, 3) for v in outline.bounds],
            "work_area_m2": round(cov.work_area_m2, 3), "blind_m2": round(cov.blind_m2, 3),
            "blind_share": round(cov.blind_share, 5),
            "blind_patches": [{"points": fc.polygon_points(p)[0], "m2": round(p.area, 3),
                               "alarm": p.area > b.max_blind_m2} for p in cov.blind_patches],
            "cameras": cams, "seats": seats, "gates": gates,
            "alarm": None if alarm is None else {"id": alarm.id, "message": alarm.message,
                                                 "raised_at": iso(alarm.raised_at)},
        })
    return {"site_id": site.id, "site": site.slug, "areas": areas}


def submit_calibration(db: Session, ledger: Ledger, site_id: int, camera: str, pairs: list[tuple[Any, Any]],
                       by: str) -> tuple[dict[str, Any], list[Alarm], list[Alarm]]:
    """Fit, store and ledger a new calibration version of a camera on a plan; the floor is then
    recomputed. Returns (the version, alarms raised, alarms cleared); the caller commits."""
    site, config = _site(db, site_id)
    placed = {pc["camera"] for a in config.get("areas", []) for pc in (a.get("floor_plan") or {}).get("cameras", [])}
    if camera not in placed:
        raise NotFound(f"camera {camera} is on no floor plan of this site")
    cam = next(c for c in config.get("cameras", []) if c["id"] == camera)
    w, h = cam.get("resolution") or (1920, 1080)
    for (u, v), _ in pairs:
        if not (0 <= u <= w and 0 <= v <= h):
            raise Invalid(f"image point [{u}, {v}] is outside {camera}'s {w}x{h} frame", kind="calibration")
    try:
        cal = fc.calibrate(pairs)
    except fc.CalibrationError as exc:
        raise Invalid(str(exc), kind="calibration") from None
    version = (db.scalar(select(func.max(CameraCalibration.version)).where(
        CameraCalibration.site_id == site_id, CameraCalibration.camera == camera)) or 0) + 1
    row = CameraCalibration(site_id=site_id, camera=camera, version=version,
                            pairs=[[list(map(float, i)), list(map(float, f))] for i, f in pairs],
                            homography=[list(r) for r in cal.homography], rms_m=cal.rms_m, created_by=by,
                            created_at=utcnow())
    db.add(row)
    db.flush()
    ledger.record(db, "camera.calibrated", {"site": site.slug, "camera": camera, "version": version,
                                            "pairs": row.pairs, "homography": row.homography,
                                            "rms_m": round(cal.rms_m, 6), "by": by})
    raised, cleared = recompute(db, site_id)
    return ({"camera": camera, "version": version, "homography": row.homography, "rms_m": cal.rms_m,
             "pairs": row.pairs, "created_by": by, "created_at": iso(row.created_at)}, raised, cleared)


def calibration_history(db: Session, site_id: int, camera: str) -> list[dict[str, Any]]:
    _site(db, site_id)
    rows = db.scalars(select(CameraCalibration).where(CameraCalibration.site_id == site_id,
                                                      CameraCalibration.camera == camera)
                      .order_by(CameraCalibration.version.desc()))
    return [{"version": r.version, "pairs": r.pairs, "homography": r.homography, "rms_m": r.rms_m,
             "created_by": r.created_by, "created_at": iso(r.created_at)} for r in rows]
