"""Playwright driving Debian's chromium (no browser download). Every browser test runs once in
each language of the pages: the browser asks for it the way a real one does, by Accept-Language."""
from __future__ import annotations

import shutil

import pytest

from controller.i18n import LOCALES
from tests.conftest import SERVED_WORKERS, fresh_postgres

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
# The browser's own language for each of the pages' languages.
BROWSER_LOCALE = {"zh_CN": "zh-CN", "en": "en-US"}


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture(scope="module", params=LOCALES)
def lang(request) -> str:
    """The pages' language for this run. Module-scoped, so a module's site (which a test may
    change) is made afresh for each language when its fixture asks for ``lang``."""
    return request.param


@pytest.fixture(scope="module")
def served(lang):
    """The pages are served as production serves them: PostgreSQL, SERVED_WORKERS stateless HTTP
    worker processes, the link and the sequencer apart. A fresh database for each module and
    language; yields (database URL, HTTP workers)."""
    with fresh_postgres() as url:
        yield url, SERVED_WORKERS


def new_context(browser, lang: str, **options):
    return browser.new_context(locale=BROWSER_LOCALE[lang], **{"viewport": {"width": 1280, "height": 800},
                                                               **options})


@pytest.fixture
def page(browser, lang, tmp_path):
    ctx = new_context(browser, lang)
    pg = ctx.new_page()
    yield pg
    ctx.close()
