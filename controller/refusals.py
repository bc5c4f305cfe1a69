"""Refused edge-link handshakes, counted per source address and window in bounded memory.

Any stranger can try the CurveZMQ handshake with a fresh random key each time; one alarm and
one ledger entry per key would let it bury real alarms and grow a map without end. Instead each
source gets one window at a time: its first refusal asks for an alarm at once, and when the
window closes its count, distinct keys and a few sample keys go to the ledger in one entry.
"""
from __future__ import annotations

from dataclasses import dataclass, field

MAX_SOURCES = 256  # windows open at once; past it, refusals share the "other" window
SAMPLE_KEYS = 5
OTHER = "other"


@dataclass
class Window:
    source: str
    opened: float
    last: float
    count: int = 0
    distinct: int = 0
    sample: list[str] = field(default_factory=list)
    alarmed: bool = False
    _seen: set[int] = field(default_factory=set)  # short hashes of keys, capped

    def note(self, key: str, now: float) -> None:
        self.count += 1
        self.last = now
        h = hash(key)
        if h not in self._seen and len(self._seen) < 4096:
            self._seen.add(h)
            self.distinct += 1
            if len(self.sample) < SAMPLE_KEYS:
                self.sample.append(key)

    def record(self) -> dict:
        return {"source": self.source, "refusals": self.count, "distinct_keys": self.distinct,
                "sample_keys": list(self.sample), "window_s": round(self.last - self.opened, 1)}


class RefusalCounter:
    """Not thread-safe by itself: the link calls it under its own lock."""

    def __init__(self, window_s: float = 60.0, max_sources: int = MAX_SOURCES) -> None:
        self.window_s = window_s
        self.max_sources = max_sources
        self._open: dict[str, Window] = {}

    def note(self, source: str, key: str, now: float) -> None:
        w = self._open.get(source)
        if w is None:
            if len(self._open) >= self.max_sources:
                source = OTHER
                w = self._open.get(OTHER)
            if w is None:
                w = self._open[source] = Window(source, now, now)
        w.note(key, now)

    def to_alarm(self) -> list[Window]:
        """Windows whose source has not had its alarm yet; marks them as alarmed."""
        fresh = [w for w in self._open.values() if not w.alarmed]
        for w in fresh:
            w.alarmed = True
        return fresh

    def closed(self, now: float) -> list[Window]:
        """Windows that have run their length: removed, for the ledger."""
        done = [w for w in self._open.values() if now - w.opened >= self.window_s]
        for w in done:
            del self._open[w.source]
        return done

    def __len__(self) -> int:
        return len(self._open)
