"""Helpers the page tests share."""
from __future__ import annotations

from playwright.sync_api import expect


def login(page, url: str, user: str = "off", landing: bool = False) -> None:
    """Sign in through the login form as ``user`` (password '<user>-pass', as seed_users makes);
    ``landing``: also wait for the overview the login leads to."""
    page.goto(url + "/login")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", f"{user}-pass")
    page.click("button[type=submit]")
    if landing:
        expect(page).to_have_url(url + "/")
