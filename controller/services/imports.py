"""Importing content into a project: an uploaded file or zip, or a file or folder under
``<data_dir>/imports/``, becomes a dataset of items, each with its task and the task's k free
slots. A file that cannot come in is refused by name and reason and the import goes on; an item
already in the project (same stored bytes) is counted as a duplicate and not stored twice.

``run_import`` does the work synchronously and commits after every file, so the dataset's
``files_done`` shows progress; the HTTP routes run it in a thread of its own per dataset.

Limits come from the environment (``SITEGUARD_IMPORT_MAX_LINE_BYTES``,
``SITEGUARD_IMPORT_MAX_TEXT_BYTES``, ``..._MAX_AUDIO_BYTES``, ``..._MAX_IMAGE_BYTES``,
``..._MAX_ZIP_BYTES``, ``..._ZIP_MAX_ENTRIES``, ``..._ZIP_MAX_TOTAL_BYTES``,
``..._ZIP_MAX_RATIO``, ``..._ZIP_RATIO_FROM_BYTES``), defaults in ``annotation.intake.Limits``.
"""
from __future__ import annotations

import dataclasses
import logging
import os
import shutil
import stat
import tempfile
import threading
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import sessionmaker

from annotation.intake import (
    AUDIO_KINDS,
    HEAD_BYTES,
    IMAGE_KINDS,
    TEXT_KINDS,
    Kind,
    Limits,
    Refusal,
    Refused,
    ZipEntry,
    admit,
    admit_entry,
    plan_zip,
    text_records,
)
from annotation.text_norm import prepare_text
from controller.annotation_tables import Dataset, Item, Project, Task, TaskSlot
from controller.content_store import ContentStore
from controller.domain_errors import Invalid, NotFound
from controller.ledger import Ledger
from controller.models import iso, utcnow
from controller.preprocess_media import audio_to_wav, clean_image, text_lines
from controller.services.projects import project_or_404
from controller.services.scope import CustomerScope

log = logging.getLogger("siteguard.imports")
COPY_CHUNK = 1 << 20
NAME_MAX = 300
REFUSED_IN_LEDGER = 200  # refused files named in the ledger entry; the count is always whole


def import_limits() -> Limits:
    env = {f.name: os.environ.get(f"SITEGUARD_IMPORT_{f.name.upper()}") for f in dataclasses.fields(Limits)}
    return Limits(**{k: (float(v) if k == "zip_max_ratio" else int(v)) for k, v in env.items() if v})


def imports_root(data_dir: Path) -> Path:
    return Path(data_dir) / "imports"


def work_dir(data_dir: Path) -> Path:
    d = Path(data_dir) / "tmp"
    d.mkdir(parents=True, exist_ok=True)
    return d


def confined_path(data_dir: Path, relative: str) -> Path:
    """The file or folder ``relative`` names under ``<data_dir>/imports/``. Refused: an absolute
    path, a ``..`` step, and any symbolic link on the way, so nothing outside can be reached."""
    root = imports_root(data_dir)
    if not relative or "\x00" in relative or "\\" in relative or relative.startswith("/") or ":" in relative:
        raise Invalid("the path must be relative to the import folder", ["path: outside the import folder"])
    parts = PurePosixPath(relative).parts
    if any(p in ("..", ".") for p in parts) or not parts:
        raise Invalid("the path must stay inside the import folder", ["path: outside the import folder"])
    if not root.is_dir() or root.is_symlink():
        raise NotFound("no such file in the import folder")
    here = root
    for part in parts:
        here = here / part
        try:
            st = os.lstat(here)
        except FileNotFoundError:
            raise NotFound("no such file in the import folder") from None
        if stat.S_ISLNK(st.st_mode):
            raise Invalid("symbolic links are not followed", ["path: a symbolic link"])
    if not here.resolve().is_relative_to(root.resolve()):
        raise Invalid("the path must stay inside the import folder", ["path: outside the import folder"])
    return here


# --- the datasets and their progress ---------------------------------------------------------------

def dataset_view(ds: Dataset) -> dict[str, Any]:
    return {"id": ds.id, "project_id": ds.project_id, "name": ds.name, "status": ds.status,
            "files_total": ds.files_total, "files_done": ds.files_done,
            "progress": round(ds.files_done / ds.files_total, 3) if ds.files_total else (
                1.0 if ds.status != "importing" else 0.0),
            "items_added": ds.items_added, "duplicates": ds.duplicates, "refused": list(ds.refused or []),
            "created_by": ds.created_by, "created_at": iso(ds.created_at), "finished_at": iso(ds.finished_at)}


def new_dataset(db, scope: CustomerScope, project_id: int, name: str, by: str) -> int:
    p = project_or_404(db, scope, project_id)
    ds = Dataset(project_id=p.id, name=safe_name(name) or "upload", status="importing", refused=[], created_by=by)
    db.add(ds)
    db.commit()
    return ds.id


def get_dataset(db, scope: CustomerScope, project_id: int, dataset_id: int) -> dict[str, Any]:
    project_or_404(db, scope, project_id)
    ds = db.get(Dataset, dataset_id)
    if ds is None or ds.project_id != project_id:
        raise NotFound("no such dataset")
    return dataset_view(ds)


def list_datasets(db, scope: CustomerScope, project_id: int) -> list[dict[str, Any]]:
    project_or_404(db, scope, project_id)
    return [dataset_view(d) for d in db.scalars(select(Dataset).where(Dataset.project_id == project_id)
                                                 .order_by(Dataset.id))]


def item_view(i: Item) -> dict[str, Any]:
    return {"id": i.id, "dataset_id": i.dataset_id, "sha256": i.sha256, "media_type": i.media_type, "size": i.size,
            "source_name": i.source_name, "meta": i.meta, "created_at": iso(i.created_at)}


def list_items(db, scope: CustomerScope, project_id: int, page: int, per_page: int,
               dataset_id: int | None = None) -> dict[str, Any]:
    project_or_404(db, scope, project_id)
    where = [Item.project_id == project_id] + ([Item.dataset_id == dataset_id] if dataset_id is not None else [])
    total = db.scalar(select(func.count()).select_from(Item).where(*where))
    rows = db.scalars(select(Item).where(*where).order_by(Item.id).offset((page - 1) * per_page).limit(per_page))
    return {"items": [item_view(i) for i in rows], "total": total, "page": page, "per_page": per_page}


def safe_name(name: str) -> str:
    """A name to show and keep: no directory of the client's, no control characters."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    return "".join(c for c in base if c.isprintable())[:NAME_MAX]


# --- the import itself -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Piece:
    """One item's stored bytes, ready to go in."""

    data: bytes
    media_type: str
    meta: dict[str, Any]
    gold: dict[str, Any] | None = None  # the known answer: the item is gold


@dataclass
class _Run:
    sessions: sessionmaker
    store: ContentStore
    work: Path
    limits: Limits
    dataset_id: int
    project_id: int
    modality: str
    k: int
    mask: bool


def start_in_background(sessions: sessionmaker, ledger: Ledger, data_dir: Path, dataset_id: int, source: Path,
                        remove_source: bool) -> threading.Thread:
    t = threading.Thread(target=run_import, args=(sessions, ledger, data_dir, dataset_id, source),
                         kwargs={"remove_source": remove_source, "limits": import_limits()},
                         daemon=True, name=f"import-{dataset_id}")
    t.start()
    return t


def run_import(sessions: sessionmaker, ledger: Ledger, data_dir: Path, dataset_id: int, source: Path,
               remove_source: bool = False, limits: Limits | None = None) -> dict[str, Any]:
    """Import ``source`` (a file, a zip or, from the import folder, a folder) into the dataset's
    project; returns the dataset as it ends. Never raises for a bad file: each is refused and the
    import goes on. A failure of the controller itself marks the dataset failed."""
    limits = limits or import_limits()
    with sessions() as db:
        ds = db.get(Dataset, dataset_id)
        project = db.get(Project, ds.project_id)
        run = _Run(sessions, ContentStore(data_dir), work_dir(data_dir), limits, ds.id, project.id,
                   project.modality, max(1, project.annotators_per_task), project.mask_personal_data)
        upload_name = ds.name
    try:
        if source.is_dir():
            _import_folder(run, source)
        else:
            _import_file_or_zip(run, source, upload_name)
        status = "done"
    except Exception:
        log.exception("import of dataset %s failed", dataset_id)
        status = "failed"
    finally:
        if remove_source:
            Path(source).unlink(missing_ok=True)
    with sessions() as db:
        ds = db.get(Dataset, dataset_id)
        ds.status, ds.finished_at = status, utcnow()
        project = db.get(Project, ds.project_id)
        refused = list(ds.refused or [])
        ledger.record(db, "dataset.imported", {
            "project": project.id, "customer_id": project.customer_id, "dataset": ds.id, "name": ds.name,
            "status": status, "files_total": ds.files_total, "files_done": ds.files_done,
            "items_added": ds.items_added, "duplicates": ds.duplicates, "refused_count": len(refused),
            "refused": refused[:REFUSED_IN_LEDGER], "by": ds.created_by})
        db.commit()
        return dataset_view(ds)


def _set_total(run: _Run, total: int) -> None:
    with run.sessions() as db:
        ds = db.get(Dataset, run.dataset_id)
        ds.files_total = total
        db.commit()


def _refuse(run: _Run, name: str, reason: Refusal, line: int | None = None) -> None:
    with run.sessions() as db:
        ds = db.get(Dataset, run.dataset_id)
        _note_refusal(ds, name, reason, line)
        ds.files_done += 1
        db.commit()


def _note_refusal(ds: Dataset, name: str, reason: Refusal, line: int | None) -> None:
    entry: dict[str, Any] = {"file": name, "reason": reason.value}
    if line is not None:
        entry["line"] = line
    ds.refused = [*(ds.refused or []), entry]


def _import_file_or_zip(run: _Run, path: Path, name: str) -> None:
    size, head = _size_and_head(path)
    kind = admit(name, head, size, run.modality, run.limits)
    if kind is Kind.zip:
        _import_zip(run, path, name)
        return
    _set_total(run, 1)
    if isinstance(kind, Refusal):
        _refuse(run, name, kind)
        return
    _import_one(run, path, name, kind)


def _import_folder(run: _Run, folder: Path) -> None:
    """Every file under ``folder``, in name order, as if each were uploaded alone (a zip among
    them is unpacked); symbolic links are refused, never followed."""
    found: list[tuple[str, Path, bool]] = []
    for here, dirs, files in os.walk(folder, followlinks=False):
        for d in list(dirs):
            if os.path.islink(os.path.join(here, d)):
                found.append((os.path.relpath(os.path.join(here, d), folder), Path(here) / d, False))
                dirs.remove(d)
        for f in files:
            p = Path(here) / f
            found.append((os.path.relpath(p, folder), p, not p.is_symlink() and p.is_file()))
    found.sort()
    zips = [(n, p) for n, p, ok in found if ok and admit(n, _size_and_head(p)[1], 1, run.modality,
                                                         run.limits) is Kind.zip]
    _set_total(run, len(found) - len(zips))
    for rel, p, regular in found:
        if (rel, p) in zips:
            _import_zip(run, p, rel, add_to_total=True)
        elif not regular:
            _refuse(run, rel, Refusal.unsafe_path)
        else:
            size, head = _size_and_head(p)
            kind = admit_entry(rel, head, size, run.modality, run.limits)
            if isinstance(kind, Refusal):
                _refuse(run, rel, kind)
            else:
                _import_one(run, p, rel, kind)


def _import_zip(run: _Run, path: Path, name: str, add_to_total: bool = False) -> None:
    def total(n: int) -> None:
        if add_to_total:
            with run.sessions() as db:
                db.get(Dataset, run.dataset_id).files_total += n
                db.commit()
        else:
            _set_total(run, n)

    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError):
        total(1)
        _refuse(run, name, Refusal.bad_zip)
        return
    with zf:
        infos = zf.infolist()
        plan = plan_zip([ZipEntry(i.filename, i.compress_size, i.file_size, i.is_dir()) for i in infos], run.limits)
        if plan.whole is not None:
            total(1)
            _refuse(run, name, plan.whole)
            return
        total(len(plan.take) + len(plan.refused))
        for entry_name, reason in plan.refused:
            _refuse(run, entry_name, reason)
        by_name = {i.filename: i for i in infos}
        for entry in plan.take:
            with _unpacked(zf, by_name[entry.name], run.work) as (tmp, reason):
                if reason is not None:
                    _refuse(run, entry.name, reason)
                    continue
                size, head = _size_and_head(tmp)
                kind = admit_entry(entry.name, head, size, run.modality, run.limits)
                if isinstance(kind, Refusal):
                    _refuse(run, entry.name, kind)
                else:
                    _import_one(run, tmp, entry.name, kind)


@contextmanager
def _unpacked(zf: zipfile.ZipFile, info: zipfile.ZipInfo, work: Path) -> Iterator[tuple[Path, Refusal | None]]:
    """The entry inflated into a temporary file, stopped at its declared size: one that inflates
    past it is a zip bomb, whatever its directory said."""
    fd, tmp = tempfile.mkstemp(dir=work, prefix="entry-")
    reason: Refusal | None = None
    try:
        with os.fdopen(fd, "wb") as out:
            try:
                with zf.open(info) as src:
                    written = 0
                    while chunk := src.read(COPY_CHUNK):
                        written += len(chunk)
                        if written > info.file_size:
                            reason = Refusal.zip_bomb
                            break
                        out.write(chunk)
            except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, NotImplementedError,
                    RuntimeError, ValueError):  # a bad CRC, an unknown method, an encrypted entry
                reason = Refusal.bad_zip
        yield Path(tmp), reason
    finally:
        Path(tmp).unlink(missing_ok=True)


def _size_and_head(path: Path) -> tuple[int, bytes]:
    with open(path, "rb") as f:
        return os.fstat(f.fileno()).st_size, f.read(HEAD_BYTES)


def _pieces(run: _Run, path: Path, kind: Kind) -> list[Piece]:
    """The file's items, prepared; raises Refused for a file that cannot come in."""
    if kind in TEXT_KINDS:
        out = []
        for rec in text_records(kind, text_lines(path, run.limits.max_line_bytes)):
            prepared = prepare_text(rec.text, run.mask)
            meta: dict[str, Any] = {"source_kind": kind.value, "line": rec.line, "masks": list(prepared.masks),
                                    "chars": len(prepared.text)}
            if rec.source_id is not None:
                meta["source_id"] = rec.source_id
            out.append(Piece(prepared.text.encode("utf-8"), "text/plain", meta, rec.extra.get("gold")))
        return out
    if kind in AUDIO_KINDS:
        media = audio_to_wav(path, run.work)
        return [Piece(media.data, media.media_type, {"source_kind": kind.value, **media.meta})]
    if kind in IMAGE_KINDS:
        media = clean_image(path, kind)
        return [Piece(media.data, media.media_type, {"source_kind": kind.value, **media.meta})]
    raise Refused(Refusal.unknown_type)


def _import_one(run: _Run, path: Path, name: str, kind: Kind) -> None:
    try:
        pieces = _pieces(run, path, kind)
    except Refused as r:
        _refuse(run, name, r.reason, r.line)
        return
    stored = [(run.store.put_bytes(p.data), p) for p in pieces]
    for attempt in (1, 2):  # a second import of the same bytes may win the race: look again
        try:
            _add_items(run, name, stored)
            return
        except IntegrityError:
            if attempt == 2:
                raise


def _add_items(run: _Run, name: str, stored: list[tuple[tuple[str, int], Piece]]) -> None:
    """The file's new items, their tasks and slots, and the dataset's counts, in one commit."""
    with run.sessions() as db:
        shas = {sha for (sha, _), _ in stored}
        known = set(db.scalars(select(Item.sha256).where(Item.project_id == run.project_id,
                                                         Item.sha256.in_(shas)))) if shas else set()
        added = dups = 0
        for (sha, size), piece in stored:
            if sha in known:
                dups += 1
                continue
            known.add(sha)
            item = Item(project_id=run.project_id, dataset_id=run.dataset_id, sha256=sha,
                        media_type=piece.media_type, size=size, source_name=name[:NAME_MAX], meta=piece.meta,
                        is_gold=piece.gold is not None, gold_answer=piece.gold)
            db.add(item)
            db.flush()
            task = Task(project_id=run.project_id, item_id=item.id, wanted=run.k, submitted=0, status="open")
            db.add(task)
            db.flush()
            db.add_all(TaskSlot(project_id=run.project_id, task_id=task.id, slot=i, state="free")
                       for i in range(run.k))
            added += 1
        ds = db.get(Dataset, run.dataset_id)
        ds.items_added += added
        ds.duplicates += dups
        ds.files_done += 1
        if added == 0 and dups > 0:
            _note_refusal(ds, name, Refusal.duplicate, None)
        db.commit()


def copy_into(src, dest_dir: Path, prefix: str) -> Path:
    """A file object's bytes in a new temporary file under ``dest_dir``, copied in chunks."""
    dest_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest_dir, prefix=prefix)
    with os.fdopen(fd, "wb") as out:
        shutil.copyfileobj(src, out, COPY_CHUNK)
    return Path(tmp)
