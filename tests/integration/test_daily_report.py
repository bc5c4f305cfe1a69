"""The daily security report holds the day's true counts: access events, alarms, their
acknowledgements, annotation refusals, recording gaps, seat coverage, blind area, training and
network changes that a test inserts, in and around the day. It renders as HTML and PDF in Chinese
and English, the PDF's text holds the figures, its hash is in the ledger and its signed note
checks against the ledger's key; annotators and customers may not read or make reports."""
from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import shutil
import subprocess

import pytest
from sqlalchemy import delete, select

from controller import daily_report as dr
from controller.models import (
    AccessEvent,
    Agent,
    Alarm,
    BlindAreaHour,
    Customer,
    DailyReport,
    Event,
    LedgerEntry,
    NetworkApproval,
    NetworkChange,
    Person,
    Role,
    Segment,
    Site,
    TrainingRecord,
)
from controller.services import daily_report as svc
from controller.services.users import create_user
from controller.services.work_refusals import note_refusal
from tests.conftest import app_with_demo_site, cli, serve

DAY = dt.date(2026, 11, 20)  # Asia/Shanghai: 2026-11-19T16:00Z .. 2026-11-20T16:00Z
START = dt.datetime(2026, 11, 19, 16, 0, tzinfo=dt.timezone.utc)
END = START + dt.timedelta(days=1)
USERS = {"off": (Role.officer, None), "insp": (Role.inspector, None), "adm": (Role.admin, None),
         "ann": (Role.annotator, None), "acme1": (Role.customer, "acme")}


def at(hours: float) -> dt.datetime:
    return START + dt.timedelta(hours=hours)


def _seed(s, site_id: int, agent_id: int) -> None:
    """The day's facts, and a few just outside it that must not count."""
    def access(h, kind, direction="entry", granted=None, reason="", person="p-001"):
        s.add(AccessEvent(site_id=site_id, at=at(h), gate="gate-main", person=person, kind=kind,
                          direction=direction, granted=granted, reason=reason, details={}))
    for h, p in ((9, "p-001"), (10, "p-002"), (11, "p-003")):
        access(h, "passage", person=p)
    access(12, "passage", direction="exit")
    access(9.5, "decision", granted=True)
    access(9.6, "decision", granted=True)
    access(13, "decision", granted=False, reason="no_training")
    access(13.1, "decision", granted=False, reason="no_training")
    access(13.2, "decision", granted=False, reason="passback_denied")
    access(13.3, "decision", granted=False, reason="unknown_card")
    access(-0.01, "passage")  # the day before, local time
    access(24.0, "decision", granted=False, reason="unknown_card")  # the day after

    def alarm(kind, source, raised, **kw):
        s.add(Alarm(kind=kind, severity="warning", message=f"{kind} at {source}", site_id=site_id,
                    source=source, raised_at=raised, details={}, **kw))
    alarm("tailgating", "gate:gate-main", at(12))
    alarm("door_forced", "door:gate-main", at(13), state="acknowledged", acknowledged_by="off",
          acknowledged_at=at(14), cleared_at=at(14), ack_note="cleaner-seen")
    alarm("door_forced", "door:gate-side", at(13.5))
    alarm("door_held", "door:gate-main:held", at(15), state="cleared", cleared_at=at(15.1))
    alarm("passback", "passback:p-002", at(16))
    alarm("camera_covered", "camera:cam-99", at(-6), state="acknowledged", acknowledged_by="insp",
          acknowledged_at=at(4), cleared_at=at(4), ack_note="lens-cleaned")  # raised before, acknowledged in
    alarm("tailgating", "gate:gate-next", at(25))  # the day after

    for h, reasons in ((2.2, ["seat_not_covered", "not_trained"]), (3.0, ["seat_not_covered"]), (24.5, ["x"])):
        note_refusal(s, site_id, reasons, now=at(h))

    cam = "cam-01"
    t, seq = at(0), 0
    while t < at(0.5):  # one-minute segments with a ten-minute hole after the first ten
        if not at(10 / 60) <= t < at(20 / 60):
            s.add(Segment(site_id=site_id, agent_id=agent_id, camera=cam, seq=seq, start=t,
                          end=t + dt.timedelta(minutes=1), bytes=1_000_000, sha256="0" * 64, link="0" * 64))
            seq += 1
        t += dt.timedelta(minutes=1)

    config = json.loads(s.get(Site, site_id).config_json)
    seats = [x["id"] for x in config["seats"]]
    evs = [(at(-1), seat, True) for seat in seats] + [(at(2), seats[0], False), (at(2.5), seats[0], True)]
    for i, (t, seat, covered) in enumerate(evs):
        s.add(Event(agent_id=agent_id, seq=1000 + i, ts=t.isoformat(), received_at=t, kind="seat.state",
                    data={"seat": seat, "covered": covered, "reasons": [] if covered else ["camera_offline"]}))

    for h, blind in ((1, 3.5), (2, 0.0)):
        s.add(BlindAreaHour(site_id=site_id, area="floor3", hour=at(h), work_area_m2=120.0, max_blind_m2=blind,
                            last_blind_m2=blind))

    people = {p.person: p for p in s.scalars(select(Person).where(Person.site_id == site_id))}
    s.execute(delete(TrainingRecord).where(TrainingRecord.person_id.in_([people["p-001"].id, people["p-002"].id])))
    s.add(TrainingRecord(person_id=people["p-001"].id, completed=DAY - dt.timedelta(days=300),
                         expires=DAY + dt.timedelta(days=10), recorded_by="off"))
    s.add(TrainingRecord(person_id=people["p-002"].id, completed=DAY - dt.timedelta(days=300),
                         expires=DAY + dt.timedelta(days=40), recorded_by="off"))

    acme = s.scalar(select(Customer.id).where(Customer.slug == "acme"))
    s.add(NetworkChange(id="chg-report-1", site_id=site_id, title="open 10.20.0.5 to acme", created_by="off",
                        created_at=at(5), status="applied", finished_at=at(6), customers=["acme"],
                        expires=at(48).isoformat()))
    s.flush()
    s.add(NetworkApproval(change_id="chg-report-1", customer_id=acme, decision="approve", by="acme1", at=at(5.5)))
    s.commit()


@pytest.fixture
def rig(tmp_path, database_url, monkeypatch):
    monkeypatch.setenv("SITEGUARD_REPORT_HOUR", "-1")  # the served controller makes none by itself
    app, site_id, agent_id = app_with_demo_site(tmp_path, database_url)
    core = app.state.core
    with core.sessions() as s:
        for name, (role, cust) in USERS.items():
            cid = s.scalar(select(Customer.id).where(Customer.slug == cust)) if cust else None
            create_user(s, core.ledger, name, f"{name}-pass-1", role, cid, "test")
        _seed(s, site_id, agent_id)
    with serve(app, database_url) as c:
        yield c, app, site_id


def login(c, name: str) -> dict:
    token = c.post("/api/auth/token", json={"username": name, "password": f"{name}-pass-1"}).json()["token"]
    return {"Authorization": f"Bearer {token}"}


EXPECTED = {"entries": 3, "denials": 4, "denials_by_reason": {"no_training": 2, "passback_denied": 1, "unknown_card": 1},
            "alarms_raised": 5, "alarms_acknowledged": 2, "alarms_open": 3, "tailgating": 1, "passback": 1,
            "door_forced": 2, "door_held": 1, "refusals": 2,
            "refusals_by_reason": {"not_trained": 1, "seat_not_covered": 2}, "recording_gaps": 1,
            "network_changes": 1, "training_expiring": 1, "max_blind_m2": 3.5, "seats_uncovered": 1}


def pdf_text(pdf: bytes) -> str:
    if shutil.which("pdftotext"):
        return subprocess.run(["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True, check=True).stdout.decode()
    from pypdf import PdfReader
    return "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)


def test_the_report_holds_the_days_true_counts_in_both_languages(rig):
    c, app, site_id = rig
    off = login(c, "off")
    made = {}
    for lang in ("en", "zh_CN"):
        r = c.post(f"/api/sites/{site_id}/reports", json={"day": DAY.isoformat(), "lang": lang}, headers=off)
        assert r.status_code == 201, r.text
        made[lang] = r.json()
        summary = made[lang]["summary"]
        for key, want in EXPECTED.items():
            assert summary[key] == want, (lang, key, summary[key])
        # seat coverage: one seat of n uncovered for half an hour of the day
        with app.state.core.sessions() as s:
            n = len(json.loads(s.get(Site, site_id).config_json)["seats"])
        assert summary["coverage_percent"] == round(100 - 100 * 1800 / (n * 86400), 1)

    en = made["en"]
    html = c.get(en["html"], headers=off).text
    assert "Daily security report" in html and "cleaner-seen" in html and "<svg" in html
    assert 'id="blind-area"' in html and 'id="k-alarms-open">3<' in html
    zh_html = c.get(made["zh_CN"]["html"], headers=off).text
    assert "每日安全报告" in zh_html and 'id="k-entries">3<' in zh_html

    texts = {}
    for lang, view in made.items():
        r = c.get(view["pdf"], headers=off)
        assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
        assert hashlib.sha256(r.content).hexdigest() == view["sha256"]
        texts[lang] = pdf_text(r.content)
    for lang, text in texts.items():
        lines = text.splitlines()
        assert any("no_training" in ln and ln.split()[-1] == "2" for ln in lines), lang
        assert any("seat_not_covered" in ln and ln.split()[-1] == "2" for ln in lines), lang
        assert "cleaner-seen" in text and "lens-cleaned" in text, lang
        assert "0:30:00" in text and "0:10:00" in text, lang  # the seat's half hour, the recording's hole
        assert "chg-report-1" in text, lang
    assert "Daily security report" in texts["en"] and "Gate entries" in texts["en"]
    assert "每日安全报告" in texts["zh_CN"] and "入场人次" in texts["zh_CN"]

    ledger = app.state.core.ledger
    ledger.integrate_all()
    with app.state.core.sessions() as s:
        leaves = [json.loads(leaf)["data"] for leaf in s.scalars(select(LedgerEntry.leaf).where(
            LedgerEntry.kind == svc.LEDGER_KIND))]
    assert {(d["lang"], d["sha256"]) for d in leaves} >= {(v["lang"], v["sha256"]) for v in made.values()}

    check = c.get(f"/api/reports/{en['id']}/verify", headers=off).json()
    assert check["ok"] and check["fields"]["sha256"] == en["sha256"]
    note = c.get(f"/api/reports/{en['id']}/signature", headers=off).text
    pdf = c.get(en["pdf"], headers=off).content
    assert dr.verify_report(pdf, note, ledger.public_key)["ok"]
    assert not dr.verify_report(pdf + b"\n", note, ledger.public_key)["ok"]
    assert not dr.verify_report(pdf, note.replace("lang en", "lang zh_CN"), ledger.public_key)["ok"]

    listed = c.get(f"/api/sites/{site_id}/reports", headers=login(c, "insp")).json()
    assert {r["id"] for r in listed} >= {v["id"] for v in made.values()}
    page = c.get(f"/reports?site={site_id}", headers={**off, "Accept-Language": "en"})
    assert page.status_code == 200 and f'data-report="{en["id"]}"' in page.text and 'id="report-generate"' in page.text

    for name in ("ann", "acme1"):
        h = login(c, name)
        assert c.get(f"/api/sites/{site_id}/reports", headers=h).status_code == 403
        assert c.post(f"/api/sites/{site_id}/reports", json={"day": DAY.isoformat()}, headers=h).status_code == 403
        assert c.get(en["pdf"], headers=h).status_code == 403
        assert c.get(en["html"], headers=h).status_code == 403
        assert c.get(f"/reports?site={site_id}", headers=h).status_code == 403


def test_the_schedule_makes_yesterdays_reports_once_in_each_language(tmp_path):
    app, site_id, _ = app_with_demo_site(tmp_path, f"sqlite:///{tmp_path / 'c.db'}")
    core = app.state.core
    before = dt.datetime(2026, 11, 21, 5, 59, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    assert svc.generate_due(core.sessions, core.ledger, 6, before) == 0
    after = dt.datetime(2026, 11, 21, 6, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    assert svc.generate_due(core.sessions, core.ledger, 6, after) == 2
    assert svc.generate_due(core.sessions, core.ledger, 6, after + dt.timedelta(hours=3)) == 0
    with core.sessions() as s:
        rows = s.execute(select(DailyReport.day, DailyReport.lang, DailyReport.created_by)).all()
    assert sorted(rows) == [(DAY, "en", "schedule"), (DAY, "zh_CN", "schedule")]
    assert svc.generate_due(core.sessions, core.ledger, -1, after + dt.timedelta(days=1)) == 0


def test_the_cli_writes_the_pdf_and_its_note_and_verifies_them(tmp_path):
    app, site_id, agent_id = app_with_demo_site(tmp_path, f"sqlite:///{tmp_path / 'c.db'}")
    core = app.state.core
    with core.sessions() as s:
        _seed(s, site_id, s.scalar(select(Agent.id)))
    env = {"SITEGUARD_DATA_DIR": str(tmp_path / "ctl"), "SITEGUARD_DATABASE_URL": f"sqlite:///{tmp_path / 'c.db'}"}
    out = tmp_path / "r.pdf"
    cli("daily-report", "--site", "demo-floor3", "--date", DAY.isoformat(), "--lang", "en", "--out", str(out), env=env)
    assert "Gate entries" in pdf_text(out.read_bytes())
    key = core.ledger.public_key.hex()
    ok = cli("verify-report", str(out), "--key", key, env=env)
    assert ok.stdout.startswith("OK: demo-floor3 2026-11-20 en")
    out.write_bytes(out.read_bytes() + b"%")
    bad = cli("verify-report", str(out), "--key", key, env=env, check=False)
    assert bad.returncode == 1 and "SHA-256" in bad.stdout
