"""The overview as an officer reads it: a camera's tamper is a sentence with the camera linked and
its heartbeats left out; an alarm is acknowledged from the page with a note, the header's count
drops and the ledger holds the note. The events enter through the controller's own ingest."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from tests.browser.pages import T, login
from tests.conftest import ControllerRig, wait_for

pytestmark = [pytest.mark.browser, pytest.mark.slow]

TS = "2026-11-25T09:00:{:02d}+00:00"


@pytest.fixture(scope="module")
def rig(tmp_path_factory, served):
    tmp = tmp_path_factory.mktemp("overview-alarms")
    rig = ControllerRig(tmp, served[0], workers=served[1]).start()
    rig.seed_users({"off": ("officer", None), "insp": ("inspector", None)})
    from controller.app import open_core
    from controller.ingest import customer_ids, store_events
    from controller.models import Agent, Site
    from controller.settings import Settings
    from edge_agent.wire.messages import Event as WireEvent

    core = open_core(Settings(data_dir=rig.data, database_url=rig.env["SITEGUARD_DATABASE_URL"]))
    with core.sessions() as s:
        site = s.scalar(select(Site))
        agent = Agent(name="edge-overview", site_id=site.id, public_key="o" * 40, status={})
        s.add(agent)
        s.commit()
        beat = {"camera": "cam-01", "state": "recording", "detail": ""}
        kinds = [("camera.state", beat)] * 5 + [
            ("camera.state", {"camera": "cam-01", "state": "tampered", "detail": "lens covered"}),
            ("alarm.camera_covered", {"camera": "cam-01", "source": "camera:cam-01", "severity": "critical",
                                      "message": "camera cam-01 covered: " + "x" * 300})]
        events = [WireEvent(seq=i + 1, ts=TS.format(i), kind=k, data=d) for i, (k, d) in enumerate(kinds)]
        store_events(s, agent.id, site.id, events, customer_ids(s))
        s.commit()
        rig.site_id = site.id
    core.engine.dispose()
    yield rig
    rig.proc.stop()


def _acknowledged(rig, note: str) -> bool:
    from controller.models import LedgerEntry, LedgerQueued

    with rig.db().connect() as conn:
        rows = conn.execute(select(LedgerEntry.leaf).where(LedgerEntry.kind == "alarm.acknowledged")).all()
        rows += conn.execute(select(LedgerQueued.data).where(LedgerQueued.kind == "alarm.acknowledged")).all()
    return any(note.encode() in bytes(r[0]) for r in rows)


def test_tamper_reads_as_a_sentence_and_the_alarm_is_acknowledged_with_a_note(rig, page, lang):
    login(page, rig.url, "off", landing=True)
    states = page.locator("#events tr[data-kind='camera.state']")
    expect(states).to_have_count(2, timeout=15_000)  # the first report and the tamper; no heartbeat
    tamper = states.first
    expect(tamper).to_contain_text(T(lang, "Camera {camera} was tampered with", camera="cam-01"))
    expect(tamper.locator("a[data-param=camera]")).to_have_attribute("href", f"/cameras/{rig.site_id}/cam-01")
    # Long lines wrap: the page never scrolls sideways.
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    page.select_option("#event-filters select[name=severity]", "critical")
    expect(page.locator("#events tr[data-kind='camera.state']")).to_have_count(0, timeout=10_000)
    expect(page.locator("#events tr[data-kind='alarm.camera_covered']")).to_have_count(1)
    page.select_option("#event-filters select[name=severity]", "")

    counts = page.locator("#alarm-counts span[data-severity=critical]")
    expect(counts).to_have_attribute("data-count", "1", timeout=20_000)
    expect(counts).to_have_text(T(lang, "critical: {n}", n=1))
    alarm = page.locator("#alarms li[data-kind=camera_covered]")
    expect(alarm).to_contain_text(T(lang, "Camera {camera} was covered", camera="cam-01"))
    expect(alarm.locator("a[data-link=camera]")).to_have_attribute("href", pattern_at(rig.site_id))
    note = f"lens cleaned ({lang})"
    alarm.locator("input[name=note]").fill(note)
    alarm.locator("button.ack").click()
    expect(page.locator("#alarms li[data-kind=camera_covered]")).to_have_count(0, timeout=10_000)
    expect(counts).to_have_attribute("data-count", "0", timeout=20_000)
    wait_for(lambda: _acknowledged(rig, note), timeout=20, what="the acknowledgement in the ledger")


def pattern_at(site_id: int):
    import re

    return re.compile(rf"^/cameras/{site_id}/cam-01\?at=")


def test_an_inspector_sees_the_alarms_but_cannot_acknowledge(rig, page, lang):
    login(page, rig.url, "insp", landing=True)
    expect(page.locator("#alarm-counts")).to_be_visible(timeout=20_000)
    expect(page.locator("#alarms li").first).to_be_visible()
    expect(page.locator("#alarms button.ack")).to_have_count(0)
