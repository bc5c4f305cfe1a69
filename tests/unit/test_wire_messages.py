"""The wire codec refuses everything that is not exactly one known message."""
from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge_agent.wire import messages as m


def test_round_trip():
    msg = m.Events(events=[m.Event(seq=3, ts="2026-11-25T00:00:00Z", kind="gate.pass", data={"n": 1})])
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
    raw = json.dumps({"type": "events", "events": [{"seq": 1, "ts": "t", "kind": "k", "data": big}]})
    with pytest.raises(m.WireError, match="data exceeds"):
        m.decode_from_agent(raw.encode())
    too_many = [{"seq": i + 1, "ts": "t", "kind": "k"} for i in range(m.MAX_EVENTS_PER_BATCH + 1)]
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
