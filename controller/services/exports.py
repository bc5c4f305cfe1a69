"""A project's annotations leave the platform only as an export: a zip the customer (or an
officer, admin or inspector) takes away and checks offline (annotation/export_bundle.py), and
that is itself ledgered (``export.created``: who, project, format, counts and the zip's SHA-256).

What is exported: for each task, each annotator's newest saved version (the label files show
it), with every older version of that annotator's chain as evidence, so the chain can be checked
from version 1. Review decisions are not applied: an export shows what each annotator saved.

Only what the ledger has integrated and signed is exported: each version's leaf is looked up
among the integrated ``annotation.saved`` entries and carries an inclusion proof against the
newest signed checkpoint. While any version of the project still waits for the sequencer, the
export is refused (409, try again shortly) rather than sent without it.

The latest granted release of the project (controller/services/releases.py) travels with it as
``release.json``: its ledger entry (figures and sampling plan) with its own inclusion proof; the
export waits for that entry's integration the same way.
"""
from __future__ import annotations

import hashlib
import json
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

from sqlalchemy import select

from annotation.export_bundle import RELEASE_KIND, LeafRecord, build_bundle, newest_versions
from annotation.export_formats import (
    FORMAT_KINDS,
    FORMATS,
    ExportFormatError,
    ExportItem,
    labels_for,
    synthetic_mark,
)
from annotation.versions import LEAF_KIND
from controller.annotation_tables import Annotation, Item, Project
from controller.domain_errors import Conflict, Invalid, NotFound
from controller.ledger import Ledger
from controller.models import LedgerEntry, User
from controller.services.releases import latest_granted, release_entry
from controller.services.scope import customer_scope

EXPORT_KIND = "export.created"
RETRY_AFTER_S = "2"
_CHUNK = 64 * 1024


@dataclass
class ExportFile:
    file: IO[bytes]
    sha256: str
    size: int
    filename: str
    exported: int
    versions: int

    def chunks(self) -> Iterator[bytes]:
        """The zip's bytes, then the temporary file is gone."""
        try:
            self.file.seek(0)
            while chunk := self.file.read(_CHUNK):
                yield chunk
        finally:
            self.file.close()


def project_or_404(db, user: User, project_id: int) -> Project:
    """The project if the user's scope holds its customer; another customer's reads as absent."""
    project = db.get(Project, project_id)
    if project is None or not customer_scope(db, user).sees_id(project.customer_id):
        raise NotFound("no such project")
    return project


def _schema_labels(schema: dict[str, Any]) -> list[str]:
    out = []
    for x in schema.get("labels") or []:
        if isinstance(x, str):
            out.append(x)
        elif isinstance(x, dict):
            name = next((x[k] for k in ("name", "value", "label") if isinstance(x.get(k), str)), None)
            if name is not None:
                out.append(name)
    return out


def _integrated_leaves(db, project_id: int, size: int, wanted: set[int]) -> dict[int, LeafRecord]:
    """The integrated annotation.saved leaves below ``size`` of the wanted annotation ids."""
    found: dict[int, LeafRecord] = {}
    rows = db.execute(select(LedgerEntry.index, LedgerEntry.ts, LedgerEntry.leaf)
                      .where(LedgerEntry.kind == LEAF_KIND, LedgerEntry.index < size)
                      .order_by(LedgerEntry.index)).yield_per(2000)
    for index, ts, leaf in rows:
        data = json.loads(leaf)["data"]
        aid = data.get("annotation")
        if data.get("project") == project_id and aid in wanted and aid not in found:
            found[aid] = LeafRecord(index, ts, LEAF_KIND, data)
    return found


def _integrated_since(db, size: int) -> bool:
    """Whether the log grew past ``size`` meanwhile (the sequencer took the queue after the checkpoint)."""
    return db.scalar(select(LedgerEntry.index).where(LedgerEntry.index >= size).limit(1)) is not None


def _item(row: Item, source_shas: dict[int, str]) -> ExportItem:
    """``source_shas``: the content hash of each source item of a synthesised one."""
    meta = row.meta or {}

    def number(key: str):
        v = meta.get(key)
        return v if isinstance(v, (int, float)) and not isinstance(v, bool) else None

    return ExportItem(id=row.id, sha256=row.sha256, name=row.source_name or row.sha256, media_type=row.media_type,
                      width=number("width"), height=number("height"), duration=number("duration_s"),
                      offset=number("offset_s"),
                      synthetic=None if row.recipe is None else synthetic_mark(
                          row.source_item_id, source_shas.get(row.source_item_id), row.recipe))


# The format a project's labels are exported in when none is asked for.
NATURAL_FORMAT = {"boxes": "coco", "transcript": "nemo"}


def create_export(db, ledger: Ledger, user: User, project_id: int, fmt: str | None = None) -> ExportFile:
    """Build the project's export in ``fmt`` (by default the one its label kind calls for:
    coco for boxes, nemo for transcripts, jsonl for the rest), ledger it, and hand back the zip
    to stream."""
    project = project_or_404(db, user, project_id)
    schema = project.label_schema or {}
    kind = schema.get("kind")
    fmt = fmt or NATURAL_FORMAT.get(kind, "jsonl")
    if fmt not in FORMATS:
        raise Invalid(f"format must be one of {', '.join(FORMATS)}")
    if kind not in FORMAT_KINDS[fmt]:
        fits = [f for f in FORMATS if kind in FORMAT_KINDS[f]]
        raise Invalid(f"a project labelled by {kind} cannot be exported as {fmt}"
                      + (f" (use {' or '.join(fits)})" if fits else ""))

    rows = db.scalars(select(Annotation).where(Annotation.project_id == project.id).order_by(Annotation.id)).all()
    note = ledger.checkpoint()
    size = int(note.split("\n")[1]) if note else 0
    leaves = _integrated_leaves(db, project.id, size, {r.id for r in rows})
    missing = [r.id for r in rows if r.id not in leaves]
    if missing and ledger.queued() == 0 and not _integrated_since(db, size):
        # Nothing waits for the sequencer, so these never will be ledgered: refuse for good.
        raise Conflict(f"annotation version(s) {', '.join(map(str, missing[:10]))} have no ledger leaf; "
                       "they cannot be exported")
    if missing or note is None:
        raise Conflict(f"{len(missing)} annotation version(s) of this project are not yet integrated into the "
                       "ledger; try again shortly", headers={"Retry-After": RETRY_AFTER_S})
    for r in rows:
        if leaves[r.id].data.get("hash") != r.hash:
            raise Conflict(f"annotation {r.id} differs from its ledger leaf; it cannot be exported")
    release = None
    granted = latest_granted(db, project.id)
    if granted is not None:
        found = release_entry(db, granted.id, size)
        if found is None:
            raise Conflict(f"release {granted.id} is not yet integrated into the ledger; try again shortly",
                           headers={"Retry-After": RETRY_AFTER_S})
        release = LeafRecord(found[0], found[1], RELEASE_KIND, found[2])
    records = sorted(leaves.values(), key=lambda e: e.index)
    note, proofs = ledger.inclusion_many([e.index for e in records] + ([release.index] if release else []))
    newest = newest_versions(records)
    shas = {a.item_sha256 for a in newest}
    item_rows = [i for i in db.scalars(select(Item).where(Item.project_id == project.id)).all() if i.sha256 in shas]
    sources = {i.source_item_id for i in item_rows if i.source_item_id is not None}
    source_shas = {i: sha for i, sha in db.execute(select(Item.id, Item.sha256).where(Item.id.in_(sources)))} \
        if sources else {}
    items = [_item(i, source_shas) for i in item_rows]

    out = tempfile.SpooledTemporaryFile(max_size=16 * 1024 * 1024)
    try:
        summary = build_bundle(out, fmt=fmt, project=project.id, labels=labels_for(_schema_labels(schema), newest),
                               items=items, leaves=records, proofs=proofs, checkpoint=note, origin=ledger.origin,
                               public_key=ledger.public_key, release=release)
    except ExportFormatError as exc:
        out.close()
        raise Invalid(f"cannot render {fmt}: {exc}") from None
    out.seek(0)
    digest = hashlib.sha256()
    while chunk := out.read(_CHUNK):
        digest.update(chunk)
    nbytes = out.tell()
    ledger.record(db, EXPORT_KIND, {
        "by": user.username, "role": user.role, "project": project.id, "customer": project.customer_id,
        "format": fmt, "count": summary.exported, "versions": summary.versions, "items": summary.items,
        "checkpoint_size": summary.checkpoint_size, "bytes": nbytes, "sha256": digest.hexdigest(),
        "release": granted.id if granted is not None else None})
    db.commit()
    return ExportFile(out, digest.hexdigest(), nbytes, f"{project.slug}-{fmt}-export.zip", summary.exported,
                      summary.versions)
