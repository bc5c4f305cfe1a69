"""The edge agent's segment index (SQLite) and segment files on disk.

The imperative shell around policy.py and chain.py: it stores, moves, hashes
and unlinks, and leaves every decision to the pure functions. Two rules are
enforced here because only I/O can enforce them:

- a segment's chain link is computed in the same write transaction that
  assigns its seq, so two writers can never fork a camera's chain;
- check_deletion_allowed runs immediately before each file is removed, with
  legal holds read fresh, and a deletion is recorded as a tombstone before
  the unlink, so an interrupted purge leaves a harmless extra file rather than
  a missing one the audit would flag.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import re
import sqlite3
import threading
from collections.abc import Callable
from typing import Any
from datetime import datetime, timedelta, timezone
from pathlib import Path

from .chain import AuditReport, Problem, ProblemKind, SegmentRecord, audit_chain, genesis, new_record
from .policy import (
    LegalHold,
    PurgePlan,
    RetentionPolicy,
    SegmentInfo,
    check_deletion_allowed,
    purge_candidate_cutoff,
    purge_plan,
)

__all__ = ["SegmentIndex", "SegmentStore", "file_sha256", "segment_relative_path"]

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_US = timedelta(microseconds=1)
_CHUNK = 1 << 20
_CAMERA_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}\Z")
_SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS segments (
    camera          TEXT    NOT NULL,
    seq             INTEGER NOT NULL,
    start_us        INTEGER NOT NULL,
    end_us          INTEGER NOT NULL,
    path            TEXT    NOT NULL,
    bytes           INTEGER NOT NULL,
    sha256          BLOB    NOT NULL,
    prev_link       BLOB    NOT NULL,
    link            BLOB    NOT NULL,
    deleted_at_us   INTEGER,
    deletion_reason TEXT,
    PRIMARY KEY (camera, seq)
);
CREATE INDEX IF NOT EXISTS segments_by_end ON segments (end_us) WHERE deleted_at_us IS NULL;
CREATE INDEX IF NOT EXISTS segments_by_start ON segments (camera, start_us);
CREATE TABLE IF NOT EXISTS legal_holds (
    id             TEXT PRIMARY KEY,
    camera         TEXT,
    start_us       INTEGER NOT NULL,
    end_us         INTEGER NOT NULL,
    reason         TEXT    NOT NULL,
    placed_at_us   INTEGER,
    released_at_us INTEGER
);
"""

_COLUMNS = "camera, seq, start_us, end_us, bytes, sha256, prev_link, link, deleted_at_us, deletion_reason"
_HOLD_COLUMNS = "id, camera, start_us, end_us, reason, placed_at_us, released_at_us"

# Called inside the transaction that writes a record, with its connection and the record: what it
# writes on that connection (e.g. the record's report in an outbox in the same file) commits with
# the record or not at all.
Then = Callable[[sqlite3.Connection, SegmentRecord], Any]


def _to_us(moment: datetime) -> int:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("times must be timezone-aware")
    # Integer microseconds keep times exact and make SQL comparisons plain.
    return (moment - _EPOCH) // _US


def _from_us(us: int | None) -> datetime | None:
    return None if us is None else _EPOCH + us * _US


def _row_to_record(row: tuple) -> SegmentRecord:
    camera, seq, start, end, size, sha, prev, link, deleted, reason = row
    return SegmentRecord(camera, seq, _from_us(start), _from_us(end), size, bytes(sha), bytes(prev),
                         bytes(link), _from_us(deleted), reason)


def _row_to_hold(row: tuple) -> LegalHold:
    hold_id, camera, start, end, reason, placed, released = row
    return LegalHold(hold_id, camera, _from_us(start), _from_us(end), reason,
                     released_at=_from_us(released), placed_at=_from_us(placed))


class SegmentIndex:
    """SQLite index of every segment ever recorded, including retention tombstones.

    One connection shared under a lock, so the recording and purge workers
    may run in different threads. ``durable=False`` skips fsync on commit; it
    is only for simulations on throwaway data, where a power cut loses nothing.
    The file may hold other tables (the edge keeps its outbox beside the index,
    so a record and its report share one transaction: see ``Then``).
    """

    def __init__(self, db_path: str | os.PathLike, durable: bool = True) -> None:
        self._lock = threading.Lock()
        # Autocommit mode: transactions are opened explicitly where needed. Other writers may
        # share the file, hence the generous busy timeout.
        self._db = sqlite3.connect(os.fspath(db_path), timeout=30, isolation_level=None,
                                   check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(f"PRAGMA synchronous={'FULL' if durable else 'OFF'}")
        with self._lock:
            self._db.executescript(_SCHEMA)
            self._db.execute(f"PRAGMA user_version={_SCHEMA_VERSION}")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def adopt(self, legacy_path: str | os.PathLike) -> bool:
        """Take in the records and holds of an index kept in a file of its own (the layout before
        the index shared the edge store's file), then rename that file ``*.migrated``. Idempotent:
        a crash before the rename only makes the next start copy the same rows again."""
        legacy = Path(legacy_path)
        if not legacy.exists():
            return False
        with self._lock:
            self._db.execute("ATTACH DATABASE ? AS legacy", (os.fspath(legacy),))
            try:
                tables = {r[0] for r in self._db.execute("SELECT name FROM legacy.sqlite_master WHERE type='table'")}
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    if "segments" in tables:
                        self._db.execute(f"INSERT OR IGNORE INTO main.segments ({_COLUMNS}, path) "
                                         f"SELECT {_COLUMNS}, path FROM legacy.segments")
                    if "legal_holds" in tables:
                        self._db.execute(f"INSERT OR IGNORE INTO main.legal_holds ({_HOLD_COLUMNS}) "
                                         f"SELECT {_HOLD_COLUMNS} FROM legacy.legal_holds")
                except BaseException:
                    self._db.execute("ROLLBACK")
                    raise
                self._db.execute("COMMIT")
            finally:
                self._db.execute("DETACH DATABASE legacy")
        for suffix in ("", "-wal", "-shm"):
            src = legacy.with_name(legacy.name + suffix)
            if src.exists():
                os.replace(src, legacy.with_name(legacy.name + ".migrated" + suffix))
        return True

    def __enter__(self) -> SegmentIndex:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # --- segments -------------------------------------------------------------

    def add(self, camera: str, start: datetime, end: datetime, path: str, bytes: int, sha256: bytes,
            then: Then | None = None) -> SegmentRecord:
        """Append a segment to its camera's chain; seq and link are assigned atomically (and
        ``then`` runs in the same transaction)."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                head = self._db.execute(
                    "SELECT seq, link FROM segments WHERE camera = ? ORDER BY seq DESC LIMIT 1", (camera,)
                ).fetchone()
                seq, prev = (1, genesis(camera)) if head is None else (head[0] + 1, head[1])
                record = new_record(camera, seq, start, end, bytes, sha256, prev)
                self._db.execute(
                    f"INSERT INTO segments ({_COLUMNS}, path) VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL, ?)",
                    (camera, seq, _to_us(start), _to_us(end), bytes, record.sha256, record.prev_link,
                     record.link, path),
                )
                if then is not None:
                    then(self._db, record)
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
        return record

    def records(self, camera: str, since: datetime | None = None, until: datetime | None = None) -> list[SegmentRecord]:
        """A camera's records in seq order, optionally only those overlapping [since, until)."""
        sql = f"SELECT {_COLUMNS} FROM segments WHERE camera = ?"
        args: list = [camera]
        if since is not None:
            sql += " AND end_us > ?"
            args.append(_to_us(since))
        if until is not None:
            sql += " AND start_us < ?"
            args.append(_to_us(until))
        with self._lock:
            rows = self._db.execute(sql + " ORDER BY seq", args).fetchall()
        return [_row_to_record(r) for r in rows]

    def get(self, camera: str, seq: int) -> SegmentRecord:
        with self._lock:
            row = self._db.execute(
                f"SELECT {_COLUMNS} FROM segments WHERE camera = ? AND seq = ?", (camera, seq)
            ).fetchone()
        if row is None:
            raise KeyError(f"{camera} segment {seq} is not in the index")
        return _row_to_record(row)

    def live_records(self, ended_by: datetime | None = None) -> list[SegmentRecord]:
        """Records not deleted yet, of all cameras, optionally only those ended by ``ended_by``."""
        sql = f"SELECT {_COLUMNS} FROM segments WHERE deleted_at_us IS NULL"
        args: list = []
        if ended_by is not None:
            sql += " AND end_us <= ?"
            args.append(_to_us(ended_by))
        with self._lock:
            rows = self._db.execute(sql + " ORDER BY camera, seq", args).fetchall()
        return [_row_to_record(r) for r in rows]

    def paths(self, camera: str) -> dict[int, str]:
        """seq -> file path (as given to add) for every record of a camera, tombstones included."""
        with self._lock:
            rows = self._db.execute("SELECT seq, path FROM segments WHERE camera = ?", (camera,)).fetchall()
        return dict(rows)

    def cameras(self) -> list[str]:
        with self._lock:
            rows = self._db.execute("SELECT DISTINCT camera FROM segments ORDER BY camera").fetchall()
        return [r[0] for r in rows]

    def heads(self) -> dict[str, tuple[int, bytes]]:
        """camera -> (seq, link) of its newest record: what gets signed and sent off-site."""
        with self._lock:
            rows = self._db.execute(
                "SELECT camera, seq, link FROM segments AS s "
                "WHERE seq = (SELECT MAX(seq) FROM segments WHERE camera = s.camera) ORDER BY camera"
            ).fetchall()
        return {cam: (seq, bytes(link)) for cam, seq, link in rows}

    def mark_deleted(self, camera: str, seq: int, reason: str, now: datetime,
                     then: Then | None = None) -> SegmentRecord:
        """Turn a record into a tombstone; the row and its chain link stay. ``then`` gets the
        tombstone in the same transaction."""
        if not isinstance(reason, str) or not reason:
            raise ValueError("a deletion needs a reason")
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                changed = self._db.execute(
                    "UPDATE segments SET deleted_at_us = ?, deletion_reason = ? "
                    "WHERE camera = ? AND seq = ? AND deleted_at_us IS NULL",
                    (_to_us(now), reason, camera, seq),
                ).rowcount
                row = self._db.execute(f"SELECT {_COLUMNS} FROM segments WHERE camera = ? AND seq = ?",
                                       (camera, seq)).fetchone()
                if row is None:
                    raise KeyError(f"{camera} segment {seq} is not in the index")
                if changed != 1:
                    raise ValueError(f"{camera} segment {seq} is already deleted")
                tombstone = _row_to_record(row)
                if then is not None:
                    then(self._db, tombstone)
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
        return tombstone

    def bitrates(self, since: datetime, until: datetime) -> dict[str, float]:
        """Observed bits per second of recording per camera over segments starting in [since, until)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT camera, SUM(bytes), SUM(end_us - start_us) FROM segments "
                "WHERE start_us >= ? AND start_us < ? GROUP BY camera",
                (_to_us(since), _to_us(until)),
            ).fetchall()
        return {cam: size * 8 / (dur / 1e6) for cam, size, dur in rows if dur}

    # --- legal holds --------------------------------------------------------------

    def add_hold(self, hold: LegalHold) -> LegalHold:
        with self._lock:
            try:
                self._db.execute(
                    "INSERT INTO legal_holds (id, camera, start_us, end_us, reason, placed_at_us, released_at_us) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (hold.id, hold.camera, _to_us(hold.start), _to_us(hold.end), hold.reason,
                     None if hold.placed_at is None else _to_us(hold.placed_at),
                     None if hold.released_at is None else _to_us(hold.released_at)),
                )
            except sqlite3.IntegrityError:
                raise ValueError(f"legal hold {hold.id} already exists") from None
        return hold

    def get_hold(self, hold_id: str) -> LegalHold:
        with self._lock:
            row = self._db.execute(
                "SELECT id, camera, start_us, end_us, reason, placed_at_us, released_at_us "
                "FROM legal_holds WHERE id = ?", (hold_id,)
            ).fetchone()
        if row is None:
            raise KeyError(f"legal hold {hold_id} does not exist")
        return _row_to_hold(row)

    def release_hold(self, hold_id: str, released_at: datetime) -> LegalHold:
        """Release a hold; it stays on file so past deletions can still be judged against it."""
        hold = self.get_hold(hold_id)
        if hold.released_at is not None:
            raise ValueError(f"legal hold {hold_id} was already released")
        if hold.placed_at is not None and released_at < hold.placed_at:
            raise ValueError(f"legal hold {hold_id} cannot be released before it was placed")
        with self._lock:
            self._db.execute("UPDATE legal_holds SET released_at_us = ? WHERE id = ? AND released_at_us IS NULL",
                             (_to_us(released_at), hold_id))
        return self.get_hold(hold_id)

    def list_holds(self) -> list[LegalHold]:
        """Every hold, released ones included."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, camera, start_us, end_us, reason, placed_at_us, released_at_us "
                "FROM legal_holds ORDER BY id"
            ).fetchall()
        return [_row_to_hold(r) for r in rows]


def file_sha256(path: str | os.PathLike) -> bytes | None:
    """SHA-256 of a file's content, or None when there is no such file."""
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            while chunk := f.read(_CHUNK):
                digest.update(chunk)
    except FileNotFoundError:
        return None
    return digest.digest()


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _stamp(moment: datetime) -> str:
    utc = moment.astimezone(timezone.utc)
    frac = f".{utc.microsecond:06d}" if utc.microsecond else ""
    return utc.strftime("%Y%m%dT%H%M%S") + frac + "Z"


def segment_relative_path(camera: str, start: datetime) -> str:
    """Where a segment's file lies under a store's root: ``<camera>/YYYY/MM/DD/<start>.mp4`` (UTC)."""
    if not _CAMERA_RE.match(camera):
        # The camera id becomes a directory name.
        raise ValueError(f"camera id {camera!r} must be 1-64 of A-Z a-z 0-9 . _ - and start alphanumeric")
    utc = start.astimezone(timezone.utc)
    return f"{camera}/{utc:%Y/%m/%d}/{_stamp(utc)}.mp4"


class SegmentStore:
    """Segment files under ``root/<camera>/YYYY/MM/DD/<start>.mp4`` (UTC), kept by ``policy``.

    ``durable=False`` skips fsync, as for SegmentIndex: simulations only.
    """

    def __init__(self, root: str | os.PathLike, index: SegmentIndex, policy: RetentionPolicy,
                 clock: Callable[[], datetime], durable: bool = True) -> None:
        self.root = Path(root)
        self._durable = durable
        self.root.mkdir(parents=True, exist_ok=True)
        self.index = index
        self.policy = policy
        self._clock = clock

    def _now(self, now: datetime | None) -> datetime:
        moment = self._clock() if now is None else now
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise ValueError("the clock must return timezone-aware datetimes")
        return moment

    def relative_path(self, camera: str, start: datetime) -> str:
        return segment_relative_path(camera, start)

    # --- recording ----------------------------------------------------------------

    def ingest(self, camera: str, start: datetime, end: datetime, src_path: str | os.PathLike,
               then: Then | None = None) -> SegmentRecord:
        """Move a finished segment file into the store, hash it, fsync it and index it (``then``
        in the indexing transaction)."""
        SegmentInfo(None, camera, start, end, 0)  # validates the times before touching files
        src = Path(src_path)
        rel = self.relative_path(camera, start)
        dest = self.root / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        if dest.exists():
            raise FileExistsError(f"{rel} already exists")
        tmp = dest.with_name(f".{dest.name}.tmp")
        sha, size = self._move_in(src, tmp, self._durable)
        try:
            os.link(tmp, dest)  # unlike rename, never replaces an existing segment
            os.unlink(tmp)
            if self._durable:
                _fsync_dir(dest.parent)
        except BaseException:
            with contextlib.suppress(OSError):
                os.replace(tmp, src)
            raise
        try:
            return self.index.add(camera, start, end, rel, size, sha, then=then)
        except BaseException:
            # Hand the file back so the recorder can retry, rather than leave an orphan.
            with contextlib.suppress(OSError):
                os.replace(dest, src)
            raise

    @staticmethod
    def _move_in(src: Path, tmp: Path, durable: bool) -> tuple[bytes, int]:
        digest = hashlib.sha256()
        size = 0
        try:
            os.rename(src, tmp)
            with open(tmp, "rb") as f:
                while chunk := f.read(_CHUNK):
                    digest.update(chunk)
                    size += len(chunk)
                if durable:
                    os.fsync(f.fileno())
            return digest.digest(), size
        except OSError as exc:
            if exc.errno != errno.EXDEV:
                raise
        # Another filesystem: copy while hashing, then drop the source.
        with open(src, "rb") as fin, open(tmp, "wb") as fout:
            while chunk := fin.read(_CHUNK):
                digest.update(chunk)
                size += len(chunk)
                fout.write(chunk)
            fout.flush()
            if durable:
                os.fsync(fout.fileno())
        os.unlink(src)
        return digest.digest(), size

    # --- retention ----------------------------------------------------------------

    def plan(self, now: datetime | None = None) -> PurgePlan:
        """What the purge would delete at ``now`` (only segments old enough to be candidates are read)."""
        now = self._now(now)
        cutoff = purge_candidate_cutoff(self.policy, now)
        if cutoff is None:
            return PurgePlan()
        candidates = [r.info() for r in self.index.live_records(ended_by=cutoff)]
        return purge_plan(candidates, self.policy, self.index.list_holds(), now)

    def purge(self, now: datetime | None = None, then: Then | None = None) -> list[SegmentRecord]:
        """Delete what the policy says is due; return the tombstones written (each with ``then``
        in its transaction)."""
        now = self._now(now)
        reason = f"retention: past the maximum of {self.policy.max_months} months"
        done: list[SegmentRecord] = []
        paths: dict[str, dict[int, str]] = {}
        for segment in self.plan(now).delete:
            # Read holds again: one placed while this purge runs must still win.
            check_deletion_allowed(segment, self.policy, self.index.list_holds(), now)
            if segment.camera not in paths:
                paths[segment.camera] = self.index.paths(segment.camera)
            tombstone = self.index.mark_deleted(segment.camera, segment.id, reason, now, then=then)
            self._unlink(self.root / paths[segment.camera][segment.id])
            done.append(tombstone)
        return done

    def _unlink(self, path: Path) -> None:
        try:
            path.unlink()
        except FileNotFoundError:
            return
        # Drop emptied day/month/year folders, never the camera folder itself.
        folder = path.parent
        for _ in range(3):
            try:
                folder.rmdir()
            except OSError:
                break
            folder = folder.parent

    # --- audit ----------------------------------------------------------------------

    def audit(self, now: datetime | None = None,
              expected_heads: dict[str, tuple[int, bytes] | bytes] | None = None) -> AuditReport:
        """Hash every live file and check every camera's chain, deletions and stray files."""
        now = self._now(now)
        expected_heads = dict(expected_heads or {})
        holds = self.index.list_holds()
        reports = []
        known: set[str] = set()
        for camera in sorted(set(self.index.cameras()) | set(expected_heads)):
            records = self.index.records(camera)
            paths = self.index.paths(camera)
            known.update(paths.values())
            hashes = {r.seq: file_sha256(self.root / paths[r.seq]) for r in records if not r.deleted}
            reports.append(audit_chain(records, hashes, self.policy, holds, now,
                                       expected_heads.get(camera), camera=camera))
        return AuditReport.merged(reports, self._orphans(known))

    def _orphans(self, known: set[str]) -> list[Problem]:
        """Files under the root that no index record names (e.g. its row was removed)."""
        found = []
        for dirpath, _dirs, files in os.walk(self.root):
            if Path(dirpath) == self.root:
                continue  # only camera folders hold segments
            for name in sorted(files):
                if name.startswith("."):
                    continue  # an ingest in progress
                rel = Path(dirpath, name).relative_to(self.root).as_posix()
                if rel not in known:
                    camera = rel.split("/", 1)[0]
                    found.append(Problem(camera, None, ProblemKind.ORPHAN_FILE,
                                         f"{camera}: file {rel} has no record in the index"))
        return found

    def usage(self) -> int:
        """Bytes of segment files on disk."""
        total = 0
        for dirpath, _dirs, files in os.walk(self.root):
            for name in files:
                try:
                    total += os.stat(os.path.join(dirpath, name)).st_size
                except FileNotFoundError:
                    pass
        return total
