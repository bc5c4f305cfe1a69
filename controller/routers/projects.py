"""Annotation projects, their members, their imports and their items. Officers and admins make
projects and choose annotators; they and the project's customer import; a customer sees its own
projects only (another's reads as missing)."""
from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from controller.auth import DB, CurrentUser, require
from controller.deps import LedgerDep, SessionsDep, SettingsDep
from controller.models import Role, User
from controller.params import Int64
from controller.services import imports as imp
from controller.services import projects as svc
from controller.services.scope import customer_scope
from controller.uploads import receive_file

router = APIRouter(prefix="/api", tags=["projects"])
READERS = (Role.admin, Role.officer, Role.inspector, Role.customer)
IMPORTERS = (Role.admin, Role.officer, Role.customer)


class LabelSchemaIn(BaseModel):
    kind: Literal["classification", "multi_label", "spans", "transcript", "boxes"]
    labels: list[str] = Field(default_factory=list, max_length=500)


class ProjectIn(BaseModel):
    customer_id: Int64
    slug: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9-]*$")
    name: str = Field(min_length=1, max_length=200)
    modality: Literal["text", "audio", "image"]
    label_schema: LabelSchemaIn
    annotators_per_task: int = Field(1, ge=1, le=50)
    mask_personal_data: bool = False
    gold_share: float = Field(0.1, ge=0, le=1, description="the share of served tasks that are gold")
    accuracy_target: float = Field(0.95, gt=0, le=1, description="the accuracy a release must prove")


class QualitySettingsIn(BaseModel):
    gold_share: float | None = Field(None, ge=0, le=1, description="the share of served tasks that are gold")
    accuracy_target: float | None = Field(None, gt=0, le=1, description="the accuracy a release must prove")


class MemberIn(BaseModel):
    user_id: Int64
    can_review: bool = False


class PathImportIn(BaseModel):
    path: str = Field(min_length=1, max_length=1000, description="relative to <data_dir>/imports/")


@router.post("/projects", status_code=201)
def create_project(body: ProjectIn, db: DB, ledger: LedgerDep,
                   user: User = require(Role.admin, Role.officer)) -> dict[str, Any]:
    return svc.create_project(db, ledger, customer_id=body.customer_id, slug=body.slug, name=body.name,
                              modality=body.modality, label_schema=body.label_schema.model_dump(),
                              annotators_per_task=body.annotators_per_task,
                              mask_personal_data=body.mask_personal_data, gold_share=body.gold_share,
                              accuracy_target=body.accuracy_target, by=user.username)


@router.get("/projects", dependencies=[require(*READERS)])
def list_projects(db: DB, user: CurrentUser, customer_id: Int64 | None = None) -> list[dict[str, Any]]:
    return svc.list_projects(db, customer_scope(db, user), customer_id)


@router.get("/projects/{project_id}", dependencies=[require(*READERS)])
def get_project(project_id: Int64, db: DB, user: CurrentUser) -> dict[str, Any]:
    return svc.get_project(db, customer_scope(db, user), project_id)


@router.patch("/projects/{project_id}/quality-settings")
def change_quality_settings(project_id: Int64, body: QualitySettingsIn, db: DB, ledger: LedgerDep,
                            user: User = require(Role.admin, Role.officer)) -> dict[str, Any]:
    """Change the project's gold share and accuracy target (ledgered, before and after)."""
    return svc.change_quality_settings(db, ledger, customer_scope(db, user), project_id, user.username,
                                       gold_share=body.gold_share, accuracy_target=body.accuracy_target)


@router.get("/projects/{project_id}/members", dependencies=[require(Role.admin, Role.officer)])
def list_members(project_id: Int64, db: DB, user: CurrentUser) -> list[dict[str, Any]]:
    return svc.list_members(db, customer_scope(db, user), project_id)


@router.post("/projects/{project_id}/members", status_code=201)
def add_member(project_id: Int64, body: MemberIn, db: DB, ledger: LedgerDep,
               user: User = require(Role.admin, Role.officer)) -> dict[str, Any]:
    """Make an annotator a member (``can_review``: a reviewer too)."""
    return svc.add_member(db, ledger, customer_scope(db, user), project_id, body.user_id, body.can_review,
                          user.username)


@router.delete("/projects/{project_id}/members/{user_id}", status_code=204)
def remove_member(project_id: Int64, user_id: Int64, db: DB, ledger: LedgerDep,
                  user: User = require(Role.admin, Role.officer)) -> None:
    svc.remove_member(db, ledger, customer_scope(db, user), project_id, user_id, user.username)


@router.post("/projects/{project_id}/datasets", status_code=202,
             openapi_extra={"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
                 "type": "object", "required": ["file"],
                 "properties": {"file": {"type": "string", "format": "binary"}}}}}}})
async def upload_dataset(project_id: Int64, request: Request, sessions: SessionsDep, ledger: LedgerDep,
                         settings: SettingsDep, user: User = require(*IMPORTERS)) -> JSONResponse:
    """Import one file or a zip (multipart field ``file``); answered at once with the dataset,
    whose progress ``GET .../datasets/{id}`` shows while the import runs."""
    def check() -> None:
        with sessions() as db:
            svc.project_or_404(db, customer_scope(db, user), project_id)
    await run_in_threadpool(check)  # before a byte of the body is read
    path, name = await receive_file(request, imp.work_dir(settings.data_dir))
    try:
        dataset_id = await run_in_threadpool(_new_dataset, sessions, user, project_id, name)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    imp.start_in_background(sessions, ledger, settings.data_dir, dataset_id, path, remove_source=True)
    return JSONResponse({"dataset_id": dataset_id, "status": "importing"}, status_code=202)


def _new_dataset(sessions, user: User, project_id: int, name: str) -> int:
    with sessions() as db:
        return imp.new_dataset(db, customer_scope(db, user), project_id, name, user.username)


@router.post("/projects/{project_id}/datasets/from-path", status_code=202)
def import_from_path(project_id: Int64, body: PathImportIn, db: DB, sessions: SessionsDep, ledger: LedgerDep,
                     settings: SettingsDep, user: User = require(Role.admin, Role.officer)) -> JSONResponse:
    """Import a file, zip or folder already on the controller, under ``<data_dir>/imports/``;
    anything outside it (absolute, ``..``, a symbolic link) is refused."""
    scope = customer_scope(db, user)
    svc.project_or_404(db, scope, project_id)
    source = imp.confined_path(settings.data_dir, body.path)
    dataset_id = imp.new_dataset(db, scope, project_id, body.path, user.username)
    imp.start_in_background(sessions, ledger, settings.data_dir, dataset_id, source, remove_source=False)
    return JSONResponse({"dataset_id": dataset_id, "status": "importing"}, status_code=202)


@router.get("/projects/{project_id}/datasets", dependencies=[require(*READERS)])
def list_datasets(project_id: Int64, db: DB, user: CurrentUser) -> list[dict[str, Any]]:
    return imp.list_datasets(db, customer_scope(db, user), project_id)


@router.get("/projects/{project_id}/datasets/{dataset_id}", dependencies=[require(*READERS)])
def get_dataset(project_id: Int64, dataset_id: Int64, db: DB, user: CurrentUser) -> dict[str, Any]:
    """The import's progress (``files_done`` of ``files_total``), counts and refusals."""
    return imp.get_dataset(db, customer_scope(db, user), project_id, dataset_id)


@router.get("/projects/{project_id}/items", dependencies=[require(*READERS)])
def list_items(project_id: Int64, db: DB, user: CurrentUser, page: int = Query(1, ge=1, le=1_000_000),
               per_page: int = Query(50, ge=1, le=500), dataset_id: Int64 | None = None) -> dict[str, Any]:
    return imp.list_items(db, customer_scope(db, user), project_id, page, per_page, dataset_id)
