"""The wire codec refuses everything that is not exactly one known message."""
from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge_agent.wire import messages as m


def test_round_trip():
    msg = m.Events(events=[m.Event(seq=3, ts="2026-11-25T00:00:00Z", kind="gate.passage", data={"n": 1})])
    assert m.decode_from_agent(m.encode(msg)) == msg
    ack = m.Ack(seqs=[3])
    assert m.decode_from_controller(m.encode(ack)) == ack


@pytest.mark.parametrize("raw,where", [
    (b"\x00\x01", "not UTF-8 JSON"),
    (b"{}", "type"),
    (b'{"type":"ack","seqs":[1]}', "does not match"),  # an agent may not send controller messages
    (b'{"type":"events","events":[]}', "events"),
    (b'{"type":"events","events":[{"seq":-1,"ts":"t","kind":"a"}]}', "seq"),
    (b'{"type":"events","events":[{"seq":1,"ts":"t","kind":"A B"}]}', "kind"),
    (b'{"type":"hello","site":"s","admin":true}', "admin"),
    (b'{"v":2,"type":"hello","site":"s"}', "v"),
])
def test_refusals(raw, where):
    with pytest.raises(m.WireError) as exc:
        m.decode_from_agent(raw)
    assert where in str(exc.value)


def test_size_limits():
    with pytest.raises(m.WireError, match="exceeds"):
        m.decode_from_agent(b" " * (m.MAX_MESSAGE_BYTES + 1))
    big = {"blob": "x" * (m.MAX_EVENT_DATA_BYTES + 1)}
    raw = json.dumps({"type": "events", "events": [{"seq": 1, "ts": "t", "kind": "gate.state", "data": big}]})
    with pytest.raises(m.WireError, match="data exceeds"):
        m.decode_from_agent(raw.encode())
    too_many = [{"seq": i + 1, "ts": "t", "kind": "gate.state"} for i in range(m.MAX_EVENTS_PER_BATCH + 1)]
    with pytest.raises(m.WireError):
        m.decode_from_agent(json.dumps({"type": "events", "events": too_many}).encode())


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_garbage_never_escapes_as_another_exception(raw):
    for decode in (m.decode_from_agent, m.decode_from_controller):
        try:
            decode(raw)
        except m.WireError:
            pass


# --- hostile structure: nesting, size, truncation, wrong types ---------------------------------

def _nested(depth: int, leaf: str = "1") -> str:
    return '{"a":' * depth + leaf + "}" * depth


@pytest.mark.parametrize("raw", [
    b"[" * 100_000,  # past the parser's recursion limit: RecursionError before the fix
    b"[" * 100_000 + b"]" * 100_000,
    ('{"type":"heartbeat","ts":"t","status":' + _nested(5000) + "}").encode(),
    ('{"type":"reply","id":"x","ok":true,"result":' + _nested(m.MAX_NESTING) + "}").encode(),
])
def test_deep_nesting_is_a_refused_frame(raw):
    for decode in (m.decode_from_agent, m.decode_from_controller):
        with pytest.raises(m.WireError, match="nested"):
            decode(raw)


def test_nesting_inside_strings_does_not_count():
    status = {"note": "[" * 500 + '\\"{' * 200}
    msg = m.Heartbeat(ts="t", status=status)
    assert m.decode_from_agent(m.encode(msg)) == msg
    ok = m.Reply(id="x", ok=True, result=json.loads(_nested(m.MAX_NESTING - 2)))
    assert m.decode_from_agent(m.encode(ok)) == ok


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=40,
)
real_messages = st.sampled_from([
    m.Hello(site="demo"), m.Heartbeat(ts="t", status={"cameras": {"cam-01": {"state": "ok"}}}),
    m.Events(events=[m.Event(seq=1, ts="t", kind="seat.state", data={"seat": "A1", "boxes": [[1, 2, 3, 4]]})]),
    m.Reply(id="c1", ok=True, result={"x": [1, {"y": 2}]}),
])


@settings(max_examples=300, deadline=None)
@given(real_messages, st.integers(min_value=0, max_value=400), st.integers(min_value=1, max_value=3000))
def test_truncated_and_deepened_frames_are_refused_cleanly(msg, cut, depth):
    raw = m.encode(msg)
    for bad in (raw[:cut] if cut < len(raw) else raw[:-1],
                raw.replace(b"{", b"{" * 2, 1) if depth < 3 else raw,
                raw[:-1] + b"," + _nested(depth).encode()[1:] + b"}"):
        try:
            m.decode_from_agent(bad)
        except m.WireError:
            pass


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(["hello", "heartbeat", "events", "reply", "ack", "nope"]),
       st.dictionaries(st.sampled_from(["v", "site", "ts", "events", "id", "ok", "result", "status",
                                        "pending", "config_hash", "seq", "kind", "data"]),
                       json_values, max_size=6))
def test_mistyped_fields_are_refused_cleanly(kind, fields):
    raw = json.dumps({"type": kind, **fields}).encode()
    try:
        m.decode_from_agent(raw)
    except m.WireError:
        pass


@settings(max_examples=30, deadline=None)
@given(st.integers(min_value=m.MAX_MESSAGE_BYTES - 64, max_value=m.MAX_MESSAGE_BYTES + 64))
def test_frames_around_the_size_limit_are_refused_cleanly(size):
    head = b'{"type":"heartbeat","ts":"t","status":{"pad":"'
    raw = head + b"x" * max(0, size - len(head) - 3) + b'"}}'
    try:
        m.decode_from_agent(raw)
    except m.WireError as exc:
        assert len(raw) > m.MAX_MESSAGE_BYTES and "exceeds" in str(exc)
