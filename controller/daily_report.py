"""The daily security report's content: the figures gathered for one site and day in, the report
out (sections with their counts and rows, and the charts as inline SVG). Pure: no database, no
clock, no language; controller/services/daily_report.py gathers the figures and keeps the report,
controller/report_render.py turns it into HTML and PDF in a language.

Every count is over the report's window [start, end) (the site's own calendar day), except what
says otherwise: alarms open at the end of the window, the oldest segment kept, training expiring
within 30 days of the day.
"""
from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from controller.coverage_history import Span

TRAINING_HORIZON_DAYS = 30
GAP_TOLERANCE_S = 5.0  # between one segment's end and the next one's start, before it counts as a gap
TAMPER_KINDS = ("camera_blackout", "camera_covered", "camera_defocus", "camera_moved")
CAMERA_ALARM_KINDS = ("camera_offline", *TAMPER_KINDS, "recording_gap", "recorder_stalled", "segment_corrupt")


@dataclass(frozen=True)
class Figures:
    """What the database says about one site and day, as plain data."""

    site: str
    site_name: str
    day: dt.date
    timezone: str
    start: dt.datetime  # the day's start and end in UTC
    end: dt.datetime
    seats: dict[str, list[Span]]  # each seat's coverage spans over [start, end]
    blind_hours: list[dict[str, Any]]  # floorplan.blind_hours rows over the window
    has_floor_plan: bool
    cameras: list[dict[str, Any]]  # {camera, state, detail} for every camera of the site file
    segments: dict[str, list[tuple[dt.datetime, dt.datetime, int]]]  # camera -> (start, end, bytes) in the window
    oldest_segment: dict[str, dt.datetime | None]  # camera -> start of the oldest segment kept
    deletions: list[dict[str, Any]]  # {camera, seq, start, deleted_at, reason} deleted in the window
    retention_min_months: int
    capacity: dict[str, Any] | None  # the edge's latest retention.capacity report
    alarms: list[dict[str, Any]]  # every alarm raised before ``end`` and not cleared before ``start``
    access: list[dict[str, Any]]  # access events in the window: {at, gate, person, kind, direction, granted, reason}
    network_changes: list[dict[str, Any]]  # created or finished in the window, with their approvals
    training: list[dict[str, Any]]  # {person, name, expires (date or None)} of the active people
    refusals: dict[str, int]  # annotation access refusals by reason
    refusals_total: int  # the refusals themselves (one may have several reasons)
    drills: list[dict[str, Any]] | None = None  # drills of the day, where the site keeps them
    vpn_peers: list[dict[str, Any]] | None = None  # remote devices live during the day, where the site has a VPN
    generated_at: dt.datetime | None = None


@dataclass(frozen=True)
class Report:
    site: str
    site_name: str
    day: dt.date
    timezone: str
    start: dt.datetime
    end: dt.datetime
    summary: dict[str, Any]
    sections: dict[str, Any]
    charts: dict[str, str] = field(default_factory=dict)
    generated_at: dt.datetime | None = None


def _within(t: dt.datetime | None, start: dt.datetime, end: dt.datetime) -> bool:
    return t is not None and start <= t < end


def _overlap(a0: dt.datetime, a1: dt.datetime, b0: dt.datetime, b1: dt.datetime) -> float:
    return max(0.0, (min(a1, b1) - max(a0, b0)).total_seconds())


def months_before(moment: dt.datetime, months: int, tz: str) -> dt.datetime:
    """The same local wall time ``months`` calendar months earlier (day clamped), as UTC."""
    import calendar
    from zoneinfo import ZoneInfo

    local = moment.astimezone(ZoneInfo(tz))
    year, month0 = divmod(local.year * 12 + local.month - 1 - months, 12)
    day = min(local.day, calendar.monthrange(year, month0 + 1)[1])
    return local.replace(year=year, month=month0 + 1, day=day).astimezone(dt.timezone.utc)


def hours_of(start: dt.datetime, end: dt.datetime) -> list[tuple[dt.datetime, dt.datetime]]:
    """The window cut at each whole hour (a DST day has 23 or 25 of them)."""
    out, t = [], start
    while t < end:
        nxt = min(end, (t + dt.timedelta(hours=1)).replace(minute=0, second=0, microsecond=0))
        out.append((t, nxt))
        t = nxt
    return out


def coverage(f: Figures) -> dict[str, Any]:
    """Per hour the share of seat-time proven covered (time nobody judged counts as not proven),
    and per seat how long it was uncovered or unjudged, with the spans."""
    hours = hours_of(f.start, f.end)
    per_hour: list[float | None] = []
    for h0, h1 in hours:
        total = covered = 0.0
        for spans in f.seats.values():
            for s in spans:
                o = _overlap(s.start, s.end, h0, h1)
                total += o
                covered += o if s.covered else 0.0
        per_hour.append(round(100.0 * covered / total, 1) if total > 0 else None)
    seats = []
    total_s = covered_s = 0.0
    for seat in sorted(f.seats):
        spans = f.seats[seat]
        unc = [s for s in spans if s.covered is False]
        unj = [s for s in spans if s.covered is None]
        seat_total = sum((s.end - s.start).total_seconds() for s in spans)
        seat_cov = sum((s.end - s.start).total_seconds() for s in spans if s.covered)
        total_s += seat_total
        covered_s += seat_cov
        if unc or unj:
            seats.append({"seat": seat,
                          "uncovered_s": round(sum((s.end - s.start).total_seconds() for s in unc)),
                          "unjudged_s": round(sum((s.end - s.start).total_seconds() for s in unj)),
                          "spans": [{"start": s.start, "end": s.end, "covered": s.covered,
                                     "reasons": list(s.reasons)} for s in unc + unj]})
    return {"hours": [{"start": h0, "percent": p} for (h0, _), p in zip(hours, per_hour, strict=True)],
            "percent": round(100.0 * covered_s / total_s, 1) if total_s > 0 else None,
            "seats_total": len(f.seats), "seats_uncovered": seats}


def blind_area(f: Figures) -> dict[str, Any]:
    """Per hour the largest blind area seen (summed over the site's areas)."""
    by_hour: dict[dt.datetime, float] = {}
    work: dict[str, float] = {}
    for r in f.blind_hours:
        hour = r["hour"]
        by_hour[hour] = by_hour.get(hour, 0.0) + r["max_blind_m2"]
        work[r["area"]] = r["work_area_m2"]
    hours = [{"start": h0, "max_blind_m2": round(by_hour[h0], 3) if h0 in by_hour else None}
             for h0, _ in hours_of(f.start, f.end)]
    values = [h["max_blind_m2"] for h in hours if h["max_blind_m2"] is not None]
    return {"has_floor_plan": f.has_floor_plan, "hours": hours, "work_area_m2": round(sum(work.values()), 3),
            "max_blind_m2": round(max(values), 3) if values else None,
            "hours_blind": sum(1 for v in values if v > 0)}


def _gaps(segs: list[tuple[dt.datetime, dt.datetime, int]]) -> list[dict[str, Any]]:
    out = []
    ordered = sorted(segs)
    for (_, end, _), (start, _, _) in zip(ordered, ordered[1:]):
        seconds = (start - end).total_seconds()
        if seconds > GAP_TOLERANCE_S:
            out.append({"start": end, "end": start, "seconds": round(seconds)})
    return out


def cameras(f: Figures) -> dict[str, Any]:
    rows = []
    alarms_by_camera: dict[str, Counter] = {}
    for a in f.alarms:
        if a["kind"] in CAMERA_ALARM_KINDS and _within(a["raised_at"], f.start, f.end):
            alarms_by_camera.setdefault(a.get("camera") or "", Counter())[a["kind"]] += 1
    for c in f.cameras:
        cam = c["camera"]
        segs = f.segments.get(cam, [])
        gaps = _gaps(segs)
        counts = alarms_by_camera.get(cam, Counter())
        rows.append({"camera": cam, "state": c.get("state"), "detail": c.get("detail") or "",
                     "segments": len(segs), "bytes": sum(b for _, _, b in segs),
                     "recorded_s": round(sum((e - s).total_seconds() for s, e, _ in segs)),
                     "gaps": gaps, "gap_s": sum(g["seconds"] for g in gaps),
                     "offline_alarms": counts["camera_offline"],
                     "tamper_alarms": sum(counts[k] for k in TAMPER_KINDS),
                     "gap_alarms": counts["recording_gap"]})
    return {"cameras": rows, "healthy": sum(1 for r in rows if r["state"] == "recording"),
            "gaps": sum(len(r["gaps"]) for r in rows), "tamper": sum(r["tamper_alarms"] for r in rows),
            "offline": sum(r["offline_alarms"] for r in rows)}


def retention(f: Figures) -> dict[str, Any]:
    """Each camera's oldest segment kept against the minimum: ``holds`` once it reaches back the
    whole minimum, else how far it does (a young site); deletions of the day, and any inside the
    minimum; the disk forecast from the day's recording against the space the edge reports."""
    boundary = months_before(f.end, f.retention_min_months, f.timezone)
    rows = []
    for cam in sorted({c["camera"] for c in f.cameras} | set(f.oldest_segment)):
        oldest = f.oldest_segment.get(cam)
        days = round((f.end - oldest).total_seconds() / 86400, 1) if oldest else None
        rows.append({"camera": cam, "oldest": oldest, "days": days, "holds": oldest is not None and oldest <= boundary})
    early = [d for d in f.deletions if d["start"] > boundary]
    per_day = sum(b for segs in f.segments.values() for _, _, b in segs) * 86400 / max(1.0, (f.end - f.start).total_seconds())
    cap = f.capacity or {}
    available = cap.get("available_bytes")
    days_left = round(available / per_day, 1) if available is not None and per_day > 0 else None
    return {"min_months": f.retention_min_months, "boundary": boundary, "cameras": rows,
            "deletions": f.deletions, "early_deletions": early, "bytes_per_day": round(per_day),
            "available_bytes": available, "needed_bytes": cap.get("needed_bytes"),
            "capacity_ok": cap.get("ok"), "days_left": days_left}


def alarms(f: Figures) -> dict[str, Any]:
    raised = [a for a in f.alarms if _within(a["raised_at"], f.start, f.end)]
    acked = [a for a in f.alarms if _within(a.get("acknowledged_at"), f.start, f.end)]
    still_open = [a for a in f.alarms if a["raised_at"] < f.end
                  and (a.get("cleared_at") is None or a["cleared_at"] >= f.end)]
    return {"raised": len(raised), "acknowledged": len(acked), "open": len(still_open),
            "by_kind": dict(sorted(Counter(a["kind"] for a in raised).items())),
            "acknowledgements": sorted(acked, key=lambda a: a["acknowledged_at"]),
            "open_alarms": sorted(still_open, key=lambda a: a["raised_at"])}


def gates(f: Figures) -> dict[str, Any]:
    ev = [e for e in f.access if _within(e["at"], f.start, f.end)]
    decisions = [e for e in ev if e["kind"] == "decision"]
    denials = Counter(e["reason"] or "" for e in decisions if e["granted"] is False)
    raised = Counter(a["kind"] for a in f.alarms if _within(a["raised_at"], f.start, f.end))
    return {"entries": sum(1 for e in ev if e["kind"] == "passage" and e["direction"] == "entry"),
            "exits": sum(1 for e in ev if e["kind"] == "passage" and e["direction"] == "exit"),
            "grants": sum(1 for e in decisions if e["granted"]),
            "denials": sum(denials.values()), "denials_by_reason": dict(sorted(denials.items())),
            "withdrawn": sum(1 for e in ev if e["kind"] == "cancelled"),
            "tailgating": raised["tailgating"], "passback": raised["passback"],
            "door_forced": raised["door_forced"], "door_held": raised["door_held"]}


def network(f: Figures) -> dict[str, Any]:
    drift = [a for a in f.alarms if a["kind"] == "network_drift" and _within(a["raised_at"], f.start, f.end)]
    approvals = [ap for c in f.network_changes for ap in c.get("approvals", [])
                 if _within(ap["at"], f.start, f.end)]
    return {"changes": f.network_changes, "count": len(f.network_changes),
            "applied": sum(1 for c in f.network_changes if c["status"] == "applied"),
            "approvals": sum(1 for ap in approvals if ap["decision"] == "approve"),
            "rejections": sum(1 for ap in approvals if ap["decision"] == "reject"),
            "drift": len(drift), "drift_alarms": drift}


def training(f: Figures) -> dict[str, Any]:
    horizon = f.day + dt.timedelta(days=TRAINING_HORIZON_DAYS)
    soon = sorted((t for t in f.training if t["expires"] is not None and f.day <= t["expires"] <= horizon),
                  key=lambda t: (t["expires"], t["person"]))
    return {"expiring": soon, "horizon_days": TRAINING_HORIZON_DAYS}


def assemble(f: Figures) -> Report:
    """The report of ``f``'s site and day."""
    sections = {"coverage": coverage(f), "blind_area": blind_area(f), "cameras": cameras(f),
                "retention": retention(f), "alarms": alarms(f), "gates": gates(f), "network": network(f),
                "training": training(f),
                "refusals": {"total": f.refusals_total, "by_reason": dict(sorted(f.refusals.items()))}}
    if f.drills is not None:
        sections["drills"] = {"drills": f.drills, "count": len(f.drills)}
    if f.vpn_peers is not None:
        sections["vpn"] = {"peers": f.vpn_peers, "count": len(f.vpn_peers),
                           "down_alarms": sum(p["down_alarms"] for p in f.vpn_peers),
                           "revoked": sum(1 for p in f.vpn_peers if p["status"] == "revoked")}
    s = sections
    summary = {
        "coverage_percent": s["coverage"]["percent"], "seats_uncovered": len(s["coverage"]["seats_uncovered"]),
        "max_blind_m2": s["blind_area"]["max_blind_m2"],
        "cameras": len(s["cameras"]["cameras"]), "recording_gaps": s["cameras"]["gaps"],
        "tamper_alarms": s["cameras"]["tamper"], "early_deletions": len(s["retention"]["early_deletions"]),
        "alarms_raised": s["alarms"]["raised"], "alarms_acknowledged": s["alarms"]["acknowledged"],
        "alarms_open": s["alarms"]["open"], "entries": s["gates"]["entries"], "denials": s["gates"]["denials"],
        "denials_by_reason": s["gates"]["denials_by_reason"], "tailgating": s["gates"]["tailgating"],
        "passback": s["gates"]["passback"], "door_forced": s["gates"]["door_forced"],
        "door_held": s["gates"]["door_held"], "network_changes": s["network"]["count"],
        "network_drift": s["network"]["drift"], "training_expiring": len(s["training"]["expiring"]),
        "refusals": s["refusals"]["total"], "refusals_by_reason": s["refusals"]["by_reason"],
    }
    if "drills" in s:
        summary["drills"] = s["drills"]["count"]
    if "vpn" in s:
        summary["vpn_peers"], summary["vpn_down_alarms"] = s["vpn"]["count"], s["vpn"]["down_alarms"]
    charts = {"coverage": bar_chart([h["percent"] for h in s["coverage"]["hours"]],
                                    [h["start"] for h in s["coverage"]["hours"]], f.timezone, top=100.0, unit="%")}
    if f.has_floor_plan:
        top = max([h["max_blind_m2"] or 0.0 for h in s["blind_area"]["hours"]] + [s["blind_area"]["work_area_m2"] * 0.1, 1.0])
        charts["blind_area"] = bar_chart([h["max_blind_m2"] for h in s["blind_area"]["hours"]],
                                         [h["start"] for h in s["blind_area"]["hours"]], f.timezone, top=top, unit="m²")
    return Report(f.site, f.site_name, f.day, f.timezone, f.start, f.end, summary, sections, charts, f.generated_at)


def bar_chart(values: list[float | None], starts: list[dt.datetime], tz: str, *, top: float, unit: str,
              width: int = 640, height: int = 180) -> str:
    """One bar per hour, labelled with the local hour; a missing value is a hatched stub. Only
    numbers and the unit: the words around it are the template's."""
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(tz)
    left, bottom, top_pad = 36, 22, 8
    n = max(1, len(values))
    plot_w, plot_h = width - left - 4, height - bottom - top_pad
    bw = plot_w / n
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
             f'height="{height}" class="chart" role="img">']
    for frac in (0.0, 0.5, 1.0):
        y = top_pad + plot_h * (1 - frac)
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - 4}" y2="{y:.1f}" stroke="#ccc" stroke-width="0.5"/>')
        parts.append(f'<text x="{left - 3}" y="{y + 3:.1f}" font-size="9" text-anchor="end">'
                     f'{_num(top * frac)}{_esc(unit) if frac == 1.0 else ""}</text>')
    for i, (v, t) in enumerate(zip(values, starts, strict=True)):
        x = left + i * bw
        if v is None:
            parts.append(f'<rect x="{x + 1:.1f}" y="{top_pad + plot_h - 3:.1f}" width="{bw - 2:.1f}" height="3" fill="#bbb"/>')
        else:
            h = plot_h * min(1.0, max(0.0, v / top)) if top > 0 else 0.0
            parts.append(f'<rect x="{x + 1:.1f}" y="{top_pad + plot_h - h:.1f}" width="{bw - 2:.1f}" '
                         f'height="{h:.1f}" fill="#3b6ea5"><title>{_num(v)}{_esc(unit)}</title></rect>')
        if i % 2 == 0:
            parts.append(f'<text x="{x + bw / 2:.1f}" y="{height - 8}" font-size="9" text-anchor="middle">'
                         f'{t.astimezone(zone).hour:02d}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _num(v: float) -> str:
    return f"{v:.0f}" if abs(v - round(v)) < 1e-9 or abs(v) >= 10 else f"{v:.1f}"


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# --- the signature ---------------------------------------------------------------------------
# A report's PDF is signed as a C2SP signed note by the ledger's key (the key of its checkpoints):
# the note names the site, the day, the language and the PDF's SHA-256, so a copy of the PDF and
# its note can be checked anywhere with the ledger's public key and nothing else.

NOTE_HEADER = "siteguard daily report"


def note_text(site: str, day: dt.date, lang: str, sha256_hex: str) -> str:
    return f"{NOTE_HEADER}\nsite {site}\nday {day.isoformat()}\nlang {lang}\nsha256 {sha256_hex}\n"


def verify_report(pdf: bytes, note: str, public_key: bytes, expect: dict[str, str] | None = None) -> dict[str, Any]:
    """Whether ``note`` is a valid signature by ``public_key`` over ``pdf`` (its SHA-256), and,
    given ``expect``, names that site, day and language. Returns {ok, problems, fields}."""
    import hashlib

    from retention.checkpoint import CheckpointError, NoteVerifier, split_note

    problems: list[str] = []
    fields: dict[str, str] = {}
    try:
        text, sigs = split_note(note)
        name = sigs[0][0] if sigs else ""
        NoteVerifier(name, public_key).verify_text(note)
    except (CheckpointError, ValueError) as exc:
        return {"ok": False, "problems": [f"signature: {exc}"], "fields": fields}
    lines = text.rstrip("\n").split("\n")
    if not lines or lines[0] != NOTE_HEADER:
        problems.append("not a daily report note")
    for line in lines[1:]:
        key, _, value = line.partition(" ")
        fields[key] = value
    actual = hashlib.sha256(pdf).hexdigest()
    if fields.get("sha256") != actual:
        problems.append(f"the PDF's SHA-256 is {actual}, the note signs {fields.get('sha256')}")
    for key, want in (expect or {}).items():
        if fields.get(key) != want:
            problems.append(f"the note names {key} {fields.get(key)!r}, not {want!r}")
    return {"ok": not problems, "problems": problems, "fields": fields}
