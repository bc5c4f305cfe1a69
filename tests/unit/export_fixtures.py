"""A small signed log holding annotation versions, and bundles built from it, for the export
tests: everything the controller would hand the bundle builder, made without a database."""
from __future__ import annotations

import io
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from annotation.export_bundle import LeafRecord, build_bundle
from annotation.export_formats import ExportItem
from annotation.versions import LEAF_KIND, Version
from retention.checkpoint import Checkpoint, NoteSigner, public_key_raw
from retention.merkle import MerkleTree

ORIGIN = "siteguard.test/ledger"


@dataclass
class Log:
    key: Ed25519PrivateKey
    leaves: list[LeafRecord]  # every entry of the log, annotation versions and others

    @property
    def public_key(self) -> bytes:
        return public_key_raw(self.key)

    def checkpoint(self, size: int | None = None) -> str:
        tree = MerkleTree([e.leaf_hash() for e in self.leaves])
        size = len(self.leaves) if size is None else size
        return NoteSigner(ORIGIN, self.key).sign(Checkpoint(ORIGIN, size, tree.root(size)))

    def proofs(self, size: int | None = None) -> dict[int, list[bytes]]:
        tree = MerkleTree([e.leaf_hash() for e in self.leaves])
        size = len(self.leaves) if size is None else size
        return {e.index: tree.inclusion_proof(e.index, size) for e in self.leaves if e.index < size}


def chain(project: int, task: int, item_sha: str, annotator: str, results: list[dict], first_id: int,
          seat: str | None = "A1") -> list[tuple[int, Version]]:
    out, prev = [], None
    for n, r in enumerate(results, start=1):
        v = Version(project=project, task=task, item_sha256=item_sha, annotator=annotator, seat=seat, version=n,
                    at=f"2026-12-07T10:00:{n:02d}Z", result=r, prev_hash=prev)
        out.append((first_id + n - 1, v))
        prev = v.hash()
    return out


def make_log(versions: list[tuple[int, Version]], key: Ed25519PrivateKey | None = None) -> Log:
    key = key or Ed25519PrivateKey.generate()
    leaves, index = [], 0
    for aid, v in versions:
        leaves.append(LeafRecord(index, f"2026-12-07T10:00:00.{index:06d}Z", "user.login", {"user": "x"}))
        index += 1
        leaves.append(LeafRecord(index, f"2026-12-07T10:00:00.{index:06d}Z", LEAF_KIND, v.leaf(aid)))
        index += 1
    return Log(key, leaves)


def image_project() -> tuple[list[ExportItem], list[tuple[int, Version]]]:
    items = [ExportItem(1, "a" * 64, "street/cam1.png", "image/png", 640, 480),
             ExportItem(2, "b" * 64, "yard/cam1.png", "image/png", 1280, 720)]
    versions = (chain(7, 11, "a" * 64, "ann1", [{"boxes": [{"label": "car", "x": 0, "y": 0, "w": 10, "h": 10}]},
                                                {"boxes": [{"label": "car", "x": 64, "y": 48, "w": 128, "h": 96},
                                                           {"label": "person", "x": 1, "y": 2, "w": 3, "h": 4}]}],
                      100)
                + chain(7, 11, "a" * 64, "ann2", [{"boxes": []}], 200)
                + chain(7, 12, "b" * 64, "ann1", [{"boxes": [{"label": "person", "x": 10.5, "y": 20, "w": 30,
                                                              "h": 40}]}], 300))
    return items, versions


def bundle(fmt: str, items, versions, labels, key=None, project: int = 7) -> tuple[bytes, Log]:
    log = make_log(versions, key)
    out = io.BytesIO()
    build_bundle(out, fmt=fmt, project=project, labels=labels, items=items,
                 leaves=[e for e in log.leaves if e.kind == LEAF_KIND], proofs=log.proofs(),
                 checkpoint=log.checkpoint(), origin=ORIGIN, public_key=log.public_key)
    return out.getvalue(), log
