"""An annotation's versions as a hash chain. Every save is a new version whose hash covers the
item's content hash, the project, task, annotator, seat, time, the result and the previous
version's hash; the same record is the ledger leaf's data, so a verifier holding an export can
recompute every hash and check every leaf without the database."""
from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

LEAF_KIND = "annotation.saved"
REVIEW_KIND = "review.recorded"


def canonical(value: Any) -> bytes:
    """The one byte spelling of a JSON value: sorted keys, no spaces, UTF-8."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


@dataclass(frozen=True)
class Version:
    project: int
    task: int
    item_sha256: str
    annotator: str
    seat: str | None
    version: int
    at: str  # RFC 3339 UTC
    result: Mapping[str, Any]
    prev_hash: str | None

    def hash(self) -> str:
        return hashlib.sha256(canonical(asdict(self) | {"result": dict(self.result)})).hexdigest()

    def leaf(self, annotation_id: int) -> dict[str, Any]:
        """The ledger leaf's data for this version (kind LEAF_KIND)."""
        return {"annotation": annotation_id, **asdict(self), "result": dict(self.result), "hash": self.hash()}


def version_from_leaf(data: Mapping[str, Any]) -> Version:
    fields = {k: data[k] for k in ("project", "task", "item_sha256", "annotator", "seat", "version", "at",
                                   "result", "prev_hash")}
    return Version(**fields)


def chain_problems(versions: list[Version]) -> list[str]:
    """What is wrong with one annotator's versions of one task, oldest first: numbering from 1
    without holes and each one chained to the hash of the one before."""
    problems = []
    prev = None
    for i, v in enumerate(versions, start=1):
        if v.version != i:
            problems.append(f"version {v.version} where {i} was expected")
        expected = prev.hash() if prev is not None else None
        if v.prev_hash != expected:
            problems.append(f"version {v.version} does not chain to the version before it")
        prev = v
    return problems
