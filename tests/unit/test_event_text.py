"""Every event kind the edge sends (and the controller's refusal record) reads as a sentence
whose message is in both catalogs, whose placeholders all have values, and whose subject links
to its page; heartbeats are told from state changes; alarms group by subject."""
from __future__ import annotations

import re

import pytest

from controller import event_text as E
from controller import i18n
from controller.alarms import count_open, group_alarms, subject
from edge_agent.wire.kinds import EVENT_KINDS

AT = "2026-11-25T09:00:00+00:00"
GATE = {"gate": "gate-main", "at": AT, "direction": "entry", "person": "p-003"}
# One payload per kind, as the wire models (edge_agent/wire/payloads.py) carry it.
SAMPLES = {
    "agent.started": {"site": "demo-floor3", "config_hash": "ab" * 32},
    "config.applied": {"config_hash": "cd" * 32},
    "camera.state": {"camera": "cam-01", "state": "offline", "detail": "no video"},
    "camera.discovered": {"endpoint": "urn:uuid:1", "xaddrs": [], "scopes": []},
    "segment.recorded": {"camera": "cam-01", "seq": 7, "start": AT, "end": AT, "bytes": 1, "sha256": "0" * 64},
    "segment.deleted": {"camera": "cam-01", "seq": 7, "deleted_at": AT, "reason": "retention"},
    "evidence.deleted": {"camera": "cam-01", "names": ["a.jpg", "b.jpg"], "deleted_at": AT, "reason": "retention"},
    "retention.capacity": {"ok": False, "message": "short", "needed_bytes": 9e12, "available_bytes": 1e12},
    "retention.hold_placed": {"id": "h1", "camera": "cam-02", "start": AT, "end": AT, "reason": "case", "by": "off"},
    "retention.hold_released": {"id": "h1", "start": AT, "end": AT, "reason": "case", "by": "off"},
    "seat.state": {"seat": "A1", "customer": "acme", "covered": False, "reasons": ["camera_offline"], "views": []},
    "site.coverage": {"percent": 87.5, "seats": 8, "covered": 7},
    "coverage.gap": {"since": AT, "until": AT, "seats": ["A1", "A2"]},
    "gate.decision": {**GATE, "granted": False, "reason": "training_expired"},
    "gate.passage": {**GATE, "cause": "grant", "area_to": "floor3"},
    "gate.grant_cancelled": {**GATE, "reason": "timeout"},
    "gate.passback_reset": {"person": "p-003"},
    "gate.state": {"gate": "gate-main", "state": "forced", "online": True},
    "network.change_refused": {"change": "chg-1", "reason": "bad_signature", "detail": "signature does not verify"},
    "network.change_started": {"change": "chg-1", "devices": ["sw-core"]},
    "network.change_progress": {"change": "chg-1", "device": "sw-core", "status": "sending"},
    "network.change_result": {"change": "chg-1", "status": "rolled_back", "devices": []},
    "network.drift": {"device": "sw-core", "in_sync": False},
    "wire.refused": {"kind": "gate.decision", "reason": "malformed_body", "error": "x", "data": {}},
}
ALARM = {"source": "x", "severity": "critical", "message": "what the edge said"}
ALARM_FIELDS = {
    "camera": {"camera": "cam-01", "source": "camera:cam-01"}, "gate": {"gate": "gate-main", "person": "p-003"},
    "seat": {"seat": "A1", "reasons": ["occluded"]}, "network": {"change": "chg-1"},
}


def sample(kind: str) -> dict:
    if kind in SAMPLES:
        return SAMPLES[kind]
    alarm = kind.removeprefix("alarm.")
    extra = (ALARM_FIELDS["camera"] if alarm.startswith(("camera_", "record", "segment_"))
             else ALARM_FIELDS["seat"] if alarm == "seat_uncovered"
             else ALARM_FIELDS["network"] if alarm.startswith("network_")
             else ALARM_FIELDS["gate"] if alarm in ("passback", "door_forced", "door_held", "tailgating", "tamper",
                                                     "fire_alarm", "power_lost", "gate_offline", "gate_secure_channel",
                                                     "granted_no_entry", "osdp_line_noise")
             else {"days_left": 0.7} if alarm == "retention_disk_critical" else {})
    return {**ALARM, **extra}


def catalog_ids(locale: str) -> dict[str, str]:
    return {m.id: m.string for m in i18n._catalog(locale) if m.id and isinstance(m.id, str)}


ALL_KINDS = sorted(EVENT_KINDS | {E.REFUSED_KIND})


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_every_kind_reads_as_a_translated_sentence_with_all_its_values(kind):
    s = E.describe(kind, sample(kind), site_id=3, agent="edge-demo", names={"p-003": "Chen Jie"}, at=AT)
    zh = catalog_ids("zh_CN")
    assert s.msgid in zh and zh[s.msgid], f"{s.msgid!r} has no Chinese translation"
    assert s.msgid in catalog_ids("en")
    assert set(re.findall(r"\{(\w+)\}", s.msgid)) <= set(s.params), s
    assert set(s.links) <= set(s.params) and set(s.codes) <= set(s.params)
    assert s.severity in E.SEVERITIES
    assert s.msgid != "Edge agent {agent} reported {kind}", f"{kind} has no sentence of its own"
    # Each sentence fills in both languages, every value in place.
    for locale in i18n.LOCALES:
        text = i18n.translations(locale).gettext(s.msgid).format(**s.params)
        assert "{" not in text


def test_subjects_link_to_their_pages():
    cam = E.describe("camera.state", {"camera": "cam 01", "state": "tampered"}, site_id=3)
    assert (cam.msgid, cam.links, cam.severity) == ("Camera {camera} was tampered with",
                                                   {"camera": "/cameras/3/cam%2001"}, "warning")
    alarm = E.describe("alarm.camera_covered", sample("alarm.camera_covered"), site_id=3, at=AT)
    assert alarm.links["camera"] == "/cameras/3/cam-01?at=2026-11-25T09%3A00%3A00%2B00%3A00"
    assert alarm.severity == "critical"
    seat = E.describe("seat.state", SAMPLES["seat.state"])
    assert seat.links == {"seat": "/seats#A1"} and seat.codes == {"reasons": "reasons"}
    passage = E.describe("gate.passage", SAMPLES["gate.passage"], names={"p-003": "Chen Jie"})
    assert passage.msgid == "{person} entered through gate {gate}"
    assert passage.params["person"] == "Chen Jie"
    assert passage.links == {"gate": "/gates#gate-main", "person": "/gates?person=p-003"}
    unknown = E.describe("gate.passage", {**SAMPLES["gate.passage"], "direction": "exit"})
    assert unknown.msgid == "{person} left through gate {gate}" and unknown.params["person"] == "p-003"
    change = E.describe("network.change_refused", SAMPLES["network.change_refused"])
    assert change.links == {"change": "/network#chg-1"} and change.severity == "critical"
    disk = E.describe("alarm.retention_disk_critical", sample("alarm.retention_disk_critical"))
    assert disk.params["days"] == 0.7 and disk.severity == "critical"
    cleared = E.describe("alarm.camera_covered", {"source": "camera:cam-01", "camera": "cam-01", "state": "cleared"},
                         site_id=3)
    assert cleared.msgid == "Camera {camera}: {title} is over" and cleared.severity == "info"
    assert E.describe("camera.state", {"camera": "c"}).links == {}  # no site: no page to link


def test_heartbeats_are_told_from_state_changes():
    beat = {"camera": "cam-01", "state": "recording"}
    assert not E.is_routine("camera.state", beat, None)  # the first report says something
    assert E.is_routine("camera.state", beat, "recording")
    assert not E.is_routine("camera.state", {**beat, "state": "offline"}, "recording")
    gate = {"gate": "g", "state": "locked", "online": True}
    assert E.is_routine("gate.state", gate, ("locked", True))
    assert not E.is_routine("gate.state", {**gate, "online": False}, ("locked", True))
    assert E.is_routine("segment.recorded", SAMPLES["segment.recorded"])
    assert E.is_routine("network.drift", {"device": "sw", "in_sync": True})
    assert not E.is_routine("network.drift", {"device": "sw", "in_sync": False})
    assert not E.is_routine("seat.state", SAMPLES["seat.state"], "x")


def _view(id_, kind, source, severity="warning", raised="2026-11-25T09:00:00+00:00", repeats=0, last=None):
    return {"id": id_, "kind": kind, "source": source, "severity": severity, "raised_at": raised,
            "last_raised_at": last or raised, "repeats": repeats}


def test_alarms_group_by_kind_and_subject_counting_repeats():
    assert subject("gate:gate-main:2026-11-25T09:00:00+08:00") == "gate:gate-main"
    assert subject("gate:gate-main:2026-11-25T09:00:00.123Z") == "gate:gate-main"
    assert subject("camera:cam-01") == "camera:cam-01"
    views = [
        _view(5, "tailgating", "gate:gate-main:2026-11-25T09:05:00+00:00", "critical", "2026-11-25T09:05:00+00:00"),
        _view(4, "camera_covered", "camera:cam-01", "critical", repeats=4, last="2026-11-25T09:04:00+00:00"),
        _view(3, "tailgating", "gate:gate-main:2026-11-25T09:01:00+00:00", "critical", "2026-11-25T09:01:00+00:00"),
        _view(2, "tailgating", "gate:gate-side:2026-11-25T09:02:00+00:00", "critical", "2026-11-25T09:02:00+00:00"),
        _view(1, "agent.offline", "agent:edge", "warning", "2026-11-25T09:06:00+00:00"),
    ]
    groups = group_alarms(views)
    assert [(g["kind"], g["subject"], g["count"], g["ids"]) for g in groups] == [
        ("tailgating", "gate:gate-main", 2, [5, 3]),
        ("camera_covered", "camera:cam-01", 5, [4]),
        ("tailgating", "gate:gate-side", 1, [2]),
        ("agent.offline", "agent:edge", 1, [1]),  # warnings after every critical group
    ]
    main = groups[0]
    assert main["first_raised_at"] == "2026-11-25T09:01:00+00:00"
    assert main["last_raised_at"] == "2026-11-25T09:05:00+00:00" and main["latest"]["id"] == 5
    assert group_alarms([]) == []


def test_open_alarm_counts_name_every_severity():
    assert count_open([("critical", 2), ("info", 1)]) == {"info": 1, "warning": 0, "critical": 2}
    assert count_open([]) == {"info": 0, "warning": 0, "critical": 0}
