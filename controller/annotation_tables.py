"""The annotation platform's tables: customer → project → dataset → item → task → annotation →
review. Content lives in files under the data directory (content-addressed); rows hold its hash.
Alembic migration 0008 mirrors these."""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, Float, ForeignKey, Index, Integer, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from controller.db import Base
from controller.models import utcnow


class Project(Base):
    __tablename__ = "projects"
    __table_args__ = (UniqueConstraint("customer_id", "slug", name="uq_projects_customer_slug"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    slug: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    modality: Mapped[str] = mapped_column(String(10))  # text | audio | image
    # The label schema: kind (classification, multi_label, spans, transcript, boxes) and labels.
    label_schema: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    annotators_per_task: Mapped[int] = mapped_column(Integer, default=1)  # k
    mask_personal_data: Mapped[bool] = mapped_column(Boolean, default=False)
    # Quality: the share of served tasks that are gold, the accuracy the project must prove (0.95
    # for text and speech), and the linked-item constraints whose consistency must reach 0.90.
    gold_share: Mapped[float] = mapped_column(Float, default=0.1, server_default="0.1")
    accuracy_target: Mapped[float] = mapped_column(Float, default=0.95, server_default="0.95")
    crossmodal: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, server_default="{}")  # {constraints, target}
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ProjectMember(Base):
    """An annotator assigned to a project (and so to its customer); ``can_review`` makes a
    reviewer of it."""

    __tablename__ = "project_members"
    __table_args__ = (UniqueConstraint("project_id", "user_id", name="uq_project_members"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    can_review: Mapped[bool] = mapped_column(Boolean, default=False)
    added_by: Mapped[str] = mapped_column(String(64))
    added_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Dataset(Base):
    """One import: its progress and what it refused, by file name and reason."""

    __tablename__ = "datasets"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(12), default="importing")  # importing | done | failed
    files_total: Mapped[int] = mapped_column(Integer, default=0)
    files_done: Mapped[int] = mapped_column(Integer, default=0)
    items_added: Mapped[int] = mapped_column(Integer, default=0)
    duplicates: Mapped[int] = mapped_column(Integer, default=0)
    refused: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)  # [{file, reason}]
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class Item(Base):
    """One piece of content, stored once per project by its SHA-256 (of the stored, normalised
    bytes)."""

    __tablename__ = "items"
    __table_args__ = (UniqueConstraint("project_id", "sha256", name="uq_items_project_sha256"),
                      # Gold is a few items in many: every claim counts the project's unseen gold.
                      Index("ix_items_gold", "project_id", postgresql_where=text("is_gold IS true"),
                            sqlite_where=text("is_gold IS true")))
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"), index=True)
    sha256: Mapped[str] = mapped_column(String(64))
    media_type: Mapped[str] = mapped_column(String(40))  # text/plain, audio/wav, image/png, image/jpeg
    size: Mapped[int] = mapped_column(Integer)
    source_name: Mapped[str] = mapped_column(String(300), default="")
    # What preprocessing found and did: duration_s, width/height, masks [{kind, start, end}], ...
    meta: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    is_gold: Mapped[bool] = mapped_column(Boolean, default=False)
    gold_answer: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # Synthesis: the item it was made from and how (recipe name and parameters); None: imported.
    source_item_id: Mapped[int | None] = mapped_column(ForeignKey("items.id", ondelete="SET NULL",
                                                                  name="fk_items_source_item_id"))
    recipe: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # Pre-annotation: a model's proposal, shown marked as such; never scored as anyone's work.
    proposal: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Task(Base):
    __tablename__ = "tasks"
    __table_args__ = (UniqueConstraint("item_id", name="uq_tasks_item"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"))
    wanted: Mapped[int] = mapped_column(Integer)  # k annotators
    submitted: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(12), default="open", index=True)  # open | complete
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class TaskSlot(Base):
    """One of a task's k places, made with the task. Claimed by one annotator at a time (the
    unique (task, annotator) key: never twice to one person), reserved until it expires unless
    the page renews it, then free again; submitted is final."""

    __tablename__ = "task_slots"
    __table_args__ = (UniqueConstraint("task_id", "slot", name="uq_task_slots_task_slot"),
                      UniqueConstraint("task_id", "annotator_id", name="uq_task_slots_task_annotator"),
                      # the claim: a project's free (or expired) slots in task order
                      Index("ix_task_slots_claim", "project_id", "state", "task_id", "slot"),
                      # what an annotator holds or has done in a project
                      Index("ix_task_slots_holder", "project_id", "annotator_id"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"), index=True)
    slot: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(10), default="free", index=True)  # free | reserved | submitted
    annotator_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    reserved_until: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    seat: Mapped[str | None] = mapped_column(String(64))


class TaskSkip(Base):
    """An annotator passing on a task, with the reason; that task is not offered to them again."""

    __tablename__ = "task_skips"
    __table_args__ = (UniqueConstraint("task_id", "annotator_id", name="uq_task_skips"),
                      Index("ix_task_skips_annotator", "annotator_id"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"), index=True)
    annotator_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    reason: Mapped[str] = mapped_column(String(300))
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Draft(Base):
    """The page's autosave: one per task and annotator, overwritten (a draft is not evidence)."""

    __tablename__ = "drafts"
    __table_args__ = (UniqueConstraint("task_id", "annotator_id", name="uq_drafts"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"), index=True)
    annotator_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    result: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    saved_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Annotation(Base):
    """One saved version; a new save is a new row chained to the one before by its hash."""

    __tablename__ = "annotations"
    __table_args__ = (UniqueConstraint("task_id", "annotator_id", "version", name="uq_annotations_version"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"), index=True)
    annotator_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    result: Mapped[dict[str, Any]] = mapped_column(JSON)
    item_sha256: Mapped[str] = mapped_column(String(64))
    seat: Mapped[str | None] = mapped_column(String(64))
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Review(Base):
    __tablename__ = "reviews"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    annotation_id: Mapped[int] = mapped_column(ForeignKey("annotations.id", ondelete="CASCADE"), index=True)
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    decision: Mapped[str] = mapped_column(String(10))  # accept | reject | fix
    reason: Mapped[str] = mapped_column(String(500), default="")
    fixed_annotation_id: Mapped[int | None] = mapped_column(ForeignKey("annotations.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ItemLink(Base):
    """Items of different modalities that belong together (an image and its caption, a clip and
    its transcript's text): one group per key, each member with its role in the group. The
    project that owns the link declares the constraints between their labels."""

    __tablename__ = "item_links"
    __table_args__ = (UniqueConstraint("project_id", "group_key", "item_id", name="uq_item_links"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    group_key: Mapped[str] = mapped_column(String(100))
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(40))  # e.g. image, caption, audio, text


class QualityPause(Base):
    """An annotator paused from a project because their accuracy's lower bound fell under the
    target (or by an officer); lifted by an officer with a note. Both are ledgered."""

    __tablename__ = "quality_pauses"
    __table_args__ = (Index("ix_quality_pauses_open", "project_id", "annotator_id", "lifted_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    annotator_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    reason: Mapped[str] = mapped_column(String(300))
    figures: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # the accuracy and interval that paused
    paused_by: Mapped[str] = mapped_column(String(64))
    paused_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    lifted_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    lifted_by: Mapped[str | None] = mapped_column(String(64))
    lift_note: Mapped[str] = mapped_column(String(500), default="")


class QualitySnapshot(Base):
    """A project's figures at one moment, kept so the quality page can draw them over time."""

    __tablename__ = "quality_snapshots"
    __table_args__ = (Index("ix_quality_snapshots_project_at", "project_id", "at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    figures: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class QualityReport(Base):
    """A project's newest full quality report, shared by every HTTP worker: one of them scores it
    (holding the lease) while the others answer the stored one. ``fingerprint`` is the hash of
    what it was scored from; ``report`` None: never scored yet."""

    __tablename__ = "quality_reports"
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64), default="", server_default="")
    report: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    scored_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    lease: Mapped[str | None] = mapped_column(String(32))  # who is scoring it now
    lease_until: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class Release(Base):
    """A dataset handed to its customer, or refused: granted only when the lower bound of the
    estimated accuracy meets the target. Figures, the sampling plan and what is missing are kept
    and ledgered."""

    __tablename__ = "releases"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    dataset_id: Mapped[int | None] = mapped_column(ForeignKey("datasets.id", ondelete="SET NULL"))
    granted: Mapped[bool] = mapped_column(Boolean)
    figures: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    plan: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    missing: Mapped[list[str]] = mapped_column(JSON, default=list)
    requested_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
