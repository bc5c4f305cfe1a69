"""Synthesis: new items made from a project's existing ones by a recipe
(annotation/synthesis/recipes.py), each with its provenance.

A request names the target project, the recipe and the source items (or all items of a source
project: speech is made in an audio project from a text project of the same customer). It is
checked whole before anything starts (recipe, modalities, the sources, the tools on this
machine); a bad request is refused and nothing is made. A run is a dataset of the target
project, with the import's progress fields (``files_total`` = sources, ``files_done``, status
``importing`` while it runs, then ``done`` or ``failed``); a source that cannot be used (a tool
fails on it, a crop that does not fit it) is refused by item and reason and the run goes on.

Each new item, in one transaction: the item (``source_item_id``, ``recipe``), its task and free
slots as an import makes them, and the ledger leaf ``item.synthesised`` with the source's and
the new item's content hashes and the recipe. What the source's answer becomes
(annotation/synthesis/answers.py): speech from text is gold, its text the transcript; a gold
source's answer carried over exactly makes gold; otherwise an accepted annotation (or the
source's own proposal) carried over is the new item's proposal. ``meta.synthesis.answer_from``
says which.
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import sessionmaker

from annotation.synthesis import answers
from annotation.synthesis.recipes import (
    SOURCE_MODALITY,
    TARGET_MODALITY,
    Recipe,
    RecipeError,
    SpeechFromText,
    TextTemplate,
    parse_recipe,
)
from annotation.synthesis.templates import variants
from annotation.text_norm import prepare_text
from controller.annotation_tables import Annotation, Dataset, Item, Project, Review, Task, TaskSlot
from controller.content_store import ContentStore
from controller.domain_errors import Conflict, Invalid, NotFound
from controller.ledger import Ledger
from controller.models import utcnow
from controller.services.imports import NAME_MAX, dataset_view, work_dir
from controller.services.projects import project_or_404
from controller.services.scope import CustomerScope
from controller.synthesis_media import MediaError, speak, tool_problem, vary_audio, vary_image

log = logging.getLogger("siteguard.synthesis")
ITEM_KIND = "item.synthesised"
RUN_KIND = "dataset.synthesised"
MAX_SOURCES = 10_000
MEDIA_PREFIX = {"text": "text/", "audio": "audio/", "image": "image/"}


class ToolMissing(Conflict):
    """This machine lacks a tool the recipe needs (installed by scripts/setup.sh)."""


@dataclass(frozen=True)
class Plan:
    dataset_id: int
    project_id: int
    recipe: Recipe
    sources: tuple[int, ...]
    by: str


@dataclass(frozen=True)
class Made:
    data: bytes
    media_type: str
    meta: dict[str, Any]
    recipe: dict[str, Any]  # the recipe as kept, with what this variant drew
    gold: dict[str, Any] | None
    proposal: dict[str, Any] | None
    answer_from: str | None
    suffix: str  # file name suffix


def plan_synthesis(db, scope: CustomerScope, project_id: int, recipe_json: dict[str, Any],
                   item_ids: list[int] | None, source_project_id: int | None, by: str) -> Plan:
    """Check the request whole and open its dataset; raises (nothing made) when it cannot run."""
    target = project_or_404(db, scope, project_id)
    try:
        recipe = parse_recipe(recipe_json)
    except RecipeError as exc:
        raise Invalid("the recipe cannot be made", exc.problems) from None
    source_project = target if source_project_id is None else project_or_404(db, scope, source_project_id)
    if source_project.customer_id != target.customer_id:
        raise Invalid("the source project belongs to another customer; items are made within one customer")
    problems = []
    if target.modality != TARGET_MODALITY[recipe.kind]:
        problems.append(f"{recipe.kind} makes {TARGET_MODALITY[recipe.kind]} items; project {target.id} is "
                        f"a {target.modality} project")
    if source_project.modality != SOURCE_MODALITY[recipe.kind]:
        problems.append(f"{recipe.kind} reads {SOURCE_MODALITY[recipe.kind]} items; the source project "
                        f"{source_project.id} is a {source_project.modality} project"
                        + (" (name a text project as source_project)" if recipe.kind == "speech_from_text" else ""))
    if problems:
        raise Invalid("the recipe does not fit these projects", problems)
    if item_ids:
        ids = list(dict.fromkeys(item_ids))
        found = set(db.scalars(select(Item.id).where(Item.project_id == source_project.id, Item.id.in_(ids))))
        missing = [i for i in ids if i not in found]
        if missing:
            raise Invalid(f"{len(missing)} source item(s) are not in project {source_project.id}",
                          [f"items: {i} is not an item of project {source_project.id}" for i in missing[:20]])
    else:
        ids = list(db.scalars(select(Item.id).where(Item.project_id == source_project.id).order_by(Item.id)
                              .limit(MAX_SOURCES + 1)))
        if not ids:
            raise Invalid(f"project {source_project.id} has no items to make anything from")
    if len(ids) > MAX_SOURCES:
        raise Invalid(f"at most {MAX_SOURCES} source items per request")
    missing_tool = tool_problem(recipe.kind)
    if missing_tool:
        raise ToolMissing(f"{recipe.kind} cannot run on this controller: {missing_tool}")
    ds = Dataset(project_id=target.id, name=f"synthesis: {recipe.kind}", status="importing", refused=[],
                 files_total=len(ids), created_by=by)
    db.add(ds)
    db.commit()
    return Plan(ds.id, target.id, recipe, tuple(ids), by)


def start_in_background(sessions: sessionmaker, ledger: Ledger, data_dir: Path, plan: Plan) -> threading.Thread:
    t = threading.Thread(target=run_synthesis, args=(sessions, ledger, data_dir, plan), daemon=True,
                         name=f"synthesis-{plan.dataset_id}")
    t.start()
    return t


def run_synthesis(sessions: sessionmaker, ledger: Ledger, data_dir: Path, plan: Plan) -> dict[str, Any]:
    """Make the plan's items, one source at a time, each committed with its leaf; returns the
    dataset as it ends. A failure of the controller itself marks the dataset failed."""
    store, work = ContentStore(data_dir), work_dir(data_dir)
    status = "done"
    try:
        for source_id in plan.sources:
            _one_source(sessions, ledger, store, work, plan, source_id)
    except Exception:
        log.exception("synthesis run %s failed", plan.dataset_id)
        status = "failed"
    with sessions() as db:
        ds = db.get(Dataset, plan.dataset_id)
        ds.status, ds.finished_at = status, utcnow()
        project = db.get(Project, plan.project_id)
        ledger.record(db, RUN_KIND, {
            "project": project.id, "customer_id": project.customer_id, "dataset": ds.id,
            "recipe": plan.recipe.to_json(), "status": status, "sources": len(plan.sources),
            "items_added": ds.items_added, "duplicates": ds.duplicates, "refused_count": len(ds.refused or []),
            "by": plan.by})
        db.commit()
        return dataset_view(ds)


def _source_name(source: Item, kind: str, suffix: str, media_type: str) -> str:
    stem = PurePosixPath(source.source_name or source.sha256[:12]).stem
    ext = {"audio/wav": ".wav", "image/png": ".png", "text/plain": ".txt"}.get(media_type, "")
    return f"{stem}-{source.id}-{kind}{suffix}{ext}"[-NAME_MAX:]


def accepted_result(db, item_id: int) -> tuple[int, dict[str, Any]] | None:
    """The newest reviewed-and-accepted result on the item's task (a fix's fixed version)."""
    row = db.execute(select(Review.decision, Review.annotation_id, Review.fixed_annotation_id)
                     .join(Annotation, Annotation.id == Review.annotation_id)
                     .join(Task, Task.id == Annotation.task_id)
                     .where(Task.item_id == item_id, Review.decision.in_(("accept", "fix")))
                     .order_by(Review.id.desc()).limit(1)).first()
    if row is None:
        return None
    aid = row.fixed_annotation_id if row.decision == "fix" and row.fixed_annotation_id else row.annotation_id
    result = db.scalar(select(Annotation.result).where(Annotation.id == aid))
    return (aid, result) if isinstance(result, dict) else None


def _known_answers(db, source: Item) -> tuple[dict[str, Any] | None, tuple[str, dict[str, Any]] | None]:
    gold = source.gold_answer if source.is_gold and isinstance(source.gold_answer, dict) else None
    accepted = accepted_result(db, source.id)
    if accepted is not None:
        return gold, (f"accepted_annotation:{accepted[0]}", accepted[1])
    if isinstance(source.proposal, dict):
        return gold, ("proposal", source.proposal)
    return gold, None


def make(recipe: Recipe, source: Item, data: bytes, gold: dict[str, Any] | None,
         other: tuple[str, dict[str, Any]] | None, work: Path, mask: bool) -> list[Made]:
    """What the recipe makes of one source (its stored bytes and known answers)."""
    meta = source.meta or {}
    if isinstance(recipe, SpeechFromText):
        text = data.decode("utf-8")
        media = speak(text, recipe.lang, recipe.rate, work)
        return [Made(media.data, media.media_type, dict(media.meta), recipe.to_json(),
                     answers.speech_gold(text, media.meta["duration_s"]), None, "source_text", "")]
    if isinstance(recipe, TextTemplate):
        out = []
        for n, ex in enumerate(variants(recipe.templates, recipe.slot_map(), data.decode("utf-8"), source.sha256,
                                        recipe.variants, recipe.seed)):
            prepared = prepare_text(ex.text, mask)
            exact = prepared.text == ex.text  # normalising and masking changed nothing: spans land as computed
            g = answers.text_answer(recipe, gold, ex.source_at) if exact else None
            p = answers.text_answer(recipe, other[1], ex.source_at) if exact and other and g is None else None
            out.append(Made(prepared.text.encode("utf-8"), "text/plain",
                            {"chars": len(prepared.text), "masks": list(prepared.masks)},
                            {**recipe.to_json(), "variant": n, "template": ex.template, "values": dict(ex.values)},
                            g, p, "gold" if g else (other[0] if p else None), f"-{n + 1}"))
        return out
    if recipe.kind.startswith("audio_"):
        media = vary_audio(data, recipe, work)
        g = answers.audio_answer(recipe, gold)
        p = answers.audio_answer(recipe, other[1]) if other and g is None else None
        return [Made(media.data, media.media_type, dict(media.meta), recipe.to_json(), g, p,
                     "gold" if g else (other[0] if p else None), "")]
    width, height = meta.get("width"), meta.get("height")
    media = vary_image(data, recipe, work)
    if not (isinstance(width, int) and isinstance(height, int)):
        g = p = None
    else:
        g = answers.image_answer(recipe, gold, width, height)
        p = answers.image_answer(recipe, other[1], width, height) if other and g is None else None
    return [Made(media.data, media.media_type, dict(media.meta), recipe.to_json(), g, p,
                 "gold" if g else (other[0] if p else None), "")]


def _refuse(sessions: sessionmaker, dataset_id: int, source_id: int, reason: str, message: str) -> None:
    with sessions() as db:
        ds = db.get(Dataset, dataset_id)
        ds.refused = [*(ds.refused or []), {"file": f"item {source_id}", "item": source_id, "reason": reason,
                                            "message": message[:300]}]
        ds.files_done += 1
        db.commit()


def _one_source(sessions: sessionmaker, ledger: Ledger, store: ContentStore, work: Path, plan: Plan,
                source_id: int) -> None:
    recipe = plan.recipe
    with sessions() as db:
        source = db.get(Item, source_id)
        if source is None:
            _refuse(sessions, plan.dataset_id, source_id, "gone", "the source item was removed meanwhile")
            return
        db.expunge(source)
        gold, other = _known_answers(db, source)
        mask = db.get(Project, plan.project_id).mask_personal_data
    if not source.media_type.startswith(MEDIA_PREFIX[SOURCE_MODALITY[recipe.kind]]):
        _refuse(sessions, plan.dataset_id, source_id, "wrong_modality",
                f"{recipe.kind} reads {SOURCE_MODALITY[recipe.kind]}; this item is {source.media_type}")
        return
    try:
        made = make(recipe, source, store.read_bytes(source.sha256), gold, other, work, mask)
    except MediaError as exc:
        _refuse(sessions, plan.dataset_id, source_id, exc.reason, exc.message)
        return
    except (OSError, UnicodeDecodeError) as exc:
        _refuse(sessions, plan.dataset_id, source_id, "unreadable_source", f"{type(exc).__name__}: {exc}")
        return
    stored = [(store.put_bytes(m.data), m) for m in made]
    for attempt in (1, 2):  # another run may store the same bytes at the same moment: look again
        try:
            _add_items(sessions, ledger, plan, source, stored)
            return
        except IntegrityError:
            if attempt == 2:
                raise


def _add_items(sessions: sessionmaker, ledger: Ledger, plan: Plan, source: Item,
               stored: list[tuple[tuple[str, int], Made]]) -> None:
    with sessions() as db:
        project = db.get(Project, plan.project_id)
        k = max(1, project.annotators_per_task)
        shas = {sha for (sha, _), _ in stored}
        known = set(db.scalars(select(Item.sha256).where(Item.project_id == project.id, Item.sha256.in_(shas))))
        added = dups = 0
        for (sha, size), m in stored:
            if sha in known:
                dups += 1
                continue
            known.add(sha)
            meta = {**m.meta, "synthesis": {"source_item": source.id, "answer_from": m.answer_from}}
            item = Item(project_id=project.id, dataset_id=plan.dataset_id, sha256=sha, media_type=m.media_type,
                        size=size, source_name=_source_name(source, m.recipe["kind"], m.suffix, m.media_type),
                        meta=meta, is_gold=m.gold is not None, gold_answer=m.gold, proposal=m.proposal,
                        source_item_id=source.id, recipe=m.recipe)
            db.add(item)
            db.flush()
            task = Task(project_id=project.id, item_id=item.id, wanted=k, submitted=0, status="open")
            db.add(task)
            db.flush()
            db.add_all(TaskSlot(project_id=project.id, task_id=task.id, slot=i, state="free") for i in range(k))
            ledger.record(db, ITEM_KIND, {
                "project": project.id, "customer_id": project.customer_id, "dataset": plan.dataset_id,
                "item": item.id, "sha256": sha, "media_type": m.media_type, "source_item": source.id,
                "source_project": source.project_id, "source_sha256": source.sha256, "recipe": m.recipe,
                "gold": m.gold is not None, "answer_from": m.answer_from, "by": plan.by})
            added += 1
        ds = db.get(Dataset, plan.dataset_id)
        ds.items_added += added
        ds.duplicates += dups
        ds.files_done += 1
        if added == 0 and dups:
            ds.refused = [*(ds.refused or []), {"file": f"item {source.id}", "item": source.id,
                                                "reason": "duplicate", "message": "already in the project"}]
        db.commit()


def made_view(i: Item) -> dict[str, Any]:
    return {"id": i.id, "sha256": i.sha256, "media_type": i.media_type, "size": i.size, "source_name": i.source_name,
            "source_item": i.source_item_id, "recipe": i.recipe, "is_gold": i.is_gold, "gold_answer": i.gold_answer,
            "proposal": i.proposal, "meta": i.meta}


def get_run(db, scope: CustomerScope, project_id: int, dataset_id: int) -> dict[str, Any]:
    """A synthesis run's progress and, so far, what it made."""
    project_or_404(db, scope, project_id)
    ds = db.get(Dataset, dataset_id)
    if ds is None or ds.project_id != project_id:
        raise NotFound("no such dataset")
    made = db.scalars(select(Item).where(Item.dataset_id == ds.id, Item.source_item_id.is_not(None))
                      .order_by(Item.id)).all()
    return {"dataset": dataset_view(ds), "made": [made_view(i) for i in made]}
