"""The demo's annotation content: seeded sentences in both languages with their entities, scenes
whose objects lie inside their boxes, a project of each modality for each customer, espeak-ng's
absence or failure named, and the demo browser's seat on its customer's VLAN."""
from __future__ import annotations

import io
import shutil
import wave

import pytest
import yaml
from PIL import Image

from edge_agent.wire.site import parse_site_text
from simulators import annotation_content as c
from siteguard_cli import DEMO_BROWSER_USER, seat_the_browser
from tests.conftest import DEMO_SITE


def test_sentences_are_distinct_seeded_and_their_entities_point_at_their_words():
    got = c.sentences(300, seed=7)
    assert len({s.text for s in got}) == 300 and len({s.id for s in got}) == 300
    assert {s.lang for s in got} == {"zh", "en"} and {s.mood for s in got} == set(c.MOODS)
    assert got == c.sentences(300, seed=7) and got != c.sentences(300, seed=8)
    for s in got:
        assert {e.label for e in s.entities} == set(c.ENTITY_LABELS)
        pools = c._ZH if s.lang == "zh" else c._EN
        assert all(s.text[e.start:e.end] in pools[e.label.lower()] for e in s.entities)
    zh = next(s for s in got if s.lang == "zh")
    assert all("\u4e00" <= ch <= "\u9fff" or ch in "，。？" for ch in zh.text)


def test_scenes_keep_their_objects_apart_and_inside_the_picture():
    got = c.scenes(50, seed=3, width=480, height=320)
    assert got == c.scenes(50, seed=3, width=480, height=320)
    for scene in got:
        assert 1 <= len(scene.shapes) <= 6 and {s.label for s in scene.shapes} <= set(c.OBJECT_LABELS)
        for i, a in enumerate(scene.shapes):
            x0, y0, x1, y1 = a.box
            assert 0 <= x0 < x1 <= 480 and 0 <= y0 < y1 <= 320
            for b in scene.shapes[:i]:
                assert not (x0 < b.box[2] and b.box[0] < x1 and y0 < b.box[3] and b.box[1] < y1)
    img = Image.open(io.BytesIO(c.render_scene(got[0])))
    assert img.format == "PNG" and img.size == (480, 320)
    # An object's pixels differ from the sky and ground around it.
    x0, y0, x1, y1 = got[0].shapes[-1].box
    assert img.getpixel(((x0 + x1) // 2, (y0 + y1 * 3) // 4)) not in (got[0].sky, got[0].ground)


def test_each_customer_gets_a_project_of_each_modality_and_speech_can_be_left_out():
    got = c.demo_projects(["acme", "borealis"], texts=5, speeches=3, images=4)
    assert [(p["customer"], p["modality"], p["count"]) for p in got] == [
        ("acme", "text", 5), ("acme", "audio", 3), ("acme", "image", 4),
        ("borealis", "text", 5), ("borealis", "audio", 3), ("borealis", "image", 4)]
    assert {p["label_schema"]["kind"] for p in got} == {"classification", "spans", "transcript", "boxes"}
    assert [p["modality"] for p in c.demo_projects(["acme"], speech=False)] == ["text", "image"]


def test_a_missing_or_broken_espeak_is_named(tmp_path):
    assert "not installed" in c.espeak_problem(str(tmp_path / "espeak-ng"))
    broken = tmp_path / "broken-espeak"
    broken.write_text("#!/bin/sh\necho 'no voice cmn' >&2\nexit 1\n")
    broken.chmod(0o755)
    assert c.espeak_problem(str(broken)) == f"{broken} cannot speak zh with voice cmn: no voice cmn"
    with pytest.raises(RuntimeError, match="failed on s0001"):
        c.write_speech(c.sentences(1, seed=1), tmp_path / "wav", espeak=str(broken))


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed (scripts/setup.sh)")
def test_espeak_reads_chinese_and_english_sentences(tmp_path):
    assert c.espeak_problem() is None
    paths = c.write_speech(c.sentences(2, seed=1), tmp_path)
    assert [p.name for p in paths] == ["s0001-zh.wav", "s0002-en.wav"]
    for p in paths:
        with wave.open(str(p)) as w:
            assert w.getnframes() / w.getframerate() > 0.5


def test_the_browser_seat_is_on_its_customer_vlan_in_a_valid_site_file():
    doc = yaml.safe_load(DEMO_SITE.read_text())
    seat = seat_the_browser(doc, DEMO_BROWSER_USER, "127.0.0.1")
    config = parse_site_text(yaml.safe_dump(doc))
    placed = next(s for s in config.seats if s.id == seat)
    assert (seat, str(placed.workstation), placed.customer) == ("A1", "127.0.0.1", "acme")
    acme = next(x for x in config.customers if x.id == "acme")
    assert any(placed.workstation in v.subnet for v in acme.vlans)
    person = next(p for p in config.people if p.user == DEMO_BROWSER_USER)
    assert person.customers == ("acme",)
