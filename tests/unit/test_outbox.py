"""The edge outbox: durable, ordered, seqs never reused, acked events leave."""
from __future__ import annotations

import pytest

from edge_agent.store import EdgeStore


def test_seqs_are_never_reused_after_acks(tmp_path):
    store = EdgeStore(tmp_path / "edge.db")
    seqs = store.append_many([("agent.started", {"site": f"site-{i}", "config_hash": ""}, None) for i in range(5)])
    assert seqs == [1, 2, 3, 4, 5]
    store.ack(seqs)
    assert store.pending_count() == 0
    store.close()
    reopened = EdgeStore(tmp_path / "edge.db")
    assert reopened.append("config.applied", {"config_hash": "h"}) == 6


def test_pending_is_ordered_windowed_and_bounded(tmp_path):
    store = EdgeStore(tmp_path / "edge.db")
    store.append_many([("camera.state", {"camera": "cam-01", "state": "recording", "detail": "x" * 1000}, None)
                       for _ in range(50)])
    batch = store.pending(100, after_seq=10, max_bytes=5000)
    assert [e.seq for e in batch] == [11, 12, 13, 14]
    store.ack([12])
    assert [e.seq for e in store.pending(3)] == [1, 2, 3]
    assert 12 not in [e.seq for e in store.pending(100)]


def test_invalid_events_are_refused_before_storage(tmp_path):
    store = EdgeStore(tmp_path / "edge.db")
    with pytest.raises(ValueError):
        store.append("Bad Kind!", {})
    with pytest.raises(ValueError, match="exceeds"):
        store.append("coverage.gap", {"since": "2026-01-01T00:00:00Z", "until": "2026-01-01T01:00:00Z",
                                      "seats": ["s" * 64] * 1000})
    with pytest.raises(ValueError, match="blob"):
        store.append("gate.state", {"gate": "g1", "state": "locked", "online": True, "blob": "x"})
    with pytest.raises(ValueError, match="online"):
        store.append("gate.state", {"gate": "g1", "state": "locked"})
    assert store.pending_count() == 0
