"""Synthesis: officers and admins make new items from a project's existing ones by a recipe,
each recorded with its source and recipe in the ledger (controller/services/synthesis.py)."""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from controller.auth import DB, require
from controller.deps import LedgerDep, SessionsDep, SettingsDep
from controller.models import Role, User
from controller.params import Int64
from controller.services import synthesis as svc
from controller.services.scope import customer_scope

router = APIRouter(prefix="/api", tags=["synthesis"])
MAKERS = (Role.admin, Role.officer)


class SynthesisIn(BaseModel):
    recipe: dict[str, Any] = Field(description=(
        "{kind, ...parameters}: speech_from_text {lang: auto|zh|en, rate}, audio_speed {factor}, "
        "audio_noise {snr_db, seed}, audio_reverb {rt60_s, wet, seed}, image_flip {direction}, "
        "image_crop {left, top, width, height, min_visible}, image_scale {factor}, image_brightness {factor}, "
        "text_template {templates, slots, variants, seed, keep_label}"))
    items: list[Int64] | None = Field(None, max_length=svc.MAX_SOURCES,
                                      description="source item ids; omitted: every item of the source project")
    source_project: Int64 | None = Field(None, description="where the sources are (default: this project); "
                                                           "speech_from_text reads a text project")


@router.post("/projects/{project_id}/synthesis", status_code=202)
def synthesise(project_id: Int64, body: SynthesisIn, db: DB, sessions: SessionsDep, ledger: LedgerDep,
               settings: SettingsDep, user: User = require(*MAKERS)) -> JSONResponse:
    """Start making items into this project; answered at once with the run's dataset, whose
    progress and results ``GET .../synthesis/{dataset_id}`` shows. A request that cannot run
    (recipe, modality, sources, a tool missing) is refused whole and nothing is made."""
    plan = svc.plan_synthesis(db, customer_scope(db, user), project_id, body.recipe, body.items,
                              body.source_project, user.username)
    svc.start_in_background(sessions, ledger, settings.data_dir, plan)
    return JSONResponse({"dataset_id": plan.dataset_id, "status": "importing", "sources": len(plan.sources)},
                        status_code=202)


@router.get("/projects/{project_id}/synthesis/{dataset_id}")
def get_run(project_id: Int64, dataset_id: Int64, db: DB, user: User = require(*MAKERS)) -> dict[str, Any]:
    """The run's progress (``dataset``) and each item made so far with its source and recipe."""
    return svc.get_run(db, customer_scope(db, user), project_id, dataset_id)
