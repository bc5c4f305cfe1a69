"""The wire's bodies: every event kind and every command's arguments and result has one model;
a body that does not fit is refused with reason "malformed_body" and the field named, and
nothing but that error comes out of reading, whatever the body."""
from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge_agent.wire import payloads as P
from edge_agent.wire.kinds import EVENT_KINDS, AlarmKind, CommandName, EventKind
from edge_agent.wire.messages import WireError

T = "2026-11-25T08:00:00.000000Z"
HEX = "ab" * 32
ALARM = {"source": "gate:g1", "severity": "critical", "message": "door forced"}

EVENTS: dict[str, dict[str, Any]] = {
    EventKind.AGENT_STARTED: {"site": "site-1", "config_hash": "c" * 64},
    EventKind.CONFIG_APPLIED: {"config_hash": "c" * 64},
    EventKind.CAMERA_STATE: {"camera": "cam-01", "state": "recording", "detail": "",
                             "health": {"fps": 5.0, "bitrate_bps": 4000000, "last_frame_at": T,
                                        "recorder": "recording", "recorder_restarts": 0, "tamper": [],
                                        "model": "Sim Cam"}},
    EventKind.CAMERA_DISCOVERED: {"endpoint": "urn:uuid:1", "xaddrs": ["http://10.0.0.9/onvif"], "scopes": []},
    EventKind.SEGMENT_RECORDED: {"camera": "cam-01", "seq": 1, "start": T, "end": T, "bytes": 10, "sha256": HEX,
                                 "link": HEX, "codec": "h264", "width": 1920, "height": 1080, "frames": 100},
    EventKind.SEGMENT_DELETED: {"camera": "cam-01", "seq": 1, "deleted_at": T, "reason": "retention"},
    EventKind.EVIDENCE_DELETED: {"camera": "cam-01", "names": ["a.jpg"], "deleted_at": T, "reason": "retention"},
    EventKind.RETENTION_CAPACITY: {"ok": True, "message": "fits", "needed_bytes": 1, "available_bytes": 2},
    EventKind.RETENTION_HOLD_PLACED: {"id": "hold-1", "camera": None, "start": T, "end": T, "reason": "case",
                                      "placed_at": T, "released_at": None, "by": "officer"},
    EventKind.RETENTION_HOLD_RELEASED: {"id": "hold-1", "camera": "cam-01", "start": T, "end": T, "reason": "case",
                                        "placed_at": T, "released_at": T, "by": "officer"},
    EventKind.SEAT_STATE: {"seat": "A1", "customer": "acme", "covered": False, "reasons": ["occluded"],
                           "camera": "cam-01", "occupied": True, "evidence": None,
                           "views": [{"camera": "cam-01", "reasons": ["occluded"], "screen_px": 900,
                                      "occlusion": 0.5, "person_seen": True, "screen_seen": None,
                                      "detections": [[1, 2, 3, 4, "person", 0.9]]}]},
    EventKind.SITE_COVERAGE: {"percent": 87.5, "seats": 8, "covered": 7},
    EventKind.COVERAGE_GAP: {"since": T, "until": "2026-11-25T09:00:00+00:00", "seats": ["A1"]},
    EventKind.GATE_DECISION: {"gate": "g1", "at": T, "direction": "entry", "person": "p1", "granted": True,
                              "reason": "ok", "card": "h10301:1:2"},
    EventKind.GATE_PASSAGE: {"gate": "g1", "at": T, "direction": "exit", "person": None, "cause": "forced",
                             "area_from": "inside", "area_to": None},
    EventKind.GATE_GRANT_CANCELLED: {"gate": "g1", "at": T, "direction": "entry", "person": "p1",
                                     "reason": "timeout"},
    EventKind.GATE_PASSBACK_RESET: {"person": None},
    EventKind.GATE_STATE: {"gate": "g1", "state": "locked", "online": True},
    EventKind.NETWORK_CHANGE_REFUSED: {"change": "chg-1", "reason": "bad_signature", "detail": "no"},
    EventKind.NETWORK_CHANGE_STARTED: {"change": "chg-1", "devices": ["sw-1"]},
    EventKind.NETWORK_CHANGE_PROGRESS: {"change": "chg-1", "device": "sw-1", "status": "sending"},
    EventKind.NETWORK_CHANGE_RESULT: {"change": "chg-1", "status": "applied",
                                      "devices": [{"device": "sw-1", "status": "saved", "error": "",
                                                   "sent": ["vlan 10"], "rollback": [], "seconds": 1.25}]},
    EventKind.NETWORK_DRIFT: {"device": "sw-1", "in_sync": False, "repair": ["no permit"], "vlans": {"10": False},
                              "intended": ["a"], "actual": ["b"], "diff": ["-a", "+b"]},
    EventKind.VPN_PEER_APPLIED: {"change": "vpn-1", "action": "add", "customer": "acme", "public_key": "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk=",
                                 "address": "10.200.0.2", "lines": ["wg set sgwg0 peer kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk= allowed-ips 10.200.0.2/32"]},
    EventKind.VPN_PEER_REFUSED: {"change": "vpn-1", "reason": "bad_signature", "detail": "no"},
    EventKind.VPN_PEER_REVOKED: {"customer": "acme", "public_key": "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk=", "address": "10.200.0.2",
                                 "officer": "p-001", "reason": "laptop lost", "seconds": 0.03},
}
ALARMS: dict[str, dict[str, Any]] = {
    **{a.event: ALARM for a in AlarmKind},
    AlarmKind.TAILGATING.event: {**ALARM, "gate": "g1", "person": "p1", "direction": "entry", "count": 2,
                                 "expected": 1},
    AlarmKind.CAMERA_COVERED.event: {**ALARM, "camera": "cam-01", "metrics": {"mean_luma": 3.5, "note": None},
                                     "evidence": "x.jpg", "frame_jpeg_b64": "AAAA"},
    AlarmKind.RECORDING_GAP.event: {**ALARM, "camera": "cam-01", "gap_start": T, "gap_end": T, "seconds": 12.5},
    AlarmKind.SEAT_UNCOVERED.event: {**ALARM, "customer": "acme", "seat": "A1", "reasons": ["camera_offline"],
                                     "camera": None, "evidence": None, "frame_jpeg_b64": None},
    AlarmKind.NETWORK_DRIFT.event: {**ALARM, "device": "sw-1"},
    AlarmKind.RETENTION_DISK_CRITICAL.event: {**ALARM, "days_left": 1.5},
    AlarmKind.CAMERA_UNREGISTERED.event: {**ALARM, "xaddrs": ["http://10.0.0.9/onvif"]},
}
BODIES = {**EVENTS, **ALARMS}

COMMANDS: dict[CommandName, tuple[dict[str, Any], dict[str, Any]]] = {
    CommandName.PING: ({}, {"pong": T}),
    CommandName.STATUS: ({}, {"video": {"cam-01": {"state": "recording"}}, "gate_states": {}, "seats": {},
                              "uptime_s": 1.5, "site": "site-1", "cameras": 1, "gates": 0, "switches": 0,
                              "sent_events": 3, "acked_events": 3, "pending_events": 0, "config_hash": "c"}),
    CommandName.RELOAD_CONFIG: ({}, {"reloading": True}),
    CommandName.SET_CREDENTIALS: (
        {"site": "site-1", "version": "v" * 64,
         "people": [{"person": "p1", "name": "Li Lei", "role": "annotator", "customers": ["acme"], "active": True,
                     "badges": [{"format": "h10301", "facility": 1, "number": 2}], "training_status": "current",
                     "training": {"completed": "2026-01-01", "expires": "2027-01-01", "recorded_by": "off"}}]},
        {"people": 1, "version": "v" * 64}),
    CommandName.RESET_PASSBACK: ({"person": "p1"}, {"reset": "p1"}),
    CommandName.RELEASE_GATES: (
        {"on": False, "reset_passback": ["p1", "p2"]},
        {"on": False, "lanes": [{"gate": "gate-main", "at": "2026-03-02T09:00:00.000000Z", "state": "locked",
                                 "online": True}], "reset": 2}),
    CommandName.NETWORK_APPLY: (
        {"change": "chg-1", "devices": {"sw-1": {"vendor": "cisco_ios", "before": {}, "after": {"10": []},
                                                 "commands": ["vlan 10"]}},
         "approvals": [{"change_id": "chg-1", "customer": "acme", "expires": T, "signature": "c2ln"}]},
        {"accepted": "chg-1", "devices": ["sw-1"]}),
    CommandName.NETWORK_DRIFT_CHECK: ({}, {"started": True}),
    CommandName.VPN_APPLY: (
        {"change": "vpn-1", "action": "add", "peer": {"public_key": "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk=", "address": "10.200.0.2", "customer": "acme"},
         "lines": ["wg set sgwg0 peer kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk= allowed-ips 10.200.0.2/32"],
         "approvals": [{"change_id": "vpn-1", "customer": "acme", "expires": T, "signature": "c2ln"}]},
        {"applied": "vpn-1", "action": "add", "public_key": "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk="}),
    CommandName.VPN_REVOKE: ({"public_key": "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk=", "officer": "p-001", "reason": "lost"},
                             {"revoked": "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk=", "seconds": 0.03}),
    CommandName.VPN_STATUS: ({}, {"peers": [{"public_key": "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk=", "customer": "acme", "down": False}]}),
    CommandName.SNAPSHOT: ({"camera": "cam-01"}, {"jpeg_b64": "AAAA"}),
    CommandName.SEGMENT_CHUNK: ({"camera": "cam-01", "seq": 1, "offset": 0, "length": 1024},
                                {"data_b64": "AAAA", "size": 3}),
    CommandName.AUDIT_RECORDINGS: ({}, {"ok": True, "records_checked": 4, "problems": []}),
    CommandName.LEGAL_HOLD: ({"action": "place", "id": "hold-1", "camera": None, "start": T, "end": T,
                              "reason": "case", "by": "off"},
                             {"id": "hold-1", "camera": None, "start": T, "end": T, "reason": "case",
                              "placed_at": T, "released_at": None}),
    CommandName.SEAT_FRAME: ({"seat": "A1", "customer": None},
                             {"seat": "A1", "camera": "cam-01", "width": 640, "height": 360, "judged_at": 1.5,
                              "jpeg_b64": None, "seats": [{"seat": "A1", "customer": "acme",
                                                           "seat_zone": [[0, 0], [1, 1.5]], "screen_zone": []}],
                              "detections": [], "reasons": None, "covered": None, "occupied": None}),
}


def _refused(read, body, field: str | None = None) -> WireError:
    with pytest.raises(WireError) as exc:
        read(body)
    assert exc.value.reason == "malformed_body"
    if field is not None:
        assert field in str(exc.value)
    return exc.value


def _wrong(value: Any) -> Any:
    """A value of another JSON type than `value`'s."""
    if value is None:
        return [{}]
    if isinstance(value, bool):
        return "yes"
    if isinstance(value, (int, float)):
        return "12"
    if isinstance(value, str):
        return 12345
    if isinstance(value, list):
        return "x"
    return ["x"]


def test_every_kind_and_command_has_a_model_and_a_sample():
    assert set(P.EVENT_MODELS) == EVENT_KINDS == set(BODIES)
    assert set(P.COMMAND_MODELS) == set(CommandName) == set(COMMANDS)


@pytest.mark.parametrize("kind", sorted(BODIES))
def test_every_kind_round_trips_unchanged(kind):
    body = BODIES[kind]
    model = P.read_event(kind, body)
    assert type(model) is P.EVENT_MODELS[kind]
    assert P.build_event(kind, model) == body == P.build_event(kind, body)
    assert json.loads(json.dumps(P.build_event(kind, model))) == body
    with pytest.raises(Exception):  # frozen
        setattr(model, next(iter(body)), None)


@pytest.mark.parametrize("kind", sorted(BODIES))
def test_every_kind_refuses_extra_missing_mistyped_and_huge_fields(kind):
    body, model = BODIES[kind], P.EVENT_MODELS[kind]
    read = lambda b: P.read_event(kind, b)  # noqa: E731
    _refused(read, {**body, "unexpected": 1}, "unexpected")
    for name, field in model.model_fields.items():
        if field.is_required():
            _refused(read, {k: v for k, v in body.items() if k != name}, name)
    for name, value in body.items():
        _refused(read, {**body, name: _wrong(value)}, name)
        if isinstance(value, str):
            _refused(read, {**body, name: "x" * 1_000_000}, name)
    _refused(read, "not a body")
    _refused(read, None)


def test_a_raised_alarm_needs_severity_and_message_a_cleared_one_only_its_source():
    kind = AlarmKind.DOOR_HELD.event
    _refused(lambda b: P.read_event(kind, b), {"source": "gate:g1"}, "severity and message")
    cleared = P.read_event(kind, {"source": "gate:g1", "state": "cleared"})
    assert cleared.cleared and cleared.source == "gate:g1"
    _refused(lambda b: P.read_event(kind, b), {"source": "gate:g1", "state": "raised"}, "state")


def test_timestamps_need_an_offset():
    body = EVENTS[EventKind.GATE_STATE]
    assert P.read_event(EventKind.GATE_STATE, body).online is True
    for bad in ("2026-11-25T08:00:00", "yesterday", "2026-13-01T00:00:00Z"):
        _refused(lambda b: P.read_event(EventKind.GATE_DECISION, b),
                 {**EVENTS[EventKind.GATE_DECISION], "at": bad}, "at")


def test_a_body_of_another_kind_is_refused():
    with pytest.raises(WireError, match="GateState"):
        P.build_event(EventKind.GATE_PASSAGE, P.GateState(gate="g1", state="locked", online=True))


@pytest.mark.parametrize("kind", ["gate.teleport", "alarm.unicorn", "", 5])
def test_an_unknown_kind_is_refused_by_its_own_reason(kind):
    with pytest.raises(WireError) as exc:
        P.read_event(kind, {})
    assert exc.value.reason == "unknown_kind"


@pytest.mark.parametrize("name", list(CommandName))
def test_every_command_round_trips_its_args_and_result(name):
    args, result = COMMANDS[name]
    assert P.build_command_args(name, P.read_command_args(name, args)) == args
    assert P.build_command_result(name, P.read_command_result(name, result)) == result
    assert P.build_command_args(name.value, args) == args


@pytest.mark.parametrize("name", list(CommandName))
def test_every_command_refuses_bad_args_and_results(name):
    args, result = COMMANDS[name]
    for read, body in ((lambda b: P.read_command_args(name, b), args),
                       (lambda b: P.read_command_result(name, b), result)):
        _refused(read, {**body, "unexpected": 1}, "unexpected")
        for key, value in body.items():
            if key in ("before", "after"):
                continue  # a change's ACL documents are checked by the edge's own parser
            _refused(read, {**body, key: _wrong(value)}, key)
            if isinstance(value, str):
                _refused(read, {**body, key: "x" * 1_000_000}, key)
        _refused(read, [])


def test_legal_hold_args_say_what_each_action_needs():
    assert P.read_command_args(CommandName.LEGAL_HOLD, {"action": "list"}).action == "list"
    _refused(lambda b: P.read_command_args(CommandName.LEGAL_HOLD, b), {"action": "release"}, "id")
    _refused(lambda b: P.read_command_args(CommandName.LEGAL_HOLD, b), {"action": "place", "id": "h"}, "start")
    assert P.read_command_result(CommandName.LEGAL_HOLD, {"holds": []}) == P.HoldList(holds=[])


def test_a_vpn_rotation_names_the_key_it_replaces_and_only_a_rotation_does():
    args, _ = COMMANDS[CommandName.VPN_APPLY]
    old = "o" * 43 + "="
    read = lambda b: P.read_command_args(CommandName.VPN_APPLY, b)  # noqa: E731
    rotate = {**args, "action": "rotate", "replaces": old}
    assert read(rotate).replaces == old
    assert P.build_command_args(CommandName.VPN_APPLY, read(rotate)) == rotate
    assert "replaces" not in P.build_command_args(CommandName.VPN_APPLY, read(args))
    _refused(read, {**args, "action": "rotate"}, "replaces")
    _refused(read, {**args, "replaces": old}, "replaces")
    _refused(read, {**rotate, "replaces": old + "x"}, "replaces")
    _refused(read, {**args, "action": "swap"}, "action")
    assert P.read_command_result(CommandName.VPN_APPLY, {"applied": "vpn-1", "action": "rotate",
                                                          "public_key": old}).action == "rotate"


def test_an_unknown_command_is_refused_by_its_own_reason():
    with pytest.raises(WireError) as exc:
        P.read_command_args("format_disk", {})
    assert exc.value.reason == "unknown_command"


FIELD_NAMES = sorted({k for b in BODIES.values() for k in b} | {k for a, r in COMMANDS.values() for k in {**a, **r}})
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=50),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=20)
bodies = st.dictionaries(st.sampled_from(FIELD_NAMES) | st.text(max_size=10), json_values, max_size=12)


@settings(max_examples=300, deadline=None)
@given(kind=st.sampled_from(sorted(BODIES)), body=bodies)
def test_any_event_body_is_read_or_refused_never_anything_else(kind, body):
    try:
        model = P.read_event(kind, body)
    except WireError as exc:
        assert exc.reason == "malformed_body" and str(exc).startswith(kind)
    else:
        assert P.build_event(kind, model) == P.body_dict(model)


@settings(max_examples=200, deadline=None)
@given(name=st.sampled_from(list(CommandName)), body=bodies | json_values)
def test_any_command_body_is_read_or_refused_never_anything_else(name, body):
    for read in (P.read_command_args, P.read_command_result):
        try:
            read(name, body)
        except WireError as exc:
            assert exc.reason == "malformed_body"


@settings(max_examples=100, deadline=None)
@given(kind=st.sampled_from(sorted(BODIES)), field=st.sampled_from(FIELD_NAMES), value=json_values)
def test_one_field_changed_is_read_or_refused(kind, field, value):
    try:
        P.read_event(kind, {**BODIES[kind], field: value})
    except WireError as exc:
        assert exc.reason == "malformed_body"


def test_deep_nesting_is_refused_not_crashed():
    deep: Any = []
    for _ in range(5000):
        deep = [deep]
    _refused(lambda b: P.read_event(EventKind.NETWORK_DRIFT, b), {**EVENTS[EventKind.NETWORK_DRIFT], "diff": deep})
