"""The controller's evidence ledger: an append-only Merkle log in the database.

A fact and its leaf are written in one transaction: `record` queues the leaf in the caller's
session, without an index. The sequencer (`integrate`, the only writer of indexes) takes queued
leaves in queue order, in batches, assigns their indexes and signs checkpoints, as Trillian's
sequencer does. A crash can delay a leaf's index, never separate a fact from its leaf. Readers
(proofs, exports, pages) see what is integrated.
"""
from __future__ import annotations

import datetime as dt
import json
import threading
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import delete, func, insert, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from controller.models import LedgerCheckpoint, LedgerEntry, LedgerQueued
from controller.secret_files import create_once
from retention.checkpoint import (
    Checkpoint,
    NoteSigner,
    load_private_key,
    public_key_raw,
)
from retention.ledger import LedgerEntry as ExportEntry
from retention.ledger import build_export, entry_leaf_bytes
from retention.merkle import Frontier, MerkleTree, inclusion_proof, leaf_hash

# Any constant unique to this lock among the database's advisory locks.
SEQUENCER_LOCK = 0x5347_4C45  # "SGLE"


def canonical_json(data: dict[str, Any]) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode("utf-8")


def iso_now() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def load_or_create_signing_key(path: Path) -> Ed25519PrivateKey:
    """The ledger's key; every controller process gets the same one, however many start at once."""
    def make() -> bytes:
        return Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption())
    return load_private_key(create_once(path, make))


class Ledger:
    def __init__(self, sessions: sessionmaker, key: Ed25519PrivateKey, origin: str) -> None:
        self._sessions = sessions
        self._signer = NoteSigner(origin, key)
        self.origin = origin
        self.public_key = public_key_raw(key)
        self._lock = threading.Lock()
        with sessions() as s:
            self._hashes: list[bytes] = list(
                s.scalars(select(LedgerEntry.leaf_hash).order_by(LedgerEntry.index))
            )
        # Kept beside the hashes so a checkpoint costs O(log n), not a pass over the whole log.
        self._frontier = Frontier(self._hashes)

    @property
    def size(self) -> int:
        return len(self._hashes)

    def _sync(self, s) -> None:
        """Pick up entries other processes (the CLI, a second worker) appended meanwhile."""
        newer = s.scalars(select(LedgerEntry.leaf_hash).where(LedgerEntry.index >= len(self._hashes))
                          .order_by(LedgerEntry.index))
        for h in newer:
            self._hashes.append(h)
            self._frontier.append(h)

    def record(self, s: Session, kind: str, data: dict[str, Any]) -> None:
        """Queue the leaf of a fact in the fact's own transaction: the caller's commit writes
        both or neither. The sequencer (`integrate`) gives it its index later."""
        ts = iso_now()
        entry_leaf_bytes(0, ts, kind, data)  # what could never be integrated fails here, with its fact
        s.add(LedgerQueued(ts=ts, kind=kind, data=canonical_json(data)))

    def append(self, kind: str, data: dict[str, Any]) -> None:
        """Queue a leaf that records no row of its own (a login, a start) in its own transaction."""
        with self._sessions() as s:
            self.record(s, kind, data)
            s.commit()

    def integrate(self, batch: int = 5000) -> int:
        """The sequencer's step: give the oldest queued leaves the next indexes, in queue order,
        in one transaction that also takes them off the queue. Returns how many it integrated.
        One writer at a time: an advisory lock on PostgreSQL; on SQLite a second writer collides
        on the index and tries again."""
        with self._lock:
            for _ in range(20):
                with self._sessions() as s:
                    if s.get_bind().dialect.name == "postgresql":
                        s.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": SEQUENCER_LOCK})
                    self._sync(s)
                    rows = s.execute(select(LedgerQueued.id, LedgerQueued.ts, LedgerQueued.kind,
                                            LedgerQueued.data).order_by(LedgerQueued.id).limit(batch)).all()
                    if not rows:
                        return 0
                    start = len(self._hashes)
                    entries = []
                    for i, (_id, ts, kind, data) in enumerate(rows):
                        leaf = entry_leaf_bytes(start + i, ts, kind, json.loads(data))
                        entries.append({"index": start + i, "ts": ts, "kind": kind, "leaf": leaf,
                                        "leaf_hash": leaf_hash(leaf)})
                    try:
                        s.execute(insert(LedgerEntry), entries)
                        s.execute(delete(LedgerQueued).where(LedgerQueued.id.in_([r[0] for r in rows])))
                        s.commit()
                    except IntegrityError:  # another process integrated meanwhile: start again
                        s.rollback()
                        continue
                for e in entries:
                    self._hashes.append(e["leaf_hash"])
                    self._frontier.append(e["leaf_hash"])
                return len(entries)
        raise RuntimeError("ledger integration kept colliding with another writer")

    def integrate_all(self) -> int:
        """Integrate until the queue is empty (at the moment of asking)."""
        total = 0
        while n := self.integrate():
            total += n
        return total

    def settled_size(self) -> int:
        """The size once everything queued so far is integrated."""
        self.integrate_all()
        return self.size

    def queued(self) -> int:
        with self._sessions() as s:
            return s.scalar(select(func.count()).select_from(LedgerQueued)) or 0

    def checkpoint(self) -> str | None:
        """Sign a checkpoint for the current size if it grew; returns the newest note."""
        with self._lock, self._sessions() as s:
            self._sync(s)
            last = s.scalar(select(LedgerCheckpoint).order_by(LedgerCheckpoint.size.desc()).limit(1))
            size = len(self._hashes)
            if size == 0 or (last is not None and last.size == size):
                return last.note if last else None
            note = self._signer.sign(Checkpoint(self.origin, size, self._frontier.root()))
            s.add(LedgerCheckpoint(size=size, note=note))
            try:
                s.commit()
            except IntegrityError:  # another process signed this size already
                s.rollback()
            return note

    def sign_note(self, text: str) -> str:
        """A signed note over ``text`` by the ledger's key, in the checkpoints' format (a signed
        report names what it vouches for in ``text``)."""
        return self._signer.sign_text(text)

    def latest_checkpoint(self) -> str | None:
        with self._sessions() as s:
            return s.scalar(
                select(LedgerCheckpoint.note).order_by(LedgerCheckpoint.size.desc()).limit(1)
            )

    def inclusion(self, index: int) -> dict[str, Any]:
        note = self.checkpoint()
        with self._lock:
            size = int(note.split("\n")[1]) if note else 0
            if not 0 <= index < size:
                raise IndexError(index)
            proof = inclusion_proof(self._hashes, index, size)
            return {"index": index, "size": size, "leaf_hash": self._hashes[index].hex(),
                    "proof": [p.hex() for p in proof], "checkpoint": note}

    def inclusion_many(self, indexes) -> tuple[str | None, dict[int, list[bytes]]]:
        """The newest signed checkpoint and an inclusion proof against it for each of ``indexes``
        it covers (those it does not cover are left out); one tree for all of them."""
        note = self.checkpoint()
        with self._lock:
            size = int(note.split("\n")[1]) if note else 0
            wanted = [i for i in indexes if 0 <= i < size]
            if not wanted:
                return note, {}
            tree = MerkleTree(self._hashes[:size])
            return note, {i: tree.inclusion_proof(i, size) for i in wanted}

    def export(self) -> bytes:
        self.integrate_all()
        self.checkpoint()
        with self._sessions() as s:
            rows = s.scalars(select(LedgerEntry).order_by(LedgerEntry.index)).all()
            notes = list(s.scalars(select(LedgerCheckpoint.note).order_by(LedgerCheckpoint.size)))
        entries = []
        for r in rows:
            doc = json.loads(r.leaf)
            entries.append(ExportEntry(index=r.index, ts=r.ts, kind=r.kind, data=doc["data"]))
        return build_export(entries, notes, self.origin, self.origin, self.public_key)

    def count_kind(self, kind: str) -> int:
        """Entries of that kind in the log, once everything queued so far is integrated."""
        self.integrate_all()
        with self._sessions() as s:
            return s.scalar(select(func.count()).where(LedgerEntry.kind == kind)) or 0
