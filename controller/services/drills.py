"""Emergency plans and drills of a site.

Plans (fire, evacuation, power loss, intrusion, data leak) are versioned documents with a
checklist, in Chinese and English; each new version is ledgered. A fire or evacuation drill,
started by an officer or by a gate's fire input, has the site's edge release every gate lane over
OSDP and runs a muster (access_control.muster decides): who was inside by area when it began,
who has been marked safe (a badge read at a released lane, or an officer), who is missing, and
the time until everyone was accounted for. Ending it relocks the lanes and resets anti-passback
for the people evacuated. The drill's record is ledgered, listed in the daily report's drills
section and written to audit bundles' drills.jsonl.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Any

from sqlalchemy import delete, select

from access_control import muster as M
from controller.domain_errors import (
    Conflict,
    EdgeFailed,
    EdgeUnavailable,
    Invalid,
    NotFound,
)
from controller.ledger import Ledger
from controller.models import (
    Drill,
    EmergencyPlan,
    Person,
    Presence,
    Site,
    aware,
    iso,
    utcnow,
)
from controller.services import daily_report
from controller.services.edge import EdgeChannel, send_to_edge
from controller.services.sites import site_or_404
from edge_agent.wire import payloads as P
from edge_agent.wire.kinds import CommandName

log = logging.getLogger("siteguard.drills")

SEEDED_BY = "siteguard"
FIRE_INPUT = "fire_input"
RELEASED_MODE = "fail_safe_open"


def _item(id_: str, zh: str, en: str) -> dict[str, Any]:
    return {"id": id_, "text": {"zh_CN": zh, "en": en}}


# Version 1 of each plan, for a site that has none yet.
DEFAULT_PLANS: dict[str, dict[str, Any]] = {
    "fire": {
        "title": {"zh_CN": "火灾应急预案", "en": "Fire emergency plan"},
        "body": {"zh_CN": "发现火情立即报警并拨打119；闸机全部放行（失效安全），人员按疏散路线撤离到集合点；"
                          "安全员在集合点刷卡或点名清点人数；未到人员报告消防人员。火情解除后恢复闸机并复位防潜回。",
                 "en": "On a fire, raise the alarm and call 119; every gate lane is released (fail-safe) and people "
                       "leave by the evacuation routes to the muster point; officers account for everyone by badge "
                       "or roll call; anyone missing is reported to the fire brigade. Once clear, the gates are "
                       "relocked and anti-passback is reset."},
        "checklist": [_item("alarm", "触发火警并通知消防", "Fire alarm raised and fire brigade called"),
                      _item("release", "确认全部闸机已放行", "Every gate lane confirmed released"),
                      _item("sweep", "各区域清场检查", "Each area swept"),
                      _item("muster", "集合点清点人数", "Everyone accounted for at the muster point"),
                      _item("relock", "恢复闸机并复位防潜回", "Gates relocked and anti-passback reset")],
    },
    "evacuation": {
        "title": {"zh_CN": "人员疏散预案", "en": "Evacuation plan"},
        "body": {"zh_CN": "接到疏散指令后闸机全部放行，人员停止作业、锁屏，按疏散路线撤离到集合点；"
                          "安全员清点人数并报告未到人员。",
                 "en": "On an evacuation order every gate lane is released; people stop work, lock their screens "
                       "and leave by the evacuation routes to the muster point; officers account for everyone and "
                       "report anyone missing."},
        "checklist": [_item("announce", "广播疏散指令", "Evacuation announced"),
                      _item("release", "确认全部闸机已放行", "Every gate lane confirmed released"),
                      _item("screens", "工位锁屏、数据不外带", "Screens locked, no data carried out"),
                      _item("muster", "集合点清点人数", "Everyone accounted for at the muster point"),
                      _item("relock", "恢复闸机并复位防潜回", "Gates relocked and anti-passback reset")],
    },
    "power_loss": {
        "title": {"zh_CN": "断电应急预案", "en": "Power loss plan"},
        "body": {"zh_CN": "断电时失效安全闸机放行、失效保险闸机保持锁闭；确认录像和网络设备的不间断电源，"
                          "记录录像缺口并在恢复供电后核对。",
                 "en": "On power loss, fail-safe gates open and fail-secure gates stay locked; check the UPS of "
                       "recorders and network devices, note recording gaps and check them once power is back."},
        "checklist": [_item("ups", "确认不间断电源供电", "UPS confirmed carrying the load"),
                      _item("gates", "检查各闸机状态", "Each gate's state checked"),
                      _item("gaps", "记录录像缺口", "Recording gaps noted"),
                      _item("restore", "恢复供电后核对", "Checked after power is restored")],
    },
    "intrusion": {
        "title": {"zh_CN": "非法闯入应急预案", "en": "Intrusion plan"},
        "body": {"zh_CN": "发生强行通过、尾随或防潜回告警时，安全员到场核实身份，调取闸机和区域录像，"
                          "必要时报警，并在台账中记录处理经过。",
                 "en": "On a forced passage, tailgating or passback alarm an officer goes to the gate, checks "
                       "identities, pulls the gate and area video, calls the police where needed and records "
                       "what was done."},
        "checklist": [_item("respond", "安全员到场", "Officer at the gate"),
                      _item("identify", "核实人员身份", "Identities checked"),
                      _item("video", "调取录像留证", "Video secured as evidence"),
                      _item("record", "记录处理经过", "Handling recorded")],
    },
    "data_leak": {
        "title": {"zh_CN": "数据泄露应急预案", "en": "Data leak plan"},
        "body": {"zh_CN": "怀疑数据泄露时立即暂停相关项目的数据访问，保全日志和录像，通知客户，"
                          "按审计台账追溯数据流向并报告主管部门。",
                 "en": "On a suspected data leak, pause the projects' data access at once, secure logs and video, "
                       "inform the customer, trace the data's flow from the ledger and report to the authority."},
        "checklist": [_item("pause", "暂停相关数据访问", "Data access paused"),
                      _item("secure", "保全日志和录像", "Logs and video secured"),
                      _item("customer", "通知客户", "Customer informed"),
                      _item("trace", "按台账追溯数据流向", "Data flow traced from the ledger"),
                      _item("report", "报告主管部门", "Authority informed")],
    },
}


# --- plans ------------------------------------------------------------------------------------

def plan_view(p: EmergencyPlan) -> dict[str, Any]:
    return {"id": p.id, "site_id": p.site_id, "kind": p.kind, "version": p.version, "title": p.title,
            "body": p.body, "checklist": p.checklist, "created_at": iso(p.created_at), "created_by": p.created_by}


def _latest(db, site_id: int, kind: str) -> EmergencyPlan | None:
    return db.scalar(select(EmergencyPlan).where(EmergencyPlan.site_id == site_id, EmergencyPlan.kind == kind)
                     .order_by(EmergencyPlan.version.desc()).limit(1))


def _check_plan(kind: str, title: dict, body: dict, checklist: list) -> None:
    problems = []
    if kind not in M.PLAN_KINDS:
        problems.append(f"unknown plan {kind!r} (one of {', '.join(M.PLAN_KINDS)})")
    for name, doc in (("title", title), ("body", body)):
        if not all(isinstance(doc.get(lang), str) and doc[lang].strip() for lang in ("zh_CN", "en")):
            problems.append(f"{name} needs text in zh_CN and en")
    ids = [i.get("id") for i in checklist]
    if len(set(ids)) != len(ids):
        problems.append("checklist item ids must be unique")
    for i in checklist:
        if not all(isinstance(i.get("text", {}).get(lang), str) and i["text"][lang].strip() for lang in ("zh_CN", "en")):
            problems.append(f"checklist item {i.get('id')!r} needs text in zh_CN and en")
    if problems:
        raise Invalid(problems[0], problems)


def new_plan_version(db, ledger: Ledger, site_id: int, kind: str, title: dict, body: dict, checklist: list,
                     by: str, commit: bool = True) -> EmergencyPlan:
    """The next version of the site's plan of ``kind``, ledgered with its content."""
    site = site_or_404(db, site_id)
    _check_plan(kind, title, body, checklist)
    last = _latest(db, site.id, kind)
    row = EmergencyPlan(site_id=site.id, kind=kind, version=(last.version + 1) if last else 1, title=title,
                        body=body, checklist=checklist, created_by=by, created_at=utcnow())
    db.add(row)
    db.flush()
    ledger.record(db, "plan.version", {"site": site.slug, "site_id": site.id, **{
        k: v for k, v in plan_view(row).items() if k not in ("id", "site_id")}})
    if commit:
        db.commit()
    return row


def ensure_default_plans(db, ledger: Ledger, site_id: int) -> int:
    """Version 1 of every plan the site has none of (the caller commits); returns how many."""
    made = 0
    for kind, doc in DEFAULT_PLANS.items():
        if _latest(db, site_id, kind) is None:
            new_plan_version(db, ledger, site_id, kind, doc["title"], doc["body"], doc["checklist"], SEEDED_BY,
                             commit=False)
            made += 1
    return made


def plans(db, site_id: int, history: bool = False) -> list[dict[str, Any]]:
    """The site's plans: the latest version of each kind, or every version with ``history``."""
    site_or_404(db, site_id)
    rows = db.scalars(select(EmergencyPlan).where(EmergencyPlan.site_id == site_id)
                      .order_by(EmergencyPlan.kind, EmergencyPlan.version.desc()))
    out, seen = [], set()
    for p in rows:
        if history or p.kind not in seen:
            out.append(plan_view(p))
        seen.add(p.kind)
    order = {k: i for i, k in enumerate(M.PLAN_KINDS)}
    return sorted(out, key=lambda v: (order.get(v["kind"], 99), -v["version"]))


def one_plan(db, plan_id: int) -> dict[str, Any]:
    row = db.get(EmergencyPlan, plan_id)
    if row is None:
        raise NotFound("no such plan")
    return plan_view(row)


# --- drills -----------------------------------------------------------------------------------

def _names(db, site_id: int) -> dict[str, str]:
    return dict(db.execute(select(Person.person, Person.name).where(Person.site_id == site_id)).all())


def _muster(d: Drill) -> M.Muster:
    safe = {p: M.SafeMark(dt.datetime.fromisoformat(s["at"]), s["how"], s["where"]) for p, s in (d.safe or {}).items()}
    return M.Muster(aware(d.started_at), d.roll or {}, safe)


def drill_record(db, d: Drill) -> dict[str, Any]:
    """The drill as it is ledgered, listed and bundled: scenario, times, each lane's release and
    relock, the muster board (counts and names by area), the checklist, findings, who ran it."""
    site = db.get(Site, d.site_id)
    b = M.board(_muster(d), _names(db, d.site_id))
    return {"id": d.id, "site": site.slug if site else None, "site_id": d.site_id, "scenario": d.scenario,
            "trigger": d.trigger, "state": d.state, "plan_id": d.plan_id, "started_at": iso(d.started_at),
            "started_by": d.started_by, "ended_at": iso(d.ended_at), "ended_by": d.ended_by,
            "lanes": d.lanes or {}, "muster": b, "checklist": d.checklist or [], "findings": d.findings or "",
            "passback_reset": d.passback_reset}


def _drill(db, drill_id: int, lock: bool = False) -> Drill:
    stmt = select(Drill).where(Drill.id == drill_id)
    d = db.scalar(stmt.with_for_update() if lock else stmt)
    if d is None:
        raise NotFound("no such drill")
    return d


def running(db, site_id: int, lock: bool = False) -> Drill | None:
    stmt = select(Drill).where(Drill.site_id == site_id, Drill.state == "running").order_by(Drill.id.desc()).limit(1)
    return db.scalar(stmt.with_for_update() if lock else stmt)


def _inside_areas(site: Site) -> frozenset[str]:
    gates = json.loads(site.config_json).get("gates", [])
    return M.inside_areas((g["area_in"], g["area_out"]) for g in gates)


def _open(db, ledger: Ledger, site: Site, scenario: str, trigger: str, by: str, at: dt.datetime) -> Drill:
    """A running drill with its roll taken from the gates' presence now (the caller commits)."""
    if scenario not in M.DRILL_SCENARIOS:
        raise Invalid(f"unknown drill scenario {scenario!r} (one of {', '.join(M.DRILL_SCENARIOS)})")
    presence = db.execute(select(Presence.person, Presence.area).where(Presence.site_id == site.id)).all()
    plan = _latest(db, site.id, scenario)
    d = Drill(site_id=site.id, scenario=scenario, trigger=trigger, state="running", started_at=at, started_by=by,
              plan_id=plan.id if plan else None, lanes={}, safe={},
              roll=M.roll_call([(p, a) for p, a in presence], _inside_areas(site)),
              checklist=M.checklist_from_plan(plan.checklist if plan else DEFAULT_PLANS[scenario]["checklist"]),
              findings="", passback_reset=False)
    db.add(d)
    db.flush()
    ledger.record(db, "drill.started", {"id": d.id, "site": site.slug, "site_id": site.id, "scenario": scenario,
                                        "trigger": trigger, "started_at": iso(at), "by": by,
                                        "roll": d.roll, "plan_id": d.plan_id})
    return d


def start(db, ledger: Ledger, edge: EdgeChannel, site_id: int, scenario: str, by: str,
          timeout: float) -> dict[str, Any]:
    """An officer's drill: recorded, then every lane released by the edge over OSDP."""
    site = site_or_404(db, site_id)
    if running(db, site.id, lock=True) is not None:
        raise Conflict("a drill is already running at this site")
    d = _open(db, ledger, site, scenario, "officer", by, utcnow())
    db.commit()
    return release(db, edge, d.id, timeout)


def release(db, edge: EdgeChannel, drill_id: int, timeout: float) -> dict[str, Any]:
    """(Again) command the edge to release every lane of a running drill; each lane's release
    time is the edge's. An edge that cannot be reached leaves the drill running, lanes unreported."""
    d = _drill(db, drill_id)
    if d.state != "running":
        raise Conflict("the drill has ended")
    try:
        result = send_to_edge(edge, d.site_id, CommandName.RELEASE_GATES, {"on": True}, timeout)
        error = None
    except (EdgeUnavailable, EdgeFailed) as exc:
        result, error = {"lanes": []}, str(exc)
    d = _drill(db, drill_id, lock=True)
    lanes = dict(d.lanes or {})
    for lane in result.get("lanes", []):
        lanes = M.lane_released(lanes, lane["gate"], "released_at", lane["at"])
        lanes[lane["gate"]]["state"] = lane["state"]
        lanes[lane["gate"]]["online"] = lane["online"]
    d.lanes = lanes
    db.commit()
    return {**drill_record(db, d), "release_error": error}


def mark_safe(db, ledger: Ledger, drill_id: int, person: str, by: str) -> dict[str, Any]:
    """An officer marks ``person`` safe (seen at the muster point)."""
    d = _drill(db, drill_id, lock=True)
    if d.state != "running":
        raise Conflict("the drill has ended")
    if person not in (d.roll or {}):
        raise Invalid(f"{person} was not inside when the drill began")
    _safe(d, person, utcnow(), "officer", by)
    db.commit()
    return drill_record(db, d)


def _safe(d: Drill, person: str, at: dt.datetime, how: str, where: str) -> bool:
    m, changed = M.mark_safe(_muster(d), person, at, how, where)
    if changed:
        d.safe = {p: {"at": s.at.isoformat(), "how": s.how, "where": s.where} for p, s in m.safe.items()}
        done = M.accounted_at(m)
        d.accounted_at = done
    return changed


def tick(db, drill_id: int, item: str, done: bool, by: str) -> dict[str, Any]:
    d = _drill(db, drill_id, lock=True)
    if d.state != "running":
        raise Conflict("the drill has ended")
    try:
        d.checklist = M.tick(d.checklist or [], item, done, by, utcnow())
    except ValueError as exc:
        raise Invalid(str(exc)) from None
    db.commit()
    return drill_record(db, d)


def set_findings(db, drill_id: int, findings: str) -> dict[str, Any]:
    d = _drill(db, drill_id, lock=True)
    if d.state != "running":
        raise Conflict("the drill has ended")
    d.findings = findings
    db.commit()
    return drill_record(db, d)


def end(db, ledger: Ledger, edge: EdgeChannel, drill_id: int, by: str, findings: str | None,
        timeout: float) -> dict[str, Any]:
    """Relock every lane and reset anti-passback for everyone on the roll (they left by the
    released lanes, unrecorded); then the drill's record is ledgered. An edge that cannot be
    reached leaves the drill running (its lanes are still open): 503."""
    d = _drill(db, drill_id)
    if d.state != "running":
        raise Conflict("the drill has ended")
    people = sorted(d.roll or {})
    result = send_to_edge(edge, d.site_id, CommandName.RELEASE_GATES, {"on": False, "reset_passback": people},
                          timeout)
    d = _drill(db, drill_id, lock=True)
    lanes = dict(d.lanes or {})
    for lane in result.get("lanes", []):
        lanes = M.lane_released(lanes, lane["gate"], "relocked_at", lane["at"])
        lanes[lane["gate"]]["state"] = lane["state"]
        lanes[lane["gate"]]["online"] = lane["online"]
    d.lanes, d.state, d.ended_at, d.ended_by, d.passback_reset = lanes, "ended", utcnow(), by, True
    if findings is not None:
        d.findings = findings
    # Neutral at the gates now: nobody on the roll is recorded inside any more.
    if people:
        db.execute(delete(Presence).where(Presence.site_id == d.site_id, Presence.person.in_(people)))
    record = drill_record(db, d)
    ledger.record(db, "drill.ended", record)
    db.commit()
    return record


def current(db, site_id: int) -> dict[str, Any] | None:
    site_or_404(db, site_id)
    d = running(db, site_id)
    return drill_record(db, d) if d else None


def history(db, site_id: int, limit: int = 50) -> list[dict[str, Any]]:
    site_or_404(db, site_id)
    rows = db.scalars(select(Drill).where(Drill.site_id == site_id).order_by(Drill.started_at.desc(), Drill.id.desc())
                      .limit(limit))
    return [drill_record(db, d) for d in rows]


def one(db, drill_id: int) -> dict[str, Any]:
    return drill_record(db, _drill(db, drill_id))


def in_period(db, site_id: int, start: dt.datetime, end: dt.datetime) -> list[dict[str, Any]]:
    """The drills that began in [start, end), oldest first."""
    rows = db.scalars(select(Drill).where(Drill.site_id == site_id, Drill.started_at >= start,
                                          Drill.started_at < end).order_by(Drill.started_at, Drill.id))
    return [drill_record(db, d) for d in rows]


def drill_rows(db, site_id: int, start: dt.datetime, end: dt.datetime) -> list[dict[str, Any]]:
    """The audit bundle's drills.jsonl lines: each drill of the period as ledgered when it ended
    (``ledger_index`` filled in by the bundle), or as it stands while still running."""
    return [{**r, "ledger_index": None} for r in in_period(db, site_id, start, end)]


def report_rows(db, site: Site, start: dt.datetime, end: dt.datetime) -> list[dict[str, Any]]:
    """The daily report's drills section: each drill of the day with its figures."""
    out = []
    for r in in_period(db, site.id, start, end):
        c = r["muster"]["counts"]
        out.append({**r, "by": r["started_by"], "started_at": dt.datetime.fromisoformat(r["started_at"]),
                    "ended_at": dt.datetime.fromisoformat(r["ended_at"]) if r["ended_at"] else None,
                    "inside": c["inside"], "safe": c["safe"], "missing": c["missing"],
                    "missing_names": [w["name"] for a in r["muster"]["areas"].values() for w in a["missing"]],
                    "accounted_s": r["muster"]["accounted_s"],
                    "lanes_released": sum(1 for v in r["lanes"].values() if v.get("released_at")),
                    "ticked": sum(1 for i in r["checklist"] if i.get("done")), "items": len(r["checklist"])})
    return out


daily_report.EXTRA_SECTIONS["drills"] = report_rows


# --- from the edge's events (controller/ingest.py, in the event's transaction) ----------------

def on_event(s, ledger_rows: list, site_id: int | None, kind: str, body: P.Body, ts: str) -> None:
    """A badge read at a released lane marks its holder safe; a lane's first report of standing
    open is its release time; a gate's fire input starts a fire drill where none is running."""
    if site_id is None:
        return
    if isinstance(body, P.GateDecision):
        if not (body.person and body.granted and body.reason == "gate_fail_safe_open"):
            return
        d = running(s, site_id, lock=True)
        if d is not None:
            _safe(d, body.person, P.when(body.at), "badge", body.gate)
    elif isinstance(body, P.GateState):
        if body.state != RELEASED_MODE:
            return
        d = running(s, site_id, lock=True)
        if d is not None and not (d.lanes or {}).get(body.gate, {}).get("released_at"):
            lanes = M.lane_released(d.lanes or {}, body.gate, "released_at", ts)
            lanes[body.gate].update(state=body.state, online=body.online)
            d.lanes = lanes
    elif isinstance(body, P.AlarmBody) and kind == "fire_alarm" and not body.cleared:
        if running(s, site_id, lock=True) is not None:
            return
        site = s.get(Site, site_id)
        gate = getattr(body, "gate", None) or body.source.split(":")[-1]
        at = P.when(ts)
        d = _open(s, _Queued(ledger_rows), site, "fire", f"{FIRE_INPUT}:{gate}", FIRE_INPUT, at)
        d.lanes = M.lane_released({}, gate, "released_at", ts)


class _Queued:
    """A ledger face over the ingest batch's entries (recorded with the batch, in its transaction)."""

    def __init__(self, rows: list) -> None:
        self.rows = rows

    def record(self, _s, kind: str, data: dict[str, Any]) -> None:
        self.rows.append((kind, data))
