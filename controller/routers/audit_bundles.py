"""Audit bundles from the pages and the API: made in the background into the controller's data
folder (progress in a status file any worker can read), then downloaded as a stream from disk.
The segments' bytes are fetched from the site's edge agent a chunk at a time."""
from __future__ import annotations

import datetime as dt
import json
import os
import re
import threading
import time
import uuid
from pathlib import Path

from fastapi import APIRouter, HTTPException, status
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field

from controller.auth import SITE_READERS, CurrentUser, require
from controller.deps import EdgeDep, LedgerDep, SessionsDep, SettingsDep
from controller.domain_errors import DomainError
from controller.params import Int64
from controller.services.audit_bundle import BundleRequest, EdgeRecordings, build

router = APIRouter(prefix="/api", tags=["ledger"])
_ID = re.compile(r"[0-9a-f]{32}\Z")


class BundleAsk(BaseModel):
    start: dt.datetime = Field(alias="from")
    end: dt.datetime = Field(alias="to")
    cameras: list[str] | None = Field(None, max_length=500)
    reason: str = Field("", max_length=500)
    manifests_only: bool = False


def _folder(settings) -> Path:
    folder = Path(settings.data_dir) / "audit-bundles"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _write_status(path: Path, doc: dict) -> None:
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(doc))
    os.replace(tmp, path)


@router.post("/sites/{site_id}/audit-bundles", status_code=202, dependencies=[require(*SITE_READERS)])
def start_bundle(site_id: Int64, ask: BundleAsk, user: CurrentUser, settings: SettingsDep, ledger: LedgerDep,
                 edge: EdgeDep, sessions: SessionsDep) -> dict:
    """Start an audit bundle of the site for the period; its making is ledgered (who, when, why)."""
    job = uuid.uuid4().hex
    folder = _folder(settings)
    state = folder / f"{job}.json"
    doc = {"id": job, "site_id": site_id, "by": user.username, "state": "running", "done": 0, "total": 0,
           "stage": "starting", "error": None}
    _write_status(state, doc)
    req = BundleRequest(site_id, ask.start, ask.end, by=user.username, reason=ask.reason, cameras=ask.cameras,
                        manifests_only=ask.manifests_only)
    source = None if ask.manifests_only else EdgeRecordings(edge, site_id, settings.command_timeout_s)

    def run() -> None:
        last = [0.0]

        def progress(stage: str, done: int, total: int) -> None:
            if time.monotonic() - last[0] > 0.5 or stage == "done":
                last[0] = time.monotonic()
                _write_status(state, {**doc, "stage": stage, "done": done, "total": total})
        part = folder / f"{job}.tar.part"
        try:
            with part.open("wb") as out:
                summary = build(sessions, ledger, req, out, source, progress)
            os.replace(part, folder / f"{job}.tar")
            _write_status(state, {**doc, "state": "done", "stage": "done", "done": summary.bytes_total,
                                  "total": summary.bytes_total, "segments": summary.segments,
                                  "missing": summary.missing[:100], "ledger_index": summary.creation_index})
        except DomainError as exc:
            part.unlink(missing_ok=True)
            _write_status(state, {**doc, "state": "failed", "error": str(exc)})
        except Exception as exc:  # noqa: BLE001 - the page must learn that it failed
            part.unlink(missing_ok=True)
            _write_status(state, {**doc, "state": "failed", "error": f"{type(exc).__name__}: {exc}"})

    threading.Thread(target=run, name=f"audit-bundle-{job[:8]}", daemon=True).start()
    return doc


def _status(settings, job: str) -> dict:
    if not _ID.match(job):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such bundle")
    try:
        return json.loads((_folder(settings) / f"{job}.json").read_text())
    except (OSError, ValueError):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such bundle") from None


@router.get("/audit-bundles/{job}", dependencies=[require(*SITE_READERS)])
def bundle_status(job: str, settings: SettingsDep) -> dict:
    """How far the bundle is: state (running, done, failed), bytes of segments done and in all."""
    return _status(settings, job)


@router.get("/audit-bundles/{job}/file", dependencies=[require(*SITE_READERS)], response_class=FileResponse)
def bundle_file(job: str, settings: SettingsDep) -> FileResponse:
    """The finished bundle (tar), streamed from disk."""
    doc = _status(settings, job)
    if doc.get("state") != "done":
        raise HTTPException(status.HTTP_409_CONFLICT, "the bundle is not finished")
    return FileResponse(_folder(settings) / f"{job}.tar", media_type="application/x-tar",
                        filename=f"audit-bundle-{job[:12]}.tar")
