"""The quality page, in each language: reached from the menu's project list, it draws each metric
as a bar against its target, the figures over time as lines, the annotators with the paused one
marked, agreement per label and the confusion matrix as a heatmap, with the hand-worked figures
of tests/quality_project.py. A customer sees its own project's page; another customer reads it as
missing; an annotator gets the app's refusal."""
from __future__ import annotations

import datetime as dt

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from tests import quality_project
from tests.browser.pages import T, login, open_menu
from tests.conftest import ControllerRig

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def rig(tmp_path_factory, served):
    tmp = tmp_path_factory.mktemp("quality")
    rig = ControllerRig(tmp, served[0], workers=served[1])
    rig.start()
    rig.seed_users({"off": ("officer", None), "acme1": ("customer", "acme"), "bor1": ("customer", "borealis"),
                    "ann": ("annotator", None)})
    from controller.annotation_tables import Project, QualityPause
    from controller.app import open_core
    from controller.models import User
    from controller.services import quality
    from controller.settings import Settings

    core = open_core(Settings(data_dir=rig.data, database_url=rig.env["SITEGUARD_DATABASE_URL"]))
    pid = quality_project.seed(core.sessions)
    with core.sessions() as s:
        carol = s.scalar(select(User.id).where(User.username == "carol"))
        s.add(QualityPause(project_id=pid, annotator_id=carol, reason="below target", paused_by="system"))
        s.commit()
        project = s.get(Project, pid)
        rep = quality.score_project(s, project)
        now = dt.datetime.now(dt.timezone.utc)
        for minutes in (10, 5):
            quality.take_snapshot(s, project, now - dt.timedelta(minutes=minutes), rep)
    core.engine.dispose()
    rig.project = pid
    yield rig
    rig.proc.stop()


def open_quality(page, rig, user: str) -> None:
    login(page, rig.url, user)
    open_menu(page, "/quality")
    page.click(f"#quality-projects li[data-project='{rig.project}'] a")
    expect(page.locator("#quality")).to_have_attribute("data-loaded", "1", timeout=20_000)


def test_the_page_draws_its_charts_and_figures(page, rig, lang):
    open_quality(page, rig, "off")
    bars = page.locator("#metric-bars g.metric")
    expect(bars).to_have_count(4)  # label accuracy, consensus, cross-modal, alpha
    assert [bars.nth(i).get_attribute("data-key") for i in range(4)] == [
        "label_accuracy", "consensus", "crossmodal_consistency", "alpha"]
    accuracy = page.locator("#metric-bars g.metric[data-key='label_accuracy']")
    assert accuracy.get_attribute("data-value") == "0.75" and "misses" in accuracy.get_attribute("class")
    expect(accuracy.locator("line.interval")).to_have_count(1)
    expect(accuracy.locator("line.target")).to_have_count(1)
    expect(accuracy.locator("text").nth(1)).to_have_text("75.0 %")
    expect(page.locator("#trend path.series")).to_have_count(4)
    assert int(page.locator("#trend path.series[data-key='label_accuracy']").get_attribute("data-points")) >= 2
    expect(page.locator("#trend line.target")).to_have_count(1)
    expect(page.locator("#trend-legend li")).to_have_count(4)
    expect(page.locator("#trend-legend")).to_contain_text(T(lang, "label accuracy"))

    rows = page.locator("#annotators tbody tr")
    expect(rows).to_have_count(3)
    carol = page.locator("#annotators tr[data-annotator='carol']")
    expect(carol).to_have_class("paused")
    expect(carol.locator("td").nth(1)).to_have_text(T(lang, "{value} ({k} of {n})", value="50.0 %", k=1, n=2))
    expect(carol.locator("td").nth(3)).to_have_text("3")
    expect(carol.locator("td").nth(4)).to_have_text(T(lang, "{seconds} s per task", seconds="40.0"))
    expect(carol.locator("td").nth(5)).to_have_text(T(lang, "paused"))
    # 3 of 3 right, but the interval's low end (0.44) is under the 95 % target
    expect(page.locator("#annotators tr[data-annotator='alice'] td").nth(5)).to_have_text(T(lang, "below target"))

    expect(page.locator("#label-alpha g.metric")).to_have_count(3)
    expect(page.locator("#agreement-summary")).to_have_text(
        T(lang, "alpha {alpha}, Fleiss kappa {kappa}, {n} tasks", alpha="0.267", kappa="0.200", n=6))
    heat = page.locator("#confusion rect.heat")
    expect(heat).to_have_count(9)
    assert [heat.nth(i).get_attribute("data-count") for i in range(9)] == ["3", "1", "0", "1", "1", "0", "0", "0", "2"]
    expect(page.locator("#confusion rect.heat.diagonal")).to_have_count(3)
    expect(page.locator("#most-confused li")).to_have_count(2)
    expect(page.locator("#most-confused li").first).to_have_text(
        T(lang, "gold {gold} given as {submitted}: {count}", gold="pos", submitted="neg", count=1))
    expect(page.locator("#summary")).to_have_text(T(
        lang, "{subs} submissions on {tasks} tasks; {gold} on gold tasks. Target {target}.",
        subs=12, tasks=6, gold=8, target="95.0 %"))
    expect(page.locator("h1")).to_contain_text(T(lang, "Quality"))


def test_the_customer_sees_its_own_project_only(page, rig, lang):
    open_quality(page, rig, "acme1")
    expect(page.locator("#metric-bars g.metric")).to_have_count(4)
    page.goto(rig.url + "/quality")
    page.click("#logout")
    login(page, rig.url, "bor1")
    page.goto(rig.url + "/quality")
    expect(page.locator("#quality-projects li")).to_have_count(0)
    r = page.goto(rig.url + f"/quality/{rig.project}")
    assert r.status == 404 and T(lang, "no such project") in page.content()


def test_an_annotator_gets_the_refusal(page, rig, lang):
    login(page, rig.url, "ann")
    expect(page.locator("header nav a[href='/quality']")).to_have_count(0)
    r = page.goto(rig.url + f"/quality/{rig.project}")
    assert r.status == 403
    expect(page.locator("#quality")).to_have_count(0)
