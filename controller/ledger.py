"""The controller's evidence ledger: an append-only Merkle log in the database.

Entries are appended in their own transaction, never inside a caller's: call `append` after
committing what the entry records (SQLite has one writer at a time).
"""
from __future__ import annotations

import datetime as dt
import json
import threading
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import sessionmaker

from controller.models import LedgerCheckpoint, LedgerEntry
from retention.checkpoint import Checkpoint, NoteSigner, load_private_key, public_key_raw
from retention.ledger import LedgerEntry as ExportEntry
from retention.ledger import build_export, entry_leaf_bytes
from retention.merkle import Frontier, inclusion_proof, leaf_hash


def iso_now() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def load_or_create_signing_key(path: Path) -> Ed25519PrivateKey:
    if path.exists():
        return load_private_key(path.read_bytes())
    path.parent.mkdir(parents=True, exist_ok=True)
    key = Ed25519PrivateKey.generate()
    raw = key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    path.write_bytes(raw)
    path.chmod(0o600)
    return key


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

    def append(self, kind: str, data: dict[str, Any]) -> int:
        with self._lock:
            for _ in range(20):  # another process may take the same index: then try the next
                with self._sessions() as s:
                    self._sync(s)
                    index = len(self._hashes)
                    ts = iso_now()
                    leaf = entry_leaf_bytes(index, ts, kind, data)
                    h = leaf_hash(leaf)
                    s.add(LedgerEntry(index=index, ts=ts, kind=kind, leaf=leaf, leaf_hash=h))
                    try:
                        s.commit()
                    except IntegrityError:
                        s.rollback()
                        continue
                self._hashes.append(h)
                self._frontier.append(h)
                return index
        raise RuntimeError("ledger append kept colliding with another writer")

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

    def export(self) -> bytes:
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
        with self._sessions() as s:
            return s.scalar(select(func.count()).where(LedgerEntry.kind == kind)) or 0
