"""Annotation projects and their members. A project belongs to one customer: that customer's
users see it, another customer's read it as absent; officers and admins make projects and
choose their annotators, each fact ledgered with it."""
from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from annotation.project_rules import SLUG, schema_problems
from controller.annotation_tables import Item, Project, ProjectMember
from controller.domain_errors import Conflict, Invalid, NotFound
from controller.ledger import Ledger
from controller.models import Customer, Role, User, iso
from controller.services.scope import CustomerScope


def project_view(p: Project, customer_slug: str | None = None) -> dict[str, Any]:
    return {"id": p.id, "customer_id": p.customer_id, "customer": customer_slug, "slug": p.slug, "name": p.name,
            "modality": p.modality, "label_schema": p.label_schema, "annotators_per_task": p.annotators_per_task,
            "mask_personal_data": p.mask_personal_data, "gold_share": p.gold_share,
            "accuracy_target": p.accuracy_target, "created_by": p.created_by, "created_at": iso(p.created_at)}


def project_or_404(db, scope: CustomerScope, project_id: int) -> Project:
    """The project if the scope holds its customer; another customer's reads as missing."""
    p = db.get(Project, project_id)
    if p is None or not scope.sees_id(p.customer_id):
        raise NotFound("no such project")
    return p


def create_project(db, ledger: Ledger, *, customer_id: int, slug: str, name: str, modality: str,
                   label_schema: dict[str, Any], annotators_per_task: int, mask_personal_data: bool,
                   by: str, gold_share: float = 0.1, accuracy_target: float = 0.95) -> dict[str, Any]:
    customer = db.get(Customer, customer_id)
    if customer is None:
        raise NotFound("no such customer")
    problems = schema_problems(modality, label_schema)
    if not SLUG.match(slug):
        problems.append("slug: lower-case letters, digits and hyphens, at most 64")
    if annotators_per_task < 1:
        problems.append("annotators_per_task must be at least 1")
    problems += quality_problems(gold_share, accuracy_target)
    if problems:
        raise Invalid("the project does not fit", problems)
    if db.scalar(select(Project.id).where(Project.customer_id == customer_id, Project.slug == slug)) is not None:
        raise Conflict(f"customer {customer.slug} already has a project {slug}")
    p = Project(customer_id=customer_id, slug=slug, name=name, modality=modality, label_schema=label_schema,
                annotators_per_task=annotators_per_task, mask_personal_data=mask_personal_data,
                gold_share=gold_share, accuracy_target=accuracy_target, created_by=by)
    db.add(p)
    db.flush()
    ledger.record(db, "project.created", {
        "project": p.id, "customer": customer.slug, "slug": slug, "modality": modality,
        "label_schema": label_schema, "annotators_per_task": annotators_per_task,
        "mask_personal_data": mask_personal_data, "gold_share": gold_share, "accuracy_target": accuracy_target,
        "by": by})
    db.commit()
    return project_view(p, customer.slug)


def quality_problems(gold_share: float | None, accuracy_target: float | None) -> list[str]:
    problems = []
    if gold_share is not None and not 0 <= gold_share <= 1:
        problems.append("gold_share must be within [0, 1]")
    if accuracy_target is not None and not 0 < accuracy_target <= 1:
        problems.append("accuracy_target must be within (0, 1]")
    return problems


def change_quality_settings(db, ledger: Ledger, scope: CustomerScope, project_id: int, by: str, *,
                            gold_share: float | None = None, accuracy_target: float | None = None) -> dict[str, Any]:
    """Sets the project's share of gold and its accuracy target (either or both), ledgered with
    the values before and after. The quality board sees the change in its fingerprint and the
    next claims and releases judge by the new values."""
    p = project_or_404(db, scope, project_id)
    problems = quality_problems(gold_share, accuracy_target)
    if gold_share is None and accuracy_target is None:
        problems.append("give gold_share, accuracy_target or both")
    if problems:
        raise Invalid("the settings do not fit", problems)
    before = {"gold_share": p.gold_share, "accuracy_target": p.accuracy_target}
    if gold_share is not None:
        p.gold_share = gold_share
    if accuracy_target is not None:
        p.accuracy_target = accuracy_target
    after = {"gold_share": p.gold_share, "accuracy_target": p.accuracy_target}
    ledger.record(db, "project.quality_settings", {"project": p.id, "before": before, "after": after, "by": by})
    db.commit()
    c = db.get(Customer, p.customer_id)
    return project_view(p, c.slug if c else None)


def list_projects(db, scope: CustomerScope, customer_id: int | None = None) -> list[dict[str, Any]]:
    stmt = scope.filter(select(Project, Customer.slug).join(Customer, Customer.id == Project.customer_id),
                        Project.customer_id)
    if customer_id is not None:
        stmt = stmt.where(Project.customer_id == customer_id)
    return [project_view(p, slug) for p, slug in db.execute(stmt.order_by(Project.id))]


def get_project(db, scope: CustomerScope, project_id: int) -> dict[str, Any]:
    p = project_or_404(db, scope, project_id)
    c = db.get(Customer, p.customer_id)
    view = project_view(p, c.slug if c else None)
    view["items"] = db.scalar(select(func.count()).select_from(Item).where(Item.project_id == p.id))
    return view


def member_view(m: ProjectMember, username: str) -> dict[str, Any]:
    return {"user_id": m.user_id, "username": username, "can_review": m.can_review, "added_by": m.added_by,
            "added_at": iso(m.added_at)}


def list_members(db, scope: CustomerScope, project_id: int) -> list[dict[str, Any]]:
    project_or_404(db, scope, project_id)
    rows = db.execute(select(ProjectMember, User.username).join(User, User.id == ProjectMember.user_id)
                      .where(ProjectMember.project_id == project_id).order_by(User.username))
    return [member_view(m, name) for m, name in rows]


def add_member(db, ledger: Ledger, scope: CustomerScope, project_id: int, user_id: int, can_review: bool,
               by: str) -> dict[str, Any]:
    """Only an active annotator may be a member; once."""
    p = project_or_404(db, scope, project_id)
    user = db.get(User, user_id)
    if user is None:
        raise NotFound("no such user")
    if user.role != Role.annotator.value or not user.active:
        raise Invalid("only an active annotator may be a project member")
    if db.scalar(select(ProjectMember.id).where(ProjectMember.project_id == p.id,
                                                ProjectMember.user_id == user.id)) is not None:
        raise Conflict(f"{user.username} is already a member of this project")
    m = ProjectMember(project_id=p.id, user_id=user.id, can_review=can_review, added_by=by)
    db.add(m)
    db.flush()
    ledger.record(db, "project.member_added", {"project": p.id, "user": user.username, "can_review": can_review,
                                               "by": by})
    db.commit()
    return member_view(m, user.username)


def remove_member(db, ledger: Ledger, scope: CustomerScope, project_id: int, user_id: int, by: str) -> None:
    p = project_or_404(db, scope, project_id)
    m = db.scalar(select(ProjectMember).where(ProjectMember.project_id == p.id, ProjectMember.user_id == user_id))
    if m is None:
        raise NotFound("no such member")
    user = db.get(User, user_id)
    db.delete(m)
    ledger.record(db, "project.member_removed", {"project": p.id, "user": user.username if user else user_id,
                                                 "by": by})
    db.commit()
