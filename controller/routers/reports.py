"""Daily security reports: list, make one now, read it as HTML or PDF, its signed note and a
check of it; and the /reports page. Officers, admins and inspectors."""
from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, Response
from pydantic import BaseModel, Field

from controller import i18n
from controller.auth import DB, SITE_READERS, require
from controller.credentials import site_today
from controller.deps import LedgerDep
from controller.models import User
from controller.params import Int64
from controller.routers.pages import page_user, render, site_list
from controller.services import daily_report as svc
from controller.services.sites import site_or_404

router = APIRouter(tags=["reports"])


class ReportRequest(BaseModel):
    day: dt.date | None = Field(None, description="the site's calendar day; the day before today by default")
    lang: str = Field("zh_CN", pattern="^(zh_CN|en)$")


@router.get("/api/sites/{site_id}/reports", dependencies=[require(*SITE_READERS)])
def list_reports(site_id: Int64, db: DB) -> list[dict]:
    """The site's daily reports, newest day first."""
    site_or_404(db, site_id)
    return svc.list_reports(db, site_id)


@router.post("/api/sites/{site_id}/reports", status_code=201)
def make_report(site_id: Int64, body: ReportRequest, db: DB, ledger: LedgerDep,
                user: User = require(*SITE_READERS)) -> dict:
    """Make the site's report of ``day`` now: HTML and PDF, the PDF's hash ledgered and signed."""
    site = site_or_404(db, site_id)
    day = body.day or site_today(site) - dt.timedelta(days=1)
    row = svc.generate(db, ledger, site_id, day, body.lang, user.username)
    return svc.report_view(row, site.slug)


@router.get("/api/reports/{report_id}", dependencies=[require(*SITE_READERS)])
def get_report(report_id: Int64, db: DB) -> dict:
    row = svc.one(db, report_id)
    return svc.report_view(row, site_or_404(db, row.site_id).slug)


@router.get("/api/reports/{report_id}/html", response_class=HTMLResponse, dependencies=[require(*SITE_READERS)])
def report_html(report_id: Int64, db: DB) -> HTMLResponse:
    return HTMLResponse(svc.one(db, report_id).html, headers={"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'"})


@router.get("/api/reports/{report_id}/pdf", dependencies=[require(*SITE_READERS)],
            responses={200: {"content": {"application/pdf": {}}}})
def report_pdf(report_id: Int64, db: DB) -> Response:
    row = svc.one(db, report_id)
    name = f"siteguard-report-{site_or_404(db, row.site_id).slug}-{row.day.isoformat()}-{row.lang}.pdf"
    return Response(row.pdf, media_type="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{name}"', "X-Content-SHA256": row.sha256})


@router.get("/api/reports/{report_id}/signature", response_class=PlainTextResponse,
            dependencies=[require(*SITE_READERS)])
def report_signature(report_id: Int64, db: DB) -> PlainTextResponse:
    """The signed note over the PDF's SHA-256 (C2SP signed-note format, the ledger's key)."""
    return PlainTextResponse(svc.one(db, report_id).signature)


@router.get("/api/reports/{report_id}/verify", dependencies=[require(*SITE_READERS)])
def verify_report(report_id: Int64, db: DB, ledger: LedgerDep) -> dict:
    """Re-hash the kept PDF and check its signed note against the ledger's public key."""
    return svc.verify(db, ledger, report_id)


@router.get("/reports", response_class=HTMLResponse, include_in_schema=False)
def reports_page(request: Request, db: DB, site: int | None = Query(None)):
    """A site's daily reports with their HTML and PDF, and a button to make one now."""
    user, other = page_user(request, db, "reports")
    if other is not None:
        return other
    sites = site_list(db)
    site_id = site if any(s["id"] == site for s in sites) else (sites[0]["id"] if sites else None)
    reports = svc.list_reports(db, site_id) if site_id is not None else []
    row = site_or_404(db, site_id) if site_id is not None else None
    yesterday = (site_today(row) - dt.timedelta(days=1)).isoformat() if row is not None else ""
    return render(request, "reports.html", user, site_id=site_id, reports=reports, sites=sites,
                  yesterday=yesterday, default_lang=i18n.choose_locale(request, user))
