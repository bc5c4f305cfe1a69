"""Helpers the page tests share."""
from __future__ import annotations

import re

from playwright.sync_api import expect

from controller import i18n


def login(page, url: str, user: str = "off", landing: bool = False) -> None:
    """Sign in through the login form as ``user`` (password '<user>-pass', as seed_users makes);
    ``landing``: also wait for the overview the login leads to."""
    page.goto(url + "/login")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", f"{user}-pass")
    page.click("main button[type=submit]")
    if landing:
        expect(page).to_have_url(url + "/")


def open_menu(page, path: str) -> None:
    """Follow the menu link to ``path`` (whatever the page's language names it)."""
    page.click(f"header nav a[href='{path}']")


def T(lang: str, message: str, **values) -> str:
    """What the pages show for ``message`` in ``lang`` (the same catalog the pages read)."""
    return i18n.translate(lang, message, **values)


def TN(lang: str, singular: str, plural: str, n: int, **values) -> str:
    return i18n.ntranslate(lang, singular, plural, n, **values)


def pattern(text: str, **parts: str) -> re.Pattern:
    """``text`` as a regex, with each ``@name@`` in it replaced by the regex ``parts[name]``."""
    rx = re.escape(text)
    for name, part in parts.items():
        rx = rx.replace(re.escape(f"@{name}@"), part)
    return re.compile(rx)
