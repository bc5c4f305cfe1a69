"""The pages' languages: Simplified Chinese first, English beside it.

English source strings are the msgids. The catalogs are the text ``.po`` files under
``controller/locale/<locale>/LC_MESSAGES/messages.po``; they are compiled in memory when first
used, so a fresh checkout needs no build step. A user's language is, in order: the preference on
their profile, the ``siteguard_lang`` cookie, the browser's Accept-Language, Chinese.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations
from jinja2 import pass_context

LOCALES = ("zh_CN", "en")
DEFAULT_LOCALE = "zh_CN"
COOKIE = "siteguard_lang"
DEFAULT_TIMEZONE = "Asia/Shanghai"
LOCALE_DIR = Path(__file__).parent / "locale"
# How each language names itself in the switcher (not translated: a reader finds their own).
NATIVE_NAMES = {"zh_CN": "中文", "en": "English"}


def html_lang(locale: str) -> str:
    """The BCP 47 tag for ``<html lang>`` and Intl in the browser: zh_CN -> zh-CN."""
    return locale.replace("_", "-")


def normalize(tag: str | None) -> str | None:
    """One of LOCALES for a language tag (zh, zh-CN, zh_Hans, en-GB ...), else None."""
    if not tag:
        return None
    t = tag.strip().replace("-", "_").lower()
    if t.startswith("zh"):
        return "zh_CN"
    if t == "en" or t.startswith("en_"):
        return "en"
    return None


def from_accept_language(header: str | None) -> str | None:
    """The best of LOCALES for an Accept-Language header, by its q values; None if none fits."""
    best: tuple[float, int, str] | None = None
    for i, part in enumerate((header or "").split(",")):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        params = params.strip()
        if params.startswith("q="):
            try:
                q = float(params[2:])
            except ValueError:
                q = 0.0
        locale = normalize(tag)
        if locale is None or q <= 0:
            continue
        if best is None or (q, -i) > (best[0], best[1]):
            best = (q, -i, locale)
    return best[2] if best else None


def choose_locale(request: Any, user: Any = None) -> str:
    """The locale for one request: profile, cookie, Accept-Language, then the default."""
    for candidate in (getattr(user, "language", None), request.cookies.get(COOKIE)):
        locale = normalize(candidate)
        if locale is not None:
            return locale
    return from_accept_language(request.headers.get("accept-language")) or DEFAULT_LOCALE


def cli_locale(environ: dict[str, str] | None = None) -> str:
    """The CLI's locale from LC_ALL, LC_MESSAGES, LANG (the order gettext reads them); English
    when none names Chinese."""
    env = os.environ if environ is None else environ
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = env.get(name)
        if value:
            return "zh_CN" if value.lower().startswith("zh") else "en"
    return "en"


def po_path(locale: str) -> Path:
    return LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po"


@lru_cache(maxsize=None)
def _catalog(locale: str):
    with po_path(locale).open("rb") as f:
        return read_po(f, locale=locale)


@lru_cache(maxsize=None)
def translations(locale: str) -> Translations:
    """The compiled catalog of ``locale`` (English for an unknown one: msgids are English)."""
    if locale not in LOCALES:
        locale = "en"
    buf = io.BytesIO()
    write_mo(buf, _catalog(locale))
    buf.seek(0)
    return Translations(fp=buf, domain="messages")


# Extraction keywords for Python code (the locale comes first, so gettext's own do not fit;
# N_ marks a message that is translated later, where it is shown).
PYTHON_KEYWORDS = {"translate": (2,), "ntranslate": (2, 3), "N_": (1,), "_t": (1,)}


def N_(message: str) -> str:
    return message


def translate(locale: str, message: str, **values: Any) -> str:
    """``message`` in ``locale``, with ``{name}`` placeholders filled from ``values``."""
    text = translations(locale).gettext(message)
    return text.format(**values) if values else text


def ntranslate(locale: str, singular: str, plural: str, n: int, **values: Any) -> str:
    text = translations(locale).ngettext(singular, plural, n)
    return text.format(n=n, **values)


@lru_cache(maxsize=None)
def catalog_json(locale: str) -> str:
    """The catalog the page scripts read: {"locale", "nplurals", "messages": {msgid: msgstr or
    [forms]}}; untranslated entries are left out (the script shows the English msgid)."""
    cat = _catalog(locale)
    messages: dict[str, Any] = {}
    for m in cat:
        if not m.id or m.fuzzy:
            continue
        if isinstance(m.id, tuple):
            forms = [s for s in m.string] if isinstance(m.string, tuple) else [m.string]
            if all(forms):
                messages[m.id[0]] = forms
        elif m.string:
            messages[m.id] = m.string
    return json.dumps({"locale": locale, "nplurals": cat.num_plurals, "messages": messages},
                      ensure_ascii=False, sort_keys=True)


@lru_cache(maxsize=None)
def catalog_version(locale: str) -> str:
    """A short hash of the scripts' catalog: its URL changes whenever its words do, so browsers
    may cache it for long."""
    return hashlib.sha256(catalog_json(locale).encode()).hexdigest()[:12]


# --- Jinja2 ----------------------------------------------------------------------------------
# The callables are installed once; each reads the locale from the template's context, which
# every page render sets, so concurrent requests in different languages never share state.

def _locale_of(ctx) -> str:
    return ctx.get("locale") or DEFAULT_LOCALE


@pass_context
def _jinja_gettext(ctx, message: str) -> str:
    return translations(_locale_of(ctx)).gettext(message)


@pass_context
def _jinja_ngettext(ctx, singular: str, plural: str, n: int) -> str:
    return translations(_locale_of(ctx)).ngettext(singular, plural, n)


def install_jinja(env) -> None:
    """Add Jinja2's i18n extension to ``env`` with the catalogs above (``_``, ``gettext``,
    ``ngettext`` and ``{% trans %}`` in templates)."""
    env.add_extension("jinja2.ext.i18n")
    env.install_gettext_callables(_jinja_gettext, _jinja_ngettext, newstyle=True)


# --- the site file's problems, as `siteguard check-site` shows them ----------------------------
# The validator's messages are English sentences with values inside; each pattern names the
# values so the translation can place them. A message no pattern knows is shown as it is.

SITE_PROBLEM_PATTERNS: tuple[tuple[str, str], ...] = (
    (r"file not found", N_("file not found")),
    (r"cannot read file: (?P<reason>.+)", N_("cannot read file: {reason}")),
    (r"site file is empty", N_("site file is empty")),
    (r"YAML nesting is too deep", N_("YAML nesting is too deep")),
    (r"cannot read YAML: (?P<error>.+)", N_("cannot read YAML: {error}")),
    (r"not valid UTF-8 \(byte (?P<byte>0x[0-9a-f]{2})\); save the file as UTF-8", N_("not valid UTF-8 (byte {byte}); save the file as UTF-8")),
    (r"unknown time zone (?P<zone>.+) \(use an IANA name such as Asia/Shanghai\)", N_("unknown time zone {zone} (use an IANA name such as Asia/Shanghai)")),
    (r"unknown key (?P<key>'[^']*') \(did you mean (?P<close>'[^']*')\?\)", N_("unknown key {key} (did you mean {close}?)")),
    (r"unknown key (?P<key>'[^']*') \(allowed: (?P<allowed>.+)\)", N_("unknown key {key} (allowed: {allowed})")),
    (r"Field required", N_("field required")),
    (r"gateway (?P<gateway>\S+) is outside subnet (?P<subnet>\S+)", N_("gateway {gateway} is outside subnet {subnet}")),
    (r"area_out must differ from area_in", N_("area_out must differ from area_in")),
    (r"polygon has no area \(points are collinear or repeated\)", N_("polygon has no area (points are collinear or repeated)")),
    (r"(?P<n>\d+) cross-reference problem\(s\): (?P<details>.+)", N_("{n} cross-reference problem(s): {details}")),
)


def site_problem_message(locale: str, message: str) -> str:
    for pattern, msgid in SITE_PROBLEM_PATTERNS:
        m = re.fullmatch(pattern, message, flags=re.DOTALL)
        if m:
            return translate(locale, msgid, **m.groupdict())
    return message


def format_site_error(exc: Any, locale: str) -> str:
    """A ``SiteFileError`` in ``locale``: a header, then one line per problem (file:line:column)."""
    n = len(exc.problems)
    lines = [ntranslate(locale, "site file {path} is invalid ({n} problem):",
                        "site file {path} is invalid ({n} problems):", n, path=exc.path)]
    for p in exc.problems:
        where = f"{p.file}:{p.line}:{p.column}"
        text = site_problem_message(locale, p.message)
        lines.append(f"{where}: {p.field}: {text}" if p.field else f"{where}: {text}")
    return "\n".join(lines)

