"""The wire's names: every event kind the edge emits and every command the controller sends is
in the enums of edge_agent.wire.kinds, the codec refuses any other, and the edge code names
kinds only through the enums."""
from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from access_control.alarms import ALARM_KINDS
from camera.tamper import KINDS as TAMPER_KINDS
from edge_agent.wire import messages as m
from edge_agent.wire.kinds import EVENT_KINDS, AlarmKind, CommandName, EventKind

EDGE = Path(__file__).resolve().parents[2] / "edge_agent"
# Calls that take an event kind (append) or an alarm kind (the rest) as first argument.
KIND_CALLS = {"append", "append_many", "raise_alarm", "clear_alarm", "alarm_active", "_raise_alarm", "_clear_alarm"}


def _bare_kinds(path: Path) -> list[str]:
    """First arguments of kind-taking calls that are a string literal or an f-string."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr in KIND_CALLS and node.args
                and isinstance(node.args[0], (ast.Constant, ast.JoinedStr))
                and not (isinstance(node.args[0], ast.Constant) and not isinstance(node.args[0].value, str))):
            found.append(f"{path.name}:{node.lineno}: {ast.unparse(node.args[0])}")
    return found


def test_the_edge_names_every_kind_through_the_enums():
    sources = [p for p in EDGE.glob("*.py")]
    assert len(sources) > 5
    assert [hit for p in sources for hit in _bare_kinds(p)] == []


def test_the_scan_sees_a_bare_kind(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text('store.append("gate.passage", {})\ntx.raise_alarm(f"camera_{k}", {})\n'
                      "store.append(EventKind.GATE_PASSAGE, {})\nitems.append(1)\n")
    assert _bare_kinds(sample) == ['sample.py:1: \'gate.passage\'', "sample.py:2: f'camera_{k}'"]


def test_alarms_built_from_domain_kinds_are_all_known():
    """The gate service and camera workers turn domain alarm kinds into AlarmKind at run time."""
    assert {AlarmKind(k) for k in ALARM_KINDS}
    assert {AlarmKind(f"camera_{k}") for k in TAMPER_KINDS}


def test_alarm_events_and_plain_events_do_not_overlap():
    assert all(not k.startswith("alarm.") for k in EventKind)
    assert len(EVENT_KINDS) == len(EventKind) + len(AlarmKind)
    assert AlarmKind.TAILGATING.event == "alarm.tailgating"


@pytest.mark.parametrize("kind", sorted(EVENT_KINDS))
def test_every_kind_round_trips_as_its_plain_string(kind):
    raw = m.encode(m.Events(events=[m.Event(seq=1, ts="2026-12-01T00:00:00Z", kind=kind, data={"a": 1})]))
    assert json.loads(raw)["events"][0]["kind"] == kind
    (ev,) = m.decode_from_agent(raw).events
    assert ev.kind == kind and type(ev.kind) is str


def test_enum_members_are_stored_as_plain_strings():
    ev = m.Event(seq=1, ts="t", kind=EventKind.SEAT_STATE)
    assert type(ev.kind) is str and ev.kind == "seat.state"
    assert m.Event(seq=1, ts="t", kind=AlarmKind.DOOR_HELD.event).kind == "alarm.door_held"


@pytest.mark.parametrize("name", list(CommandName))
def test_every_command_round_trips(name):
    raw = m.encode(m.Command(id="c1", name=name, args={"x": 1}))
    assert json.loads(raw)["name"] == name.value
    cmd = m.decode_from_controller(raw)
    assert cmd.name is name


@pytest.mark.parametrize("kind", ["gate.teleport", "alarm.unicorn", "alarm.", "seat.state.extra"])
def test_an_unknown_kind_is_refused_by_name(kind):
    raw = json.dumps({"type": "events", "events": [{"seq": 1, "ts": "t", "kind": kind}]}).encode()
    with pytest.raises(m.WireError) as exc:
        m.decode_from_agent(raw)
    assert exc.value.reason == "unknown_kind" and kind in str(exc.value)


def test_an_unknown_kind_is_refused_before_it_reaches_the_outbox(tmp_path):
    from edge_agent.store import EdgeStore

    store = EdgeStore(tmp_path / "edge.db")
    with pytest.raises(ValueError, match="unknown event kind"):
        store.append("gate.teleport", {})
    with pytest.raises(ValueError):
        store.raise_alarm("unicorn", {"source": "x"})
    assert store.pending_count() == 0


def test_an_unknown_command_is_refused_by_name():
    raw = b'{"type":"command","id":"c1","name":"format_disk","args":{}}'
    with pytest.raises(m.WireError) as exc:
        m.decode_from_controller(raw)
    assert exc.value.reason == "unknown_command" and "format_disk" in str(exc.value)
    with pytest.raises(ValueError):
        m.Command(id="c1", name="format_disk")


def test_other_faults_keep_the_malformed_reason():
    with pytest.raises(m.WireError) as exc:
        m.decode_from_agent(b'{"type":"events","events":[{"seq":1,"ts":"t","kind":"Bad Kind"}]}')
    assert exc.value.reason == "malformed"


def test_every_command_has_exactly_one_handler_on_the_edge():
    from edge_agent.agent import EdgeAgent

    agent = EdgeAgent.__new__(EdgeAgent)  # the handler table needs no running agent
    assert set(agent._command_handlers()) == set(CommandName)


def test_a_command_for_a_service_not_running_answers_with_its_reason():
    from edge_agent.agent import EdgeAgent

    sent = []
    agent = EdgeAgent.__new__(EdgeAgent)
    agent.video = None
    agent.link = type("Link", (), {"send": staticmethod(sent.append)})()
    agent._run_command(m.Command(id="c1", name=CommandName.SNAPSHOT, args={"camera": "cam-01"}))
    (reply,) = sent
    assert not reply.ok and reply.error == "video is not running on this agent"
