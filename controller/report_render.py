"""The daily report as a document: HTML from one Jinja template in the chosen language, and the
PDF that WeasyPrint makes of that same HTML. Fonts come from the system through fontconfig (the
CSS names Noto Sans CJK SC, Debian's fonts-noto-cjk); nothing is fetched while rendering."""
from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from controller import i18n
from controller.daily_report import Report

TEMPLATE = "daily_report.html"
_ENV = Environment(loader=FileSystemLoader(str(Path(__file__).parent / "templates")),
                   autoescape=select_autoescape(["html"]))
i18n.install_jinja(_ENV)


def _duration(seconds: float | int | None) -> str:
    if seconds is None:
        return "–"
    seconds = int(round(seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}"


def _bytes(n: float | int | None) -> str:
    if n is None:
        return "–"
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


def html(report: Report, locale: str) -> str:
    """The report's HTML document in ``locale`` (zh_CN or en): self-contained, charts inline."""
    zone = ZoneInfo(report.timezone)

    def local(t: dt.datetime | None, fmt: str = "%Y-%m-%d %H:%M:%S") -> str:
        return t.astimezone(zone).strftime(fmt) if t is not None else "–"

    def num(v) -> str:
        return "–" if v is None else str(v)

    return _ENV.get_template(TEMPLATE).render(
        r=report, s=report.sections, summary=report.summary, locale=locale, html_lang=i18n.html_lang(locale),
        charts={k: Markup(v) for k, v in report.charts.items()}, local=local, duration=_duration,
        size=_bytes, num=num)


def pdf(html_text: str) -> bytes:
    """The PDF of the report's HTML (WeasyPrint; imported here so the pages load without it)."""
    from weasyprint import HTML

    return HTML(string=html_text, base_url=None).write_pdf()
