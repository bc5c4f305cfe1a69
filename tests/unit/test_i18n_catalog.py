"""The pages speak Chinese and English: every marked string has a Chinese translation, no
template or page script shows a word outside a translation call, placeholders survive
translation, the language is chosen as documented, and `siteguard check-site` speaks both."""
from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po

from controller import i18n

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "controller" / "templates"
STATIC = ROOT / "controller" / "static"
PAGE_SCRIPTS = sorted(STATIC.glob("*.js"))  # the vendored Swagger UI lives in static/swagger/

# Visible text that is not a word of either language: the product's name, units and symbols,
# example values in placeholders (ids an operator types), and the switcher's native names.
ALLOWED_LITERALS = {"SiteGuard", "p-001", "p-003", "gate-main", "–", "…", "·", "✓", "◐", "✗", "→", "%"}


def extracted() -> dict[str, tuple]:
    """msgid -> (msgid or (singular, plural), file) for everything babel.cfg extracts."""
    method_map = [("controller/templates/**.html", "jinja2"), ("controller/static/*.js", "javascript"),
                  ("controller/i18n.py", "python"), ("controller/routers/pages.py", "python"),
                  ("controller/routers/role_pages.py", "python"), ("controller/page_access.py", "python"),
                  ("controller/event_text.py", "python"),
                  ("siteguard_cli.py", "python")]
    options = {"controller/templates/**.html": {"extensions": "jinja2.ext.i18n"}}
    keywords = {**DEFAULT_KEYWORDS, **i18n.PYTHON_KEYWORDS}
    out = {}
    for filename, _lineno, message, _comments, _context in extract_from_dir(
            str(ROOT), method_map, options, keywords=keywords):
        key = message[0] if isinstance(message, tuple) else message
        out[key] = (message, filename)
    return out


def catalog(locale: str):
    with i18n.po_path(locale).open("rb") as f:
        return read_po(f, locale=locale)


def test_extraction_finds_the_pages_words():
    found = extracted()
    # One from each kind of source, so an extraction that silently finds nothing fails here.
    for msgid in ("Seat coverage", "updated {time}", "Wrong username or password.", "file not found",
                  "give --password or set SITEGUARD_NEW_PASSWORD"):
        assert msgid in found, msgid
    assert len(found) > 300


def test_every_extracted_message_has_a_chinese_translation():
    zh = {m.id[0] if isinstance(m.id, tuple) else m.id: m for m in catalog("zh_CN") if m.id}
    missing = []
    for key, (message, filename) in sorted(extracted().items()):
        m = zh.get(key)
        strings = m.string if m is not None and isinstance(m.string, tuple) else (m.string if m else "",)
        if m is None or m.fuzzy or not all(s.strip() for s in strings):
            missing.append(f"{filename}: {message!r}")
    assert not missing, "untranslated (run scripts/i18n.sh, then translate):\n" + "\n".join(missing)


PLACEHOLDER = re.compile(r"\{\w+\}|%\(\w+\)s")


@pytest.mark.parametrize("locale", i18n.LOCALES)
def test_translations_keep_the_placeholders(locale):
    wrong = []
    for m in catalog(locale):
        if not m.id:
            continue
        ids = m.id if isinstance(m.id, tuple) else (m.id,)
        strings = m.string if isinstance(m.string, tuple) else (m.string,)
        want = set(PLACEHOLDER.findall(ids[-1])) | set(PLACEHOLDER.findall(ids[0]))
        for s in strings:
            # {n} may be left out of a form that spells its number (one plural form in Chinese).
            if s and set(PLACEHOLDER.findall(s)) - {"{n}"} != want - {"{n}"}:
                wrong.append(f"{m.id!r} -> {s!r}")
    assert not wrong, "\n".join(wrong)


# --- no visible text outside a translation call ---------------------------------------------------

VISIBLE_ATTRIBUTES = {"title", "placeholder", "aria-label", "alt", "label"}
JINJA = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.S)


def has_words(text: str) -> bool:
    """Whether ``text`` holds a word beyond the allowed literals (\u2063 marks a cut-out value)."""
    tokens = [t for t in re.split(r"[\s\u2063]+", text) if t and t not in ALLOWED_LITERALS]
    return any(re.search(r"[A-Za-z\u4e00-\u9fff]", t) for t in tokens)


class _VisibleText(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self.skip += 1
        for name, value in attrs:
            if name in VISIBLE_ATTRIBUTES and value and has_words(value):
                self.found.append(f"<{tag} {name}={value!r}>")

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self.skip -= 1

    def handle_data(self, data):
        if not self.skip and has_words(data):
            self.found.append(data.strip())


def untranslated_in_template(source: str) -> list[str]:
    """Text a template shows outside {{ _(...) }} / {% trans %}: the Jinja parts are cut out
    (a {% trans %} block with its body), what is left must hold no word."""
    source = re.sub(r"\{%-?\s*trans\b.*?\{%-?\s*endtrans\s*-?%\}", " ", source, flags=re.S)
    source = JINJA.sub("\u2063", source)  # an expression is a value, not a word
    parser = _VisibleText()
    parser.feed(source)
    return parser.found


@pytest.mark.parametrize("template", sorted(p.name for p in TEMPLATES.glob("*.html")))
def test_templates_show_no_untranslated_text(template):
    assert untranslated_in_template((TEMPLATES / template).read_text()) == []


def test_the_template_scanner_finds_a_bare_word():
    assert untranslated_in_template("<p>Hello</p>") == ["Hello"]
    assert untranslated_in_template('<input placeholder="your name">') == ["<input placeholder='your name'>"]
    assert untranslated_in_template("<p>{{ _('Hello') }} <span>{{ name }}</span> · 5 %</p>") == []
    assert untranslated_in_template("<p>{% trans %}Hello {{ x }}{% endtrans %}</p>") == []


STRING = r"""(?:"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')"""
# Where a page script puts text on the page: the value assigned to a text property, and the
# text argument of el()/svg()/cell()/Option/confirm/alert/prompt/Error (index: which argument).
ASSIGNED = re.compile(r"\.(?:textContent|innerText|innerHTML|title|placeholder|alt)\s*=(?!=)|\btextContent:")
CALLS = {"el": 1, "svg": 2, "cell": 0, "new Option": 0, "confirm": 0, "alert": 0, "prompt": 0, "new Error": 0}
CALL = re.compile(r"(?<![\w.])(" + "|".join(re.escape(c) for c in CALLS) + r")\(")
TRANSLATED_CALL = re.compile(r"\b(?:_|gettext|ngettext)\(\s*" + STRING + r"(?:\s*,\s*" + STRING + ")?")


def _expression(code: str, i: int, stops: str) -> tuple[str, int]:
    """The code from ``i`` to the first of ``stops`` outside brackets and strings."""
    depth, j = 0, i
    while j < len(code):
        c = code[j]
        if c in "\"'":
            m = re.compile(STRING).match(code, j)
            j = m.end() if m else j + 1
            continue
        if depth == 0 and c in stops:
            break
        depth += c in "([{"
        depth -= c in ")]}"
        if depth < 0:
            break
        j += 1
    return code[i:j], j


def _call_argument(code: str, open_paren: int, index: int) -> str:
    j = open_paren + 1
    for _ in range(index):
        _, j = _expression(code, j, ",)")
        if j >= len(code) or code[j] != ",":
            return ""
        j += 1
    return _expression(code, j, ",)")[0]


def untranslated_in_script(source: str) -> list[str]:
    """Literals with words that a page script shows without _()/ngettext()."""
    code = re.sub(r"^\s*//.*$", "", source, flags=re.M)
    code = TRANSLATED_CALL.sub("_(T", code)  # a translated literal is no longer a literal
    # A literal compared with (x === "seat") or used as a key (names[x] || "y" aside) is a value.
    code = re.sub(r"[!=]==?\s*" + STRING, "== V", code)
    code = re.sub(STRING + r"\s*[!=]==?", "V ==", code)
    shown = [_expression(code, m.end(), ";,}\n" if m.group(0).endswith(":") else ";")[0]
             for m in ASSIGNED.finditer(code)]
    shown += [_call_argument(code, m.end() - 1, CALLS[m.group(1)]) for m in CALL.finditer(code)]
    return [text.strip() for text in shown
            if any(has_words(re.sub(r"\\.", " ", lit[1:-1])) for lit in re.findall(STRING, text))]


@pytest.mark.parametrize("script", [p.name for p in PAGE_SCRIPTS if p.name != "i18n.js"])
def test_page_scripts_show_no_untranslated_text(script):
    assert untranslated_in_script((STATIC / script).read_text()) == []


@pytest.mark.parametrize("script", [p.name for p in PAGE_SCRIPTS if p.name != "i18n.js"])
def test_page_scripts_show_times_in_the_sites_zone(script):
    """The browser's own formatting would use its own zone: times go through i18n.js."""
    assert not re.findall(r"\.toLocale\w*String\(", (STATIC / script).read_text())


def test_the_script_scanner_finds_a_bare_word():
    assert untranslated_in_script('x.textContent = "updated " + t;')
    assert untranslated_in_script('row.append(el("span", "no gate", "muted"));')
    assert untranslated_in_script('if (!confirm("Really?")) return;')
    assert not untranslated_in_script('x.textContent = _("updated {time}", { time: t });')
    assert not untranslated_in_script('row.append(el("span", _("no gate"), "muted"));')
    assert not untranslated_in_script('x.textContent = "–";')
    assert not untranslated_in_script('x.textContent = zone === "seat" ? _("seat zone") : _("screen zone");')
    assert untranslated_in_script('x.textContent = a + " by " + b;')  # a word glued between values
    assert untranslated_in_script('tr.append(el("td", t + " (" + n + " items)"));')
    assert not untranslated_in_script('tr.append(el("td", _("{n} items", { n: n }), "muted small"));')
    assert not untranslated_in_script('li.className = "sev-" + a.severity;')


# --- choosing the language ----------------------------------------------------------------------

class _Req:
    def __init__(self, cookie=None, accept=None):
        self.cookies = {i18n.COOKIE: cookie} if cookie else {}
        self.headers = {"accept-language": accept} if accept else {}


class _User:
    language = "en"


def test_language_is_profile_then_cookie_then_browser_then_chinese():
    assert i18n.choose_locale(_Req()) == "zh_CN"
    assert i18n.choose_locale(_Req(accept="en-US,en;q=0.9")) == "en"
    assert i18n.choose_locale(_Req(accept="fr-FR, en;q=0.5, zh;q=0.8")) == "zh_CN"
    assert i18n.choose_locale(_Req(accept="de")) == "zh_CN"
    assert i18n.choose_locale(_Req(cookie="en", accept="zh-CN")) == "en"
    assert i18n.choose_locale(_Req(cookie="xx", accept="en")) == "en"  # a bad cookie is ignored
    assert i18n.choose_locale(_Req(cookie="zh_CN"), _User()) == "en"


def test_python_side_translation_and_plurals():
    assert i18n.translate("zh_CN", "Wrong username or password.") == "用户名或密码错误。"
    assert i18n.translate("en", "Wrong username or password.") == "Wrong username or password."
    assert i18n.translate("zh_CN", "no such words here") == "no such words here"
    assert i18n.ntranslate("en", "ledger: {n} entry", "ledger: {n} entries", 2) == "ledger: 2 entries"
    assert i18n.ntranslate("en", "ledger: {n} entry", "ledger: {n} entries", 1) == "ledger: 1 entry"
    assert i18n.ntranslate("zh_CN", "ledger: {n} entry", "ledger: {n} entries", 2) == "账本：2 条记录"


def test_the_scripts_catalog_holds_the_chinese_words():
    doc = json.loads(i18n.catalog_json("zh_CN"))
    assert doc["locale"] == "zh_CN" and doc["nplurals"] == 1
    assert doc["messages"]["updated {time}"] == "更新于 {time}"
    assert doc["messages"]["ledger: {n} entry"] == ["账本：{n} 条记录"]
    assert json.loads(i18n.catalog_json("en"))["messages"] == {}  # English: the msgids themselves


def test_cli_language_from_the_environment():
    assert i18n.cli_locale({}) == "en"
    assert i18n.cli_locale({"LANG": "zh_CN.UTF-8"}) == "zh_CN"
    assert i18n.cli_locale({"LANG": "zh_CN.UTF-8", "LC_ALL": "C.UTF-8"}) == "en"
    assert i18n.cli_locale({"LC_MESSAGES": "zh_TW", "LANG": "en_US"}) == "zh_CN"


def test_check_site_reports_problems_in_chinese(tmp_path, capsys, monkeypatch):
    import siteguard_cli

    demo = (ROOT / "simulators" / "sites" / "demo.yaml").read_text()
    bad = tmp_path / "bad.yaml"
    bad.write_text(demo.replace("timezone: Asia/Shanghai", "timezone: Mars/Olympus", 1))
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")
    monkeypatch.delenv("LC_ALL", raising=False)
    monkeypatch.delenv("LC_MESSAGES", raising=False)
    with pytest.raises(SystemExit):
        siteguard_cli._load_site(str(bad))
    err = capsys.readouterr().err
    assert f"站点文件 {bad} 无效（1 个问题）：" in err
    assert "未知时区 'Mars/Olympus'（请使用 IANA 名称，例如 Asia/Shanghai）" in err
    monkeypatch.setenv("LANG", "en_US.UTF-8")
    with pytest.raises(SystemExit):
        siteguard_cli._load_site(str(bad))
    err = capsys.readouterr().err
    assert f"site file {bad} is invalid (1 problem):" in err
    assert "unknown time zone 'Mars/Olympus' (use an IANA name such as Asia/Shanghai)" in err


@pytest.mark.parametrize("locale", ["en", "zh_CN"])
def test_each_catalog_is_well_formed(locale):
    """Every entry has its msgid and msgstr: a broken entry is refused, not read past with a
    warning printed into every command's output."""
    path = ROOT / "controller" / "locale" / locale / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as f:
        read_po(f, abort_invalid=True)
