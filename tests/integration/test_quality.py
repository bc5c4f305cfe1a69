"""A project's quality scored from the database against figures worked out by hand
(tests/quality_project.py's project), its snapshots over time, and who may read it.

The newest own version of each (task, annotator): alice's G2 is her v2 "neg"; bob's G2 is his
own v1 "pos" (his v2 is a reviewer's fix, not his work). Units, (first, second) rating:
G1 pos/pos, G2 neg/pos, G3 pos/neg, G4 neu/neu, N1 pos/neg, N2 neg/neg.

- Gold pairs: G1 ✓✓, G2 alice ✓ bob ✗, G3 alice ✓ carol ✗, G4 ✓✓: 6 of 8. Wilson 95 %:
  z² = 3.8415, centre = (0.75 + z²/16) / (1 + z²/8) = 0.66890, half = 1.96 / 1.48019 ·
  √(0.75·0.25/8 + z²/256) = 0.25962, so [0.40928, 0.92852].
- Alpha: o(pos,pos) = o(neg,neg) = o(neu,neu) = 2, o(pos,neg) = o(neg,pos) = 3; n_pos = n_neg = 5,
  n_neu = 2, n = 12; D_o = 6/12, D_e = 2·(25 + 10 + 10)/132 = 90/132; alpha = 1 − 0.5·132/90 = 0.26667.
- Fleiss: P̄ = 3/6 (three units agree), P_e = (25 + 25 + 4)/144 = 0.375, kappa = 0.125/0.625 = 0.2.
- Alpha of pos alone: true/false units TT FT TF FF TF FF: o(T,T) = 2, o(F,F) = 4, o(T,F) = o(F,T) = 3;
  n_T = 5, n_F = 7; D_o = 0.5, D_e = 70/132; alpha = 1 − 66/70 = 0.05714 (neg alike); neu: 1.
- Consensus on gold: G1 pos ✓, G2 tie → pos (first in the label list) ✗, G3 tie → pos ✓, G4 ✓: 3/4.
- Per annotator: alice 3/3 on gold, 4 done, gaps 60, 90 (and a 3850 s break) → 75 s; bob 2/3,
  5 done, gaps 30, 60, 30, 120 → 45 s; carol 1/2, 3 done, gaps 20, 60 → 40 s.
- Confusion (gold rows, submitted columns; pos, neg, neu): [[3,1,0],[1,1,0],[0,0,2]].
- Cross-modal: g1 N2 (neg, neg → neg) against G1 (pos) fails, g2 G1 pos against X pos holds, g3's
  Y has no work yet: 1 of 2 judged groups, 3 groups."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from annotation.quality.intervals import wilson
from controller.annotation_tables import Project, QualityPause, QualitySnapshot
from controller.models import User
from controller.services import quality
from tests import quality_project
from tests.conftest import app_with_demo_site, serve, wait_for
from tests.integration.test_api_access import login


@pytest.fixture
def project(tmp_path, database_url):
    app, _, _ = app_with_demo_site(tmp_path, database_url)
    pid = quality_project.seed(app.state.core.sessions)
    return app, pid


def _report(app, pid):
    with app.state.core.sessions() as s:
        return quality.score_project(s, s.get(Project, pid))


def test_figures_match_the_hand_worked_ones(project):
    app, pid = project
    r = _report(app, pid)
    assert (r["submissions"], r["tasks"], r["gold_tasks"], r["gold_submissions"]) == (12, 6, 4, 8)
    [acc] = r["metrics"]
    assert acc["key"] == "label_accuracy" and (acc["k"], acc["n"], acc["value"]) == (6, 8, 0.75)
    assert acc["low"] == pytest.approx(0.40928, abs=1e-5) and acc["high"] == pytest.approx(0.92852, abs=1e-5)
    assert acc["target"] == 0.95 and acc["meets"] is False

    ag = r["agreement"]
    assert (ag["tasks"], ag["ratings"], ag["equal_raters"]) == (6, 12, True)
    assert ag["alpha"]["value"] == pytest.approx(0.266667, abs=1e-6) and ag["alpha"]["target"] == 0.8
    assert ag["fleiss_kappa"] == pytest.approx(0.2)
    per = {x["label"]: x["alpha"] for x in ag["per_label"]}
    assert per["pos"] == pytest.approx(0.057143, abs=1e-6) and per["neg"] == pytest.approx(0.057143, abs=1e-6)
    assert per["neu"] == pytest.approx(1.0)

    assert (r["consensus"]["k"], r["consensus"]["n"], r["consensus"]["tasks"]) == (3, 4, 4)

    people = {a["username"]: a for a in r["annotators"]}
    assert list(people) == ["alice", "bob", "carol"]
    assert [(people[n]["gold"]["k"], people[n]["gold"]["n"], people[n]["done"], people[n]["speed_s"])
            for n in people] == [(3, 3, 4, 75.0), (2, 3, 5, 45.0), (1, 2, 3, 40.0)]
    assert people["alice"]["gold"]["low"] == pytest.approx(wilson(3, 3).low)
    assert not any(a["paused"] for a in r["annotators"])

    cm = r["confusion"]
    assert cm["labels"] == ["pos", "neg", "neu"] and cm["matrix"] == [[3, 1, 0], [1, 1, 0], [0, 0, 2]]
    assert [(x["gold"], x["submitted"], x["count"]) for x in cm["most_confused"]] == [("pos", "neg", 1),
                                                                                      ("neg", "pos", 1)]
    cross = r["crossmodal"]
    assert (cross["k"], cross["n"], cross["groups"], cross["judged"], cross["target"]) == (1, 2, 3, 2, 0.9)
    assert cross["failures"] == [{"constraint": "same_intent(a, b)", "groups": 1}]
    assert r["plan_target"] == 0.95


def test_an_open_pause_shows_and_a_lifted_one_does_not(project):
    app, pid = project
    with app.state.core.sessions() as s:
        carol = s.scalar(select(User.id).where(User.username == "carol"))
        bob = s.scalar(select(User.id).where(User.username == "bob"))
        s.add(QualityPause(project_id=pid, annotator_id=carol, reason="below target", paused_by="system"))
        s.add(QualityPause(project_id=pid, annotator_id=bob, reason="below target", paused_by="system",
                           lifted_at=quality_project.T0, lifted_by="off"))
        s.commit()
    assert {a["username"]: a["paused"] for a in _report(app, pid)["annotators"]} == {
        "alice": False, "bob": False, "carol": True}


def test_snapshots_when_due_and_the_series(project):
    app, pid = project
    sessions = app.state.core.sessions
    t = quality_project.T0
    assert quality.snapshot_due(sessions, 300, now=t) == 2  # both projects have work
    assert quality.snapshot_due(sessions, 300, now=t.replace(minute=4)) == 0
    assert quality.snapshot_due(sessions, 300, now=t.replace(minute=5)) == 2
    with sessions() as s:
        points = quality.series(s, pid)
        assert len(points) == 2 and s.query(QualitySnapshot).count() == 4
    assert points[0]["figures"]["label_accuracy"] == {"value": 0.75, "low": pytest.approx(0.40928, abs=1e-5)}
    assert points[0]["figures"]["alpha"]["value"] == pytest.approx(0.266667, abs=1e-6)
    assert points[0]["figures"]["crossmodal_consistency"]["value"] == 0.5
    assert points[0]["at"] < points[1]["at"]


def test_the_api_for_officers_and_the_project_s_customer_only(project):
    app, pid = project
    core = app.state.core
    from controller.models import Customer, Role
    from controller.services.users import create_user

    with core.sessions() as s:
        ids = {slug: s.scalar(select(Customer.id).where(Customer.slug == slug)) for slug in ("acme", "borealis")}
        for name, role, cust in (("off", Role.officer, None), ("adm", Role.admin, None),
                                 ("insp", Role.inspector, None), ("ann", Role.annotator, None),
                                 ("acme1", Role.customer, ids["acme"]), ("bor1", Role.customer, ids["borealis"])):
            create_user(s, core.ledger, name, f"{name}-pass", role, cust, "test")
        s.commit()
    with serve(app, core.settings.database_url) as client:
        for who, expected in (("off", 200), ("adm", 200), ("acme1", 200), ("bor1", 404), ("insp", 403),
                              ("ann", 403)):
            r = client.get(f"/api/projects/{pid}/quality", headers=login(client, who))
            assert r.status_code == expected, (who, r.status_code, r.text[:200])
        assert client.get(f"/api/projects/{pid}/quality").status_code == 401
        off, acme = login(client, "off"), login(client, "acme1")
        other = client.get(f"/api/projects/{pid}/quality", headers=login(client, "bor1"))
        missing = client.get("/api/projects/999999/quality", headers=login(client, "bor1"))
        assert other.json() == missing.json()
        assert client.post(f"/api/projects/{pid}/quality/snapshots", headers=acme).status_code == 403
        assert client.post(f"/api/projects/{pid}/quality/snapshots", headers=off).status_code == 201
        body = client.get(f"/api/projects/{pid}/quality", headers=acme).json()
        assert body["project"]["slug"] == "intents" and body["metrics"][0]["value"] == 0.75
        # the one taken here (and, served apart, maybe one the link process's housekeeping took)
        assert body["series"] and body["series"][-1]["figures"]["label_accuracy"]["value"] == 0.75
        assert [a["username"] for a in body["annotators"]] == ["alice", "bob", "carol"]


def test_the_board_answers_from_memory_until_the_work_changes(project):
    app, pid = project
    sessions = app.state.core.sessions
    board = quality.QualityBoard(sessions, min_refresh_s=0)
    with sessions() as s:
        p = s.get(Project, pid)
        first, at = board.report(s, p)
        again, at2 = board.report(s, p)
        assert again is first and at2 == at
        g1 = min(quality.gold_answers(s, pid))
        quality_project._save(s, p, g1, s.scalar(select(User.id).where(User.username == "dave")), {"label": "neu"},
                              quality_project.T0, 1)
        s.commit()
        stale, _ = board.report(s, p)  # answered at once; scored again behind it
        assert stale is first
    def fresh():
        with sessions() as s:
            return board.report(s, s.get(Project, pid))[0]["submissions"] == 13
    wait_for(fresh, timeout=20, what="the board to score the new work")


def _add_dave_gold(s, pid):
    p = s.get(Project, pid)
    g1 = min(quality.gold_answers(s, pid))
    quality_project._save(s, p, g1, s.scalar(select(User.id).where(User.username == "dave")), {"label": "neu"},
                          quality_project.T0, 1)
    s.commit()


def test_workers_share_one_report_and_one_scoring(project):
    """Two boards stand for two HTTP workers over one database: the project is scored once for
    both, and once more (by one of them) after the work changes."""
    app, pid = project
    sessions = app.state.core.sessions
    a, b = (quality.QualityBoard(sessions, min_refresh_s=0) for _ in range(2))
    with sessions() as s:
        first, at = a.report(s, s.get(Project, pid))
        other, at_b = b.report(s, s.get(Project, pid))
    assert (a.scored, b.scored) == (1, 0) and other == first and at_b == at
    with sessions() as s:
        _add_dave_gold(s, pid)
    with sessions() as s:  # both see it stale; one wins the lease, the other answers the stored one
        for board in (a, b):
            assert board.report(s, s.get(Project, pid))[0]["submissions"] == 12

    def fresh():
        with sessions() as s:
            return all(board.report(s, s.get(Project, pid))[0]["submissions"] == 13 for board in (a, b))
    wait_for(fresh, timeout=20, what="one board to score the new work for both")
    assert a.scored + b.scored == 2


def test_a_lease_excludes_others_until_it_runs_out(project):
    app, pid = project
    sessions = app.state.core.sessions
    with sessions() as s:
        held = quality.claim(s, pid, lease_s=60)
        assert held and quality.claim(s, pid, lease_s=60) is None
    board = quality.QualityBoard(sessions, first_wait_s=0.5)
    with sessions() as s, pytest.raises(quality.Busy):  # never scored, and another worker holds it
        board.report(s, s.get(Project, pid))
    with sessions() as s:  # the holder died: its lease runs out and the next asker takes it over
        later = quality.utcnow() + quality.dt.timedelta(seconds=61)
        taken = quality.claim(s, pid, lease_s=60, now=later)
        assert taken and taken != held
        assert quality.store(s, pid, held, ("stale",), {"late": True}) is None  # the dead one's lease is void
        quality.release(s, pid, taken)
        rep, _ = board.report(s, s.get(Project, pid))
    assert rep["submissions"] == 12 and board.scored == 1


def test_the_api_answers_busy_while_another_worker_scores_first(project):
    """In process, so that the board can be given a short wait (served, it waits a minute)."""
    from fastapi.testclient import TestClient

    from controller.models import Role
    from controller.services.users import create_user

    app, pid = project
    core = app.state.core
    with core.sessions() as s:
        create_user(s, core.ledger, "off", "off-pass", Role.officer, None, "test")
        s.commit()
        quality.claim(s, pid, lease_s=60)
    with TestClient(app) as client:
        app.state.quality_board = quality.QualityBoard(core.sessions, first_wait_s=0.2)
        r = client.get(f"/api/projects/{pid}/quality", headers=login(client, "off"))
    assert r.status_code == 503 and r.headers["Retry-After"] == "5" and "being scored" in r.json()["detail"]
