"""The edge agent's local SQLite: the durable event outbox and a small key/value state.

Every event is committed here before anything tries to send it, and leaves only when the
controller has acknowledged it (i.e. committed it itself). Other processes on the appliance may
append too: SQLite's WAL and a busy timeout keep concurrent writers safe.
"""
from __future__ import annotations

import datetime as dt
import json
import sqlite3
import threading
from pathlib import Path
from typing import Any, Iterable

from edge_agent.wire.messages import MAX_EVENT_DATA_BYTES, Event

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    seq  INTEGER PRIMARY KEY AUTOINCREMENT,  -- AUTOINCREMENT: a seq is never reused
    ts   TEXT NOT NULL,
    kind TEXT NOT NULL,
    data TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


def iso_now() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class EdgeStore:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, timeout=30, check_same_thread=False,
                                   isolation_level=None)
        self._lock = threading.Lock()
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")  # an appended event survives power loss
            self._db.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # --- outbox ------------------------------------------------------------------------------

    def append(self, kind: str, data: dict[str, Any] | None = None, ts: str | None = None) -> int:
        return self.append_many([(kind, data or {}, ts)])[-1]

    def append_many(self, items: Iterable[tuple[str, dict[str, Any], str | None]]) -> list[int]:
        rows = []
        for kind, data, ts in items:
            raw = json.dumps(data, separators=(",", ":"), sort_keys=True)
            if len(raw) > MAX_EVENT_DATA_BYTES:
                raise ValueError(f"event {kind}: data of {len(raw)} bytes exceeds the limit")
            Event(seq=1, ts=ts or iso_now(), kind=kind, data=data)  # validate before storing
            rows.append((ts or iso_now(), kind, raw))
        seqs = []
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                for row in rows:
                    seqs.append(self._db.execute(
                        "INSERT INTO outbox (ts, kind, data) VALUES (?, ?, ?)", row).lastrowid)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return seqs

    def pending(self, limit: int, after_seq: int = 0, max_bytes: int = 768 << 10) -> list[Event]:
        """The oldest unacked events after `after_seq`, at most `limit` and about `max_bytes`."""
        with self._lock:
            rows = self._db.execute(
                "SELECT seq, ts, kind, data FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?",
                (after_seq, limit),
            ).fetchall()
        out, size = [], 0
        for seq, ts, kind, data in rows:
            size += len(data) + len(kind) + len(ts) + 40
            if out and size > max_bytes:
                break
            out.append(Event(seq=seq, ts=ts, kind=kind, data=json.loads(data)))
        return out

    def pending_count(self) -> int:
        with self._lock:
            return self._db.execute("SELECT count(*) FROM outbox").fetchone()[0]

    def ack(self, seqs: list[int]) -> None:
        if not seqs:
            return
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.executemany("DELETE FROM outbox WHERE seq = ?", [(s,) for s in seqs])
            self._db.execute("COMMIT")

    # --- state -------------------------------------------------------------------------------

    def get(self, key: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT value FROM state WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def put(self, key: str, value: str) -> None:
        with self._lock:
            self._db.execute("INSERT INTO state (key, value) VALUES (?, ?) "
                             "ON CONFLICT(key) DO UPDATE SET value = excluded.value", (key, value))
