"""The edge agent's local SQLite: the durable event outbox, alarm state, evidence frames and a
small key/value state. The segment index (retention/segments.py) lives in the same file.

Every event is committed here before anything tries to send it, and leaves only when the
controller has acknowledged it (i.e. committed it itself). A fact and its report are one
transaction (``transaction()``, or ``Tx`` over the segment index's connection on this file), so a
crash keeps both or neither. Other processes on the appliance may append too: SQLite's WAL and a
busy timeout keep concurrent writers safe.
"""
from __future__ import annotations

import datetime as dt
import json
import sqlite3
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping

from pydantic import BaseModel

from edge_agent.wire.kinds import AlarmKind
from edge_agent.wire.messages import MAX_EVENT_DATA_BYTES, Event
from edge_agent.wire.payloads import body_dict, build_event

# An event's body: its kind's model from edge_agent.wire.payloads, or a mapping that must fit it.
Body = BaseModel | Mapping[str, Any]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    seq  INTEGER PRIMARY KEY AUTOINCREMENT,  -- AUTOINCREMENT: a seq is never reused
    ts   TEXT NOT NULL,
    kind TEXT NOT NULL,
    data TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
-- alarms this edge has raised and not yet cleared: a restart neither forgets nor repeats them
CREATE TABLE IF NOT EXISTS alarms (
    kind      TEXT NOT NULL,
    source    TEXT NOT NULL,
    raised_at TEXT NOT NULL,
    PRIMARY KEY (kind, source)
);
-- evidence frames (alarm pictures) written, and when their retention deleted them
CREATE TABLE IF NOT EXISTS evidence (
    camera     TEXT NOT NULL,
    name       TEXT NOT NULL,
    taken_at   TEXT NOT NULL,
    deleted_at TEXT,
    PRIMARY KEY (camera, name)
);
"""


def iso_now() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _event_row(kind: str, data: Body | None, ts: str | None) -> tuple[str, str, str]:
    ts = ts or iso_now()
    kind = Event(seq=1, ts=ts, kind=kind).kind  # a known kind, and a plain string
    data = build_event(kind, data)  # the body fits the kind's model (WireError, a ValueError, if not)
    raw = json.dumps(data, separators=(",", ":"), sort_keys=True)
    if len(raw) > MAX_EVENT_DATA_BYTES:
        raise ValueError(f"event {kind}: data of {len(raw)} bytes exceeds the limit")
    return ts, kind, raw


class Tx:
    """Writes inside one open transaction on a connection to the edge store's file: what is
    written through one Tx commits or rolls back together."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def append(self, kind: str, data: Body | None = None, ts: str | None = None) -> int:
        return self.db.execute("INSERT INTO outbox (ts, kind, data) VALUES (?, ?, ?)",
                               _event_row(kind, data, ts)).lastrowid

    def alarm_active(self, kind: AlarmKind | str, source: str) -> bool:
        return self.db.execute("SELECT 1 FROM alarms WHERE kind = ? AND source = ?",
                               (AlarmKind(kind).value, source)).fetchone() is not None

    def raise_alarm(self, kind: AlarmKind | str, data: Body) -> int | None:
        """Report alarm `kind` of data's source unless it is already raised; the event's seq."""
        kind = AlarmKind(kind)
        data = build_event(kind.event, data)
        source = _source(data)
        if self.alarm_active(kind, source):
            return None
        seq = self.append(kind.event, data)
        self.db.execute("INSERT INTO alarms (kind, source, raised_at) VALUES (?, ?, ?)",
                        (kind.value, source, iso_now()))
        return seq

    def clear_alarm(self, kind: AlarmKind | str, data: Body) -> int | None:
        """Report alarm `kind` of data's source cleared if it is raised; the event's seq."""
        kind = AlarmKind(kind)
        data = build_event(kind.event, {**body_dict(data), "state": "cleared"})
        source = _source(data)
        if not self.alarm_active(kind, source):
            return None
        self.db.execute("DELETE FROM alarms WHERE kind = ? AND source = ?", (kind.value, source))
        return self.append(kind.event, data)

    def record_evidence(self, camera: str, name: str, taken_at: str) -> None:
        self.db.execute("INSERT OR IGNORE INTO evidence (camera, name, taken_at) VALUES (?, ?, ?)",
                        (camera, name, taken_at))

    def evidence_deleted(self, camera: str, names: list[str], deleted_at: str) -> list[str]:
        """Mark frames deleted; the names not marked before (a frame kept from before the store
        knew frames gets its record now). Only those still need reporting."""
        fresh = []
        for name in names:
            row = self.db.execute("SELECT deleted_at FROM evidence WHERE camera = ? AND name = ?",
                                  (camera, name)).fetchone()
            if row is not None and row[0] is not None:
                continue
            self.db.execute("INSERT INTO evidence (camera, name, taken_at, deleted_at) VALUES (?, ?, '', ?) "
                            "ON CONFLICT(camera, name) DO UPDATE SET deleted_at = excluded.deleted_at",
                            (camera, name, deleted_at))
            fresh.append(name)
        return fresh


def _source(data: dict[str, Any]) -> str:
    source = data.get("source")
    if not isinstance(source, str) or not source:
        raise ValueError("an alarm needs a source")
    return source


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

    def append(self, kind: str, data: Body | None = None, ts: str | None = None) -> int:
        return self.append_many([(kind, data, ts)])[-1]

    def append_many(self, items: Iterable[tuple[str, Body | None, str | None]]) -> list[int]:
        rows = [_event_row(kind, data, ts) for kind, data, ts in items]
        with self.transaction() as tx:
            return [tx.db.execute("INSERT INTO outbox (ts, kind, data) VALUES (?, ?, ?)", row).lastrowid
                    for row in rows]

    @contextmanager
    def transaction(self) -> Iterator[Tx]:
        """One write transaction: everything written through the Tx commits together."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield Tx(self._db)
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

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

    # --- alarms ------------------------------------------------------------------------------

    def raise_alarm(self, kind: AlarmKind | str, data: Body) -> int | None:
        with self.transaction() as tx:
            return tx.raise_alarm(kind, data)

    def clear_alarm(self, kind: AlarmKind | str, data: Body) -> int | None:
        with self.transaction() as tx:
            return tx.clear_alarm(kind, data)

    def alarm_active(self, kind: AlarmKind | str, source: str) -> bool:
        with self._lock:
            return Tx(self._db).alarm_active(kind, source)

    def active_alarms(self) -> list[tuple[str, str]]:
        """(kind, source) of every alarm raised and not cleared."""
        with self._lock:
            return self._db.execute("SELECT kind, source FROM alarms ORDER BY kind, source").fetchall()

    # --- state -------------------------------------------------------------------------------

    def get(self, key: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT value FROM state WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def put(self, key: str, value: str) -> None:
        with self._lock:
            self._db.execute("INSERT INTO state (key, value) VALUES (?, ?) "
                             "ON CONFLICT(key) DO UPDATE SET value = excluded.value", (key, value))
