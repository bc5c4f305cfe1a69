"""The demo's annotation platform as `siteguard demo` makes it on the demo's site file: a text, a
speech and an image project per customer filled through the real import (speech left out, and
said so, while espeak-ng is missing), made once however often the demo starts, the site's
annotators as members, and the demo annotator at the browser's address served a task once the
gates put her inside, refused while outside or while her seat is not covered."""
from __future__ import annotations

import sys

import pytest
from sqlalchemy import func, select

from controller.annotation_tables import Dataset, Item, Project, ProjectMember
from controller.app import create_app
from controller.ingest import customer_ids, store_events
from controller.models import Agent, Customer, User, utcnow
from controller.settings import Settings
from controller.sites import apply_site_config
from edge_agent.wire.messages import Event
from edge_agent.wire.site import load_site_file
from siteguard_cli import DEMO_BROWSER_USER, demo_runtime_site, seed_demo_annotation
from tests.conftest import free_port, serve

COUNTS = {"texts": 12, "speeches": 4, "images": 6}
FAKE_ESPEAK = f"""#!{sys.executable}
# Stands in for espeak-ng: half a second of tone per sentence, to the file after -w or stdout.
import math, struct, sys, wave
out = sys.argv[sys.argv.index("-w") + 1] if "-w" in sys.argv else sys.stdout.buffer
with wave.open(out, "wb") as w:
    w.setnchannels(1); w.setsampwidth(2); w.setframerate(22050)
    n = len(sys.argv[-1])
    w.writeframes(b"".join(struct.pack("<h", int(6000 * math.sin(i * (0.05 + n / 1000)))) for i in range(11025)))
"""


def _projects(core) -> dict[tuple[str, str], tuple[str, int, dict[str, bool]]]:
    """(customer, slug) -> (modality, items, {member: can_review})."""
    out = {}
    with core.sessions() as s:
        for p, customer in s.execute(select(Project, Customer.slug).join(Customer, Customer.id == Project.customer_id)):
            items = s.scalar(select(func.count()).select_from(Item).where(Item.project_id == p.id))
            members = {name: review for name, review in s.execute(
                select(User.username, ProjectMember.can_review).join(User, User.id == ProjectMember.user_id)
                .where(ProjectMember.project_id == p.id))}
            out[(customer, p.slug)] = (p.modality, items, members)
    return out


@pytest.fixture
def demo(tmp_path, database_url, capsys):
    site_file, _, seat = demo_runtime_site(tmp_path)
    config = load_site_file(site_file)
    app = create_app(Settings(data_dir=tmp_path / "ctl", database_url=database_url,
                              wire_bind=f"tcp://127.0.0.1:{free_port()}"))
    core = app.state.core
    with core.sessions() as s:
        site, _ = apply_site_config(s, config)
        s.commit()
        agent = Agent(name="edge-demo", site_id=site.id, public_key="d" * 40, status={})
        s.add(agent)
        s.commit()
        site_id, agent_id = site.id, agent.id
    capsys.readouterr()
    return app, core, config, seat, site_id, agent_id


def test_the_demo_projects_are_made_once_per_modality_and_customer(demo, tmp_path, capsys):
    app, core, config, _, _, _ = demo
    # espeak-ng missing: text and images only, and the console says why.
    report = seed_demo_annotation(core, config, tmp_path, espeak=str(tmp_path / "no-espeak-ng"), **COUNTS)
    said = capsys.readouterr()
    assert f"speech projects skipped: {tmp_path / 'no-espeak-ng'} is not installed" in said.out
    assert "speech projects skipped" in report.problems[0]
    assert sorted(_projects(core)) == [("acme", "scenes"), ("acme", "texts"), ("borealis", "scenes"),
                                       ("borealis", "texts")]
    assert "importing:" in said.out and "demo projects ready" in said.out

    espeak = tmp_path / "espeak-ng"
    espeak.write_text(FAKE_ESPEAK)
    espeak.chmod(0o755)
    report = seed_demo_annotation(core, config, tmp_path, espeak=str(espeak), **COUNTS)
    assert report.problems == []
    assert sorted((p.customer, p.slug) for p, _ in report.made) == [("acme", "speech"), ("borealis", "speech")]
    assert len(report.kept) == 4
    got = _projects(core)
    acme = {"annotator": False, "wangfang": False, "liuyang": False, "zhouna": True}
    borealis = {"zhaolei": False, "sunli": False, "zhouna": True}
    assert got == {
        ("acme", "texts"): ("text", 12, acme), ("acme", "speech"): ("audio", 4, acme),
        ("acme", "scenes"): ("image", 6, acme),
        ("borealis", "texts"): ("text", 12, borealis), ("borealis", "speech"): ("audio", 4, borealis),
        ("borealis", "scenes"): ("image", 6, borealis)}
    with core.sessions() as s:
        audio = s.scalars(select(Item).join(Project, Project.id == Item.project_id)
                          .where(Project.modality == "audio")).all()
        assert {i.meta["sample_rate"] for i in audio} == {16000}  # ffmpeg normalised what espeak wrote
        roles = set(s.scalars(select(User.role).where(User.username.in_([*acme, *borealis]))))
        datasets = s.scalar(select(func.count()).select_from(Dataset))
    assert roles == {"annotator"}

    # A restart makes nothing again.
    capsys.readouterr()
    report = seed_demo_annotation(core, config, tmp_path, espeak=str(espeak), **COUNTS)
    assert report.made == [] and len(report.kept) == 6 and report.problems == []
    assert "demo content" not in capsys.readouterr().out
    assert _projects(core) == got
    with core.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Dataset)) == datasets


def test_the_browser_seats_annotator_works_once_inside_and_not_outside_or_uncovered(demo, tmp_path, database_url):
    app, core, config, seat, site_id, agent_id = demo
    seed_demo_annotation(core, config, tmp_path, espeak=str(tmp_path / "no-espeak-ng"), texts=5, images=2)
    with core.sessions() as s:
        acme = s.scalar(select(Customer.id).where(Customer.slug == "acme"))
        texts = s.scalar(select(Project.id).where(Project.customer_id == acme, Project.slug == "texts"))
    person = next(p for p in config.people if p.user == DEMO_BROWSER_USER)

    def cover(covered: bool) -> None:
        with core.sessions() as s:
            agent = s.get(Agent, agent_id)
            agent.status = {"seats": {seat: {"covered": covered, "reasons": [] if covered else ["tampered"]}}}
            agent.last_seen_at = utcnow()
            s.commit()

    def walk(direction: str, seq: int) -> None:
        at = utcnow().isoformat()
        with core.sessions() as s:
            store_events(s, agent_id, site_id, [Event(seq=seq, ts=at, kind="gate.passage", data={
                "gate": "gate-main", "at": at, "direction": direction, "person": person.id, "cause": "grant",
                "area_to": "floor3" if direction == "entry" else "outside"})], customer_ids(s))
            s.commit()

    with serve(app, database_url, client=("127.0.0.1", 50000)) as c:
        r = c.post("/api/auth/token", json={"username": DEMO_BROWSER_USER, "password": f"{DEMO_BROWSER_USER}-demo"})
        assert r.status_code == 200, r.text
        auth = {"Authorization": f"Bearer {r.json()['token']}"}
        nxt = f"/api/work/projects/{texts}/next"

        def ask(method: str, path: str, covered: bool = True):
            cover(covered)  # what the edge on line reports about her seat, fresh before each request
            return c.request(method, path, headers=auth)

        r = ask("POST", nxt)
        assert r.status_code == 403 and r.json()["reasons"] == ["not_on_site"], r.text

        walk("entry", 1)
        r = ask("POST", nxt)
        assert r.status_code == 200, r.text
        task = r.json()
        assert task["seat"].endswith(f"/{seat}") and task["item"]["media_type"] == "text/plain"
        body = ask("GET", task["content"])
        assert body.status_code == 200 and body.text.strip()

        r = ask("GET", task["content"], covered=False)  # her seat's camera covered
        assert r.status_code == 403 and r.json()["reasons"] == ["seat_not_covered"], r.text
        assert ask("GET", task["content"]).status_code == 200

        walk("exit", 2)
        r = ask("POST", nxt)
        assert r.status_code == 403 and r.json()["reasons"] == ["not_on_site"], r.text
