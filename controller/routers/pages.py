"""Web pages: login and the officer overview. Data comes from the same API the pages poll."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

from fastapi import APIRouter, Form, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from controller.auth import (
    DB,
    SITE_READERS,
    client_address,
    csrf_token,
    optional_user,
    require,
)
from controller.deps import LedgerDep, SessionsDep, SettingsDep
from controller.models import Customer, Role, Site, User
from controller.params import Int64
from controller.services.agents import agent_views
from controller.services.auth import authenticate
from controller.services.events import alarm_view, list_alarm_rows, recent_events
from controller.services.seats import site_coverage
from controller.sessions import end_session, open_session

templates = Jinja2Templates(directory=str(Path(__file__).parent.parent / "templates"))
router = APIRouter(tags=["pages"])


def render(request: Request, name: str, user: User | None, **ctx) -> HTMLResponse:
    return templates.TemplateResponse(request, name, {"user": user, "csrf": csrf_token(request), **ctx})


def site_reader_or_redirect(request: Request, db) -> tuple[User | None, HTMLResponse | None]:
    """The logged-in officer/inspector/admin, or the response to send anyone else."""
    user = optional_user(request, db)
    if user is None:
        return None, RedirectResponse("/login", status_code=status.HTTP_303_SEE_OTHER)
    if user.role not in {r.value for r in SITE_READERS}:
        return user, render(request, "welcome.html", user)
    return user, None


@router.get("/login", response_class=HTMLResponse, include_in_schema=False)
def login_page(request: Request) -> HTMLResponse:
    return render(request, "login.html", None, error=None)


@router.post("/login", include_in_schema=False)
async def login(request: Request, sessions: SessionsDep, ledger: LedgerDep, settings: SettingsDep,
                username: str = Form(..., max_length=64), password: str = Form(..., max_length=256),
                csrf: str = Form("")):
    if csrf != request.session.get("csrf"):
        return render(request, "login.html", None, error="Session expired, please try again.")
    result = await authenticate(sessions, ledger, username, password, client_address(request), request.url.path)
    if result.user is None:
        error = (f"Too many failed logins. Try again in {result.retry_after_s} s or ask an officer."
                 if result.retry_after_s else "Wrong username or password.")
        resp = render(request, "login.html", None, error=error)
        resp.status_code = (status.HTTP_429_TOO_MANY_REQUESTS if result.retry_after_s
                            else status.HTTP_401_UNAUTHORIZED)
        return resp
    ttl = dt.timedelta(hours=settings.session_ttl_hours)

    def open_() -> str:
        with sessions() as s:
            return open_session(s, result.user.id, ttl, client_address(request))

    sid = await run_in_threadpool(open_)
    request.session.clear()  # new session on login: no fixation
    request.session["sid"] = sid
    csrf_token(request)
    return RedirectResponse("/", status_code=status.HTTP_303_SEE_OTHER)


@router.post("/logout", include_in_schema=False)
def logout(request: Request, db: DB, csrf: str = Form("")):
    if csrf == request.session.get("csrf"):
        sid = request.session.get("sid")
        if isinstance(sid, str):
            end_session(db, sid)
        request.session.clear()
    return RedirectResponse("/login", status_code=status.HTTP_303_SEE_OTHER)


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def overview_page(request: Request, db: DB):
    user = optional_user(request, db)
    if user is not None and user.role == Role.customer.value:
        return RedirectResponse("/network", status_code=status.HTTP_303_SEE_OTHER)
    user, redirect = site_reader_or_redirect(request, db)
    if redirect is not None:
        return redirect
    return render(request, "overview.html", user)


@router.get("/api/overview", tags=["overview"])
def overview_data(db: DB, ledger: LedgerDep, settings: SettingsDep, user: User = require(*SITE_READERS)) -> dict:
    return {
        "agents": agent_views(db, settings.agent_offline_after_s),
        "events": recent_events(db, user, 25),
        "alarms": [alarm_view(a) for a in list_alarm_rows(db, user, "active", 50)],
        "ledger_size": ledger.size,
        "coverage": site_coverage(db),
    }


@router.get("/cameras", response_class=HTMLResponse, include_in_schema=False)
def cameras_page(request: Request, db: DB):
    user, redirect = site_reader_or_redirect(request, db)
    if redirect is not None:
        return redirect
    return render(request, "cameras.html", user)


@router.get("/cameras/{site_id}/{camera}", response_class=HTMLResponse, include_in_schema=False)
def camera_page(site_id: Int64, camera: str, request: Request, db: DB):
    user, redirect = site_reader_or_redirect(request, db)
    if redirect is not None:
        return redirect
    site = db.get(Site, site_id)
    if site is None:
        return HTMLResponse("no such site", status_code=404)
    return render(request, "camera.html", user, site_id=site_id, site_slug=site.slug, camera=camera)


@router.get("/gates", response_class=HTMLResponse, include_in_schema=False)
def gates_page(request: Request, db: DB):
    user, redirect = site_reader_or_redirect(request, db)
    if redirect is not None:
        return redirect
    sites = [{"id": s.id, "slug": s.slug} for s in db.scalars(select(Site).order_by(Site.slug))]
    return render(request, "gates.html", user, sites=sites)


@router.get("/network", response_class=HTMLResponse, include_in_schema=False)
def network_page(request: Request, db: DB):
    """Customer VLAN isolation: VLANs, change requests with their exact commands and diffs,
    approval by signature in the browser, and (for officers) apply and drift."""
    user = optional_user(request, db)
    if user is None:
        return RedirectResponse("/login", status_code=status.HTTP_303_SEE_OTHER)
    if user.role not in (Role.admin.value, Role.officer.value, Role.inspector.value, Role.customer.value):
        return render(request, "welcome.html", user)
    sites = [{"id": s.id, "slug": s.slug} for s in db.scalars(select(Site).order_by(Site.slug))]
    customer = None
    if user.role == Role.customer.value:
        c = db.get(Customer, user.customer_id)
        customer = c.slug if c is not None else None
    return render(request, "network.html", user, sites=sites, customer=customer)


@router.get("/seats", response_class=HTMLResponse, include_in_schema=False)
def seats_page(request: Request, db: DB):
    """The floor map: every seat coloured by whether video covers it, with its reasons."""
    user = optional_user(request, db)
    if user is None:
        return RedirectResponse("/login", status_code=status.HTTP_303_SEE_OTHER)
    if user.role not in (Role.admin.value, Role.officer.value, Role.inspector.value, Role.customer.value):
        return render(request, "welcome.html", user)
    sites = [{"id": s.id, "slug": s.slug} for s in db.scalars(select(Site).order_by(Site.slug))]
    return render(request, "seats.html", user, sites=sites)
