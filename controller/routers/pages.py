"""Web pages: login and the officer overview. Data comes from the same API the pages poll."""
from __future__ import annotations

import datetime as dt
import json
import secrets
from pathlib import Path
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, HTTPException, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from controller import i18n, page_access
from controller.annotation_tables import Project, ProjectMember
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
from controller.services import reviews
from controller.services.agents import agent_views
from controller.services.auth import authenticate
from controller.services.customers import customer_vlans
from controller.services.events import alarm_groups, alarm_view, list_alarm_rows
from controller.services.network import list_changes
from controller.services.scope import customer_scope
from controller.services.seats import seat_states, site_coverage
from controller.sessions import end_session, open_session, session_user

templates = Jinja2Templates(directory=str(Path(__file__).parent.parent / "templates"))
i18n.install_jinja(templates.env)
router = APIRouter(tags=["pages"])
LANGUAGE_COOKIE_MAX_AGE_S = 365 * 24 * 3600


def role_names(locale: str) -> dict[str, str]:
    return {"admin": i18n.translate(locale, "administrator"),
            "officer": i18n.translate(locale, "security officer"),
            "inspector": i18n.translate(locale, "inspector"),
            "customer": i18n.translate(locale, "customer"),
            "annotator": i18n.translate(locale, "annotator")}


def site_timezone(site: Site) -> str:
    """The IANA time zone a site's pages show times in: its site file's ``site.timezone``."""
    try:
        zone = json.loads(site.config_json).get("site", {}).get("timezone")
    except (ValueError, AttributeError):
        zone = None
    return zone if isinstance(zone, str) and zone else i18n.DEFAULT_TIMEZONE


def site_list(db) -> list[dict]:
    return [{"id": s.id, "slug": s.slug, "tz": site_timezone(s)}
            for s in db.scalars(select(Site).order_by(Site.slug))]


def render(request: Request, name: str, user: User | None, **ctx) -> HTMLResponse:
    """A page in the user's language; times on it in its site's time zone (the first site's where
    a page shows several; a page with a site picker takes each site's own from its option)."""
    locale = i18n.choose_locale(request, user)
    sites = ctx.get("sites")
    site_tz = ctx.pop("site_tz", None) or (sites[0]["tz"] if sites else i18n.DEFAULT_TIMEZONE)
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    resp = templates.TemplateResponse(request, name, {
        "user": user, "csrf": csrf_token(request), "locale": locale, "html_lang": i18n.html_lang(locale),
        "languages": [(code, i18n.NATIVE_NAMES[code]) for code in i18n.LOCALES], "here": here, "catalog_version": i18n.catalog_version(locale),
        "site_tz": site_tz, "role_name": role_names(locale).get(user.role, user.role) if user else "",
        "role_names": role_names(locale),
        "menu": page_access.menu(user.role if user else None),
        "may": lambda action: page_access.may(user.role if user else None, action), **ctx})
    resp.headers["Content-Language"] = i18n.html_lang(locale)
    resp.headers["Vary"] = "Accept-Language, Cookie"
    return resp


@router.get("/i18n/{locale}.json", include_in_schema=False)
def message_catalog(locale: str) -> Response:
    """The catalog the page scripts read (public: it holds only the pages' own words)."""
    if locale not in i18n.LOCALES:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such language")
    return Response(i18n.catalog_json(locale), media_type="application/json",
                    headers={"Cache-Control": "public, max-age=86400"})


@router.post("/lang", include_in_schema=False)
def switch_language(request: Request, db: DB, locale: str = Form(..., max_length=8),
                    next: str = Form("/", max_length=2000), csrf: str = Form("", max_length=100)):
    """The language switcher on every page: a form with the page's CSRF token, so no other site
    can change anyone's language. Remembered in a cookie, and in the profile of a logged-in user
    so that it follows them to any browser."""
    if locale not in i18n.LOCALES:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, "no such language")
    if not csrf or not secrets.compare_digest(csrf, request.session.get("csrf", "")):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "missing or wrong CSRF token")
    sid = request.session.get("sid")
    user = session_user(db, sid) if isinstance(sid, str) else None
    if user is not None and user.language != locale:
        user.language = locale
        db.commit()
    target = urlsplit(next)
    # Only a path on this site: never an open redirect.
    back = next if next.startswith("/") and not next.startswith("//") and not target.netloc else "/"
    resp = RedirectResponse(back, status_code=status.HTTP_303_SEE_OTHER)
    resp.set_cookie(i18n.COOKIE, locale, max_age=LANGUAGE_COOKIE_MAX_AGE_S, samesite="lax", httponly=False)
    return resp


def forbidden(request: Request, user: User, refusal: str | None = None) -> HTMLResponse:
    """The 403 page: says that this page is not for the user's role (or ``refusal``), and offers
    the pages it may open."""
    resp = render(request, "forbidden.html", user, refusal=refusal)
    resp.status_code = status.HTTP_403_FORBIDDEN
    return resp


def page_user(request: Request, db, page: str) -> tuple[User | None, Response | None]:
    """The logged-in user if its role may open ``page`` (page_access.PAGES), else the response to
    send: the login page for nobody, the 403 page for a role the page is not for."""
    user = optional_user(request, db)
    if user is None:
        return None, RedirectResponse("/login", status_code=status.HTTP_303_SEE_OTHER)
    if not page_access.may_open(user.role, page):
        return user, forbidden(request, user)
    return user, None


@router.get("/login", response_class=HTMLResponse, include_in_schema=False)
def login_page(request: Request) -> HTMLResponse:
    return render(request, "login.html", None, error=None)


@router.post("/login", include_in_schema=False)
async def login(request: Request, sessions: SessionsDep, ledger: LedgerDep, settings: SettingsDep,
                username: str = Form(..., max_length=64), password: str = Form(..., max_length=256),
                csrf: str = Form("")):
    locale = i18n.choose_locale(request)
    if csrf != request.session.get("csrf"):
        return render(request, "login.html", None,
                      error=i18n.translate(locale, "Session expired, please try again."))
    result = await authenticate(sessions, ledger, username, password, client_address(request), request.url.path)
    if result.user is None:
        error = (i18n.translate(locale, "Too many failed logins. Try again in {seconds} s or ask an officer.",
                              seconds=result.retry_after_s)
                 if result.retry_after_s else i18n.translate(locale, "Wrong username or password."))
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
    """Each role's home: the officers' overview; a customer's own (its seats, the alarms about
    them, its VLANs and changes); a role without an overview lands on its first page."""
    user = optional_user(request, db)
    if user is not None and not page_access.may_open(user.role, "overview"):
        return RedirectResponse(page_access.home(user.role), status_code=status.HTTP_303_SEE_OTHER)
    user, other = page_user(request, db, "overview")
    if other is not None:
        return other
    if user.role == Role.customer.value:
        return render(request, "customer_overview.html", user, **customer_overview(db, user), sites=site_list(db))
    return render(request, "overview.html", user, sites=site_list(db))


def customer_overview(db, user: User) -> dict:
    """What a customer's overview shows: per site its seats and their coverage, its changes;
    its VLANs; the active alarms about its seats (the alarms its scope lets it see)."""
    scope = customer_scope(db, user)
    customer = db.get(Customer, user.customer_id)
    per_site = []
    for site in db.scalars(select(Site).order_by(Site.slug)):
        seats = seat_states(db, scope, site.id)
        if not seats["layout"]:
            continue
        per_site.append({"site": site, "seats": seats, "changes": list_changes(db, scope, site.id)[:20]})
    return {"customer": customer, "per_site": per_site,
            "vlans": customer_vlans(db, user, customer.id) if customer is not None else [],
            "alarms": [alarm_view(a) for a in list_alarm_rows(db, user, "active", 50)]}


@router.get("/api/overview", tags=["overview"])
def overview_data(db: DB, ledger: LedgerDep, settings: SettingsDep, user: User = require(*SITE_READERS)) -> dict:
    return {
        "agents": agent_views(db, settings.agent_offline_after_s),
        "alarm_groups": alarm_groups(db, user),  # the events come from /api/events/feed, filtered
        "ledger_size": ledger.size,
        "coverage": site_coverage(db),
    }


@router.get("/cameras", response_class=HTMLResponse, include_in_schema=False)
def cameras_page(request: Request, db: DB):
    user, other = page_user(request, db, "cameras")
    if other is not None:
        return other
    return render(request, "cameras.html", user, sites=site_list(db))


@router.get("/floorplan", response_class=HTMLResponse, include_in_schema=False)
def floorplan_page(request: Request, db: DB):
    """Each area's plan: cameras and what they see of the floor, blind patches, seats, gates; and
    for officers, camera calibration by clicking the same points on a snapshot and on the plan."""
    user, other = page_user(request, db, "floorplan")
    if other is not None:
        return other
    return render(request, "floorplan.html", user, sites=site_list(db))


@router.get("/cameras/{site_id}/{camera}", response_class=HTMLResponse, include_in_schema=False)
def camera_page(site_id: Int64, camera: str, request: Request, db: DB):
    user, other = page_user(request, db, "cameras")
    if other is not None:
        return other
    site = db.get(Site, site_id)
    if site is None:
        locale = i18n.choose_locale(request, user)
        return HTMLResponse(i18n.translate(locale, "no such site"), status_code=404)
    return render(request, "camera.html", user, site_id=site_id, site_slug=site.slug, camera=camera,
                  site_tz=site_timezone(site))


@router.get("/gates", response_class=HTMLResponse, include_in_schema=False)
def gates_page(request: Request, db: DB):
    user, other = page_user(request, db, "gates")
    if other is not None:
        return other
    sites = site_list(db)
    return render(request, "gates.html", user, sites=sites)


@router.get("/network", response_class=HTMLResponse, include_in_schema=False)
def network_page(request: Request, db: DB):
    """Customer VLAN isolation: VLANs, change requests with their exact commands and diffs,
    approval by signature in the browser, and (for officers) apply and drift."""
    user, other = page_user(request, db, "network")
    if other is not None:
        return other
    return render(request, "network.html", user, sites=site_list(db), customer=_customer_slug(db, user))


def _customer_slug(db, user) -> str | None:
    """A customer login's own customer (the pages that sign changes show it its part)."""
    if user.role != Role.customer.value:
        return None
    c = db.get(Customer, user.customer_id)
    return c.slug if c is not None else None


@router.get("/vpn", response_class=HTMLResponse, include_in_schema=False)
def vpn_page(request: Request, db: DB):
    """Remote work over WireGuard: the gateway, each customer's remote rules, the peers with their
    tunnels' health; requests go to the customer's signature on the network page."""
    user, other = page_user(request, db, "vpn")
    if other is not None:
        return other
    return render(request, "vpn.html", user, sites=site_list(db), customer=_customer_slug(db, user))


@router.get("/seats", response_class=HTMLResponse, include_in_schema=False)
def seats_page(request: Request, db: DB):
    """The floor map: every seat coloured by whether video covers it, with its reasons."""
    user, other = page_user(request, db, "seats")
    if other is not None:
        return other
    sites = site_list(db)
    return render(request, "seats.html", user, sites=sites)


def _my_projects(db, user: User) -> list[Project]:
    return list(db.scalars(select(Project).join(ProjectMember, ProjectMember.project_id == Project.id)
                           .where(ProjectMember.user_id == user.id).order_by(Project.name, Project.id)))


@router.get("/work", response_class=HTMLResponse, include_in_schema=False)
def work_list_page(request: Request, db: DB):
    """The annotator's projects, each opening its labelling page."""
    user, other = page_user(request, db, "work")
    if other is not None:
        return other
    return render(request, "work_list.html", user, projects=_my_projects(db, user),
                  reviewable=reviews.reviewable(db, user))


@router.get("/work/{project_id}", response_class=HTMLResponse, include_in_schema=False)
def work_page(project_id: Int64, request: Request, db: DB):
    """The labelling page of one project: the task's content under a watermark, the tools for the
    project's kind, and the site's policy asked again every few seconds."""
    user, other = page_user(request, db, "work")
    if other is not None:
        return other
    project = next((p for p in _my_projects(db, user) if p.id == project_id), None)
    if project is None:
        locale = i18n.choose_locale(request, user)
        return HTMLResponse(i18n.translate(locale, "no such project"), status_code=404)
    schema = project.label_schema or {}
    sites = site_list(db)
    return render(request, "work.html", user, project=project, kind=str(schema.get("kind", "")),
                  labels=[str(x) for x in schema.get("labels") or []],
                  site_tz=sites[0]["tz"] if sites else None)


@router.get("/work/{project_id}/review", response_class=HTMLResponse, include_in_schema=False)
def review_page(project_id: Int64, request: Request, db: DB):
    """The reviewer page of one project: the review queue, the item's content under a watermark,
    two versions side by side with what changed, and accept, reject or fix. Only for a member
    with the project's review right; the site's policy is asked again every few seconds."""
    user, other = page_user(request, db, "work")
    if other is not None:
        return other
    locale = i18n.choose_locale(request, user)
    project = next((p for p in _my_projects(db, user) if p.id == project_id), None)
    if project is None:
        return HTMLResponse(i18n.translate(locale, "no such project"), status_code=404)
    if not reviews.may_review(db, user, project.id):
        return forbidden(request, user, i18n.translate(locale, "Reviewing this project needs its review right."))
    schema = project.label_schema or {}
    sites = site_list(db)
    return render(request, "review.html", user, project=project, kind=str(schema.get("kind", "")),
                  labels=[str(x) for x in schema.get("labels") or []],
                  site_tz=sites[0]["tz"] if sites else None)


@router.get("/quality", response_class=HTMLResponse, include_in_schema=False)
def quality_list_page(request: Request, db: DB):
    """The projects whose quality the user may see (a customer: its own), each opening its page."""
    user, other = page_user(request, db, "quality")
    if other is not None:
        return other
    stmt = customer_scope(db, user).filter(select(Project).order_by(Project.name, Project.id), Project.customer_id)
    return render(request, "quality_list.html", user, projects=list(db.scalars(stmt)))


@router.get("/quality/{project_id}", response_class=HTMLResponse, include_in_schema=False)
def quality_page(project_id: Int64, request: Request, db: DB):
    """A project's quality: each metric against its target with its interval, the figures over
    time, the annotators, agreement per label and the confusion matrix (from the quality API)."""
    user, other = page_user(request, db, "quality")
    if other is not None:
        return other
    project = db.get(Project, project_id)
    if project is None or not customer_scope(db, user).sees_id(project.customer_id):
        locale = i18n.choose_locale(request, user)
        return HTMLResponse(i18n.translate(locale, "no such project"), status_code=404)
    return render(request, "quality.html", user, project=project,
                  kind=str((project.label_schema or {}).get("kind", "")))
