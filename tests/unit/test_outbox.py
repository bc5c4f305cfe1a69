"""The edge outbox: durable, ordered, seqs never reused, acked events leave."""
from __future__ import annotations

import pytest

from edge_agent.store import EdgeStore


def test_seqs_are_never_reused_after_acks(tmp_path):
    store = EdgeStore(tmp_path / "edge.db")
    seqs = store.append_many([("agent.started", {"i": i}, None) for i in range(5)])
    assert seqs == [1, 2, 3, 4, 5]
    store.ack(seqs)
    assert store.pending_count() == 0
    store.close()
    reopened = EdgeStore(tmp_path / "edge.db")
    assert reopened.append("agent.started") == 6


def test_pending_is_ordered_windowed_and_bounded(tmp_path):
    store = EdgeStore(tmp_path / "edge.db")
    store.append_many([("gate.state", {"blob": "x" * 1000}, None) for _ in range(50)])
    batch = store.pending(100, after_seq=10, max_bytes=5000)
    assert [e.seq for e in batch] == [11, 12, 13, 14]
    store.ack([12])
    assert [e.seq for e in store.pending(3)] == [1, 2, 3]
    assert 12 not in [e.seq for e in store.pending(100)]


def test_invalid_events_are_refused_before_storage(tmp_path):
    store = EdgeStore(tmp_path / "edge.db")
    with pytest.raises(ValueError):
        store.append("Bad Kind!", {})
    with pytest.raises(ValueError):
        store.append("gate.state", {"blob": "x" * 70_000})
    assert store.pending_count() == 0
