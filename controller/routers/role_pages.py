"""The pages of the admins and inspectors: users, people with their badges and training, the
evidence ledger, the retention audit. They read through the same services as the API, and their
buttons call the API (static/actions.js); page_access.py says who may open each."""
from __future__ import annotations

import json

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select

from controller import i18n, page_access
from controller.auth import DB
from controller.deps import EdgeDep, LedgerDep
from controller.domain_errors import DomainError
from controller.models import Customer, LedgerCheckpoint, LedgerEntry, Role, Site, User
from controller.params import Int64
from controller.routers.pages import page_user, render, site_list
from controller.services import access, cameras
from controller.services import ledger as ledger_svc
from controller.services import users as users_svc

router = APIRouter(tags=["pages"])


def _site_id(db, site: int | None) -> int | None:
    sites = site_list(db)
    if site is not None and any(s["id"] == site for s in sites):
        return site
    return sites[0]["id"] if sites else None


@router.get("/users", response_class=HTMLResponse, include_in_schema=False)
def users_page(request: Request, db: DB):
    """Every account with its role, customer and state; change them, set a new password, end its
    sessions, make a new account (all through /api/users)."""
    user, other = page_user(request, db, "users")
    if other is not None:
        return other
    accounts = [users_svc.user_view(u) for u in db.scalars(select(User).order_by(User.username))]
    customers = list(db.scalars(select(Customer).order_by(Customer.slug)))
    return render(request, "users.html", user, accounts=accounts, customers=customers,
                  roles=[r.value for r in Role], sites=site_list(db))


@router.get("/users/{user_id}", response_class=HTMLResponse, include_in_schema=False)
def user_page(user_id: Int64, request: Request, db: DB):
    """One account: its browser sessions and API tokens, ending them, a new password."""
    user, other = page_user(request, db, "users")
    if other is not None:
        return other
    account = db.get(User, user_id)
    if account is None:
        locale = i18n.choose_locale(request, user)
        return HTMLResponse(i18n.translate(locale, "no such user"), status_code=404)
    return render(request, "user.html", user, account=users_svc.user_view(account),
                  sessions=users_svc.session_views(db, user_id), sites=site_list(db))


@router.get("/people", response_class=HTMLResponse, include_in_schema=False)
def people_page(request: Request, db: DB, site: int | None = Query(None)):
    """A site's people with their badges and latest confidentiality training; record a training."""
    user, other = page_user(request, db, "people")
    if other is not None:
        return other
    site_id = _site_id(db, site)
    people = access.list_people(db, site_id, show_badges=True) if site_id is not None else []
    return render(request, "people.html", user, people=people, site_id=site_id, sites=site_list(db))


@router.get("/ledger", response_class=HTMLResponse, include_in_schema=False)
def ledger_page(request: Request, db: DB, ledger: LedgerDep, index: int | None = Query(None, ge=0, le=2**62)):
    """The evidence ledger: the latest signed checkpoint and the ones before it, one entry by its
    index with its inclusion proof, and the export."""
    user, other = page_user(request, db, "ledger")
    if other is not None:
        return other
    locale = i18n.choose_locale(request, user)
    head = ledger_svc.checkpoint(ledger)
    checkpoints = list(db.scalars(select(LedgerCheckpoint).order_by(LedgerCheckpoint.size.desc()).limit(20)))
    entry, proof, error = None, None, None
    if index is not None:
        row = db.get(LedgerEntry, index)
        try:
            proof = ledger_svc.proof(ledger, index)
        except DomainError:
            proof = None
        if row is None:
            error = i18n.translate(locale, "no such entry")
        else:
            entry = {"index": row.index, "ts": row.ts, "kind": row.kind,
                     "data": json.dumps(json.loads(row.leaf).get("data"), ensure_ascii=False, indent=2)}
            if proof is None:
                error = i18n.translate(locale, "not yet in a signed checkpoint; try again in a moment")
    return render(request, "ledger.html", user, head=head, checkpoints=checkpoints, index=index, entry=entry,
                  proof=proof, error=error, sites=site_list(db))


@router.get("/audit", response_class=HTMLResponse, include_in_schema=False)
def audit_page(request: Request, db: DB, ledger: LedgerDep, edge: EdgeDep, site: int | None = Query(None),
               run: bool = False):
    """The retention audit of a site: its appliance re-hashes every recording and checks each
    camera's hash chain, deletions against the retention policy and legal holds (ledgered)."""
    user, other = page_user(request, db, "audit")
    if other is not None:
        return other
    site_id = _site_id(db, site)
    report, error = None, None
    if run and site_id is not None and page_access.may(user.role, "recordings.audit"):
        try:
            report = cameras.audit_recordings(db, ledger, edge, site_id)
        except DomainError as exc:
            locale = i18n.choose_locale(request, user)
            error = i18n.translate(locale, "The audit could not run: {reason}", reason=str(exc))
    site_row = db.get(Site, site_id) if site_id is not None else None
    return render(request, "audit.html", user, site_id=site_id, site_slug=site_row.slug if site_row else "",
                  report=report, report_json=json.dumps(report, ensure_ascii=False, indent=2) if report else "",
                  error=error, sites=site_list(db))
