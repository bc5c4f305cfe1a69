"""Refused edge handshakes are counted per source and window, in bounded memory."""
from __future__ import annotations

import secrets

from controller.refusals import OTHER, SAMPLE_KEYS, RefusalCounter


def test_many_keys_from_one_source_make_one_alarm_and_one_record():
    c = RefusalCounter(window_s=60)
    for i in range(200):
        c.note("10.0.0.9", secrets.token_hex(20), now=i * 0.1)
    fresh = c.to_alarm()
    assert [w.source for w in fresh] == ["10.0.0.9"]
    assert c.to_alarm() == []  # one alarm per source and window
    assert c.closed(now=30) == []
    (w,) = c.closed(now=61)
    rec = w.record()
    assert rec["refusals"] == 200 and rec["distinct_keys"] == 200 and len(rec["sample_keys"]) == SAMPLE_KEYS
    assert len(c) == 0


def test_the_same_key_retrying_counts_once_as_distinct():
    c = RefusalCounter()
    for i in range(50):
        c.note("10.0.0.9", "k" * 40, now=i)
    (w,) = c.to_alarm()
    assert w.count == 50 and w.distinct == 1


def test_memory_is_bounded_whatever_the_number_of_sources():
    c = RefusalCounter(max_sources=16)
    for i in range(10_000):
        c.note(f"10.{i // 256 % 256}.{i % 256}.1", secrets.token_hex(20), now=0)
    assert len(c) <= 17
    other = next(w for w in c.to_alarm() if w.source == OTHER)
    assert other.count == 10_000 - 16
    assert len(other._seen) <= 4096 and len(other.sample) == SAMPLE_KEYS


def test_a_new_window_alarms_again_after_the_last_closed():
    c = RefusalCounter(window_s=60)
    c.note("a", "k1", now=0)
    assert len(c.to_alarm()) == 1
    c.closed(now=60)
    c.note("a", "k2", now=61)
    assert [w.count for w in c.to_alarm()] == [1]
