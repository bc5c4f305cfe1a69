"""The body checks' pure parts: lone surrogate escapes in JSON text, and error items that never
carry the rejected input."""
from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from controller.errors import as_validation_detail, validation_items
from controller.limits import BodyLimit, json_text_problem, lone_surrogate


def encodable(value) -> bool:
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
        return True
    except UnicodeEncodeError:
        return False


# Any code point, surrogates included, and the characters that make escapes tricky.
chars = st.one_of(st.characters(codec=None, min_codepoint=0), st.sampled_from("\\\"u\ud800\udc00\udbff\udfff"))


@given(st.lists(st.text(alphabet=chars, max_size=12), max_size=4))
def test_lone_surrogate_agrees_with_python_json(values):
    body = json.dumps(values).encode()  # ascii: every non-ascii character is an escape
    assert lone_surrogate(body) == (not encodable(json.loads(body)))


def test_lone_surrogate_cases():
    assert lone_surrogate(rb'{"a": "\ud800"}')
    assert lone_surrogate(rb'{"a": "\udc00x"}')
    assert lone_surrogate(rb'["\ud800\u0041"]')
    assert not lone_surrogate(rb'["\ud83d\ude00"]')  # a pair: one emoji
    assert not lone_surrogate(rb'["\\ud800"]')  # an escaped backslash, then text
    assert lone_surrogate(rb'["\\\ud800"]')


def test_json_text_problem():
    assert json_text_problem(b'{"a": 1}') is None
    assert json_text_problem(b'{"a": "\xff"}')["type"] == "json_invalid"
    assert json_text_problem(rb'{"a": "\ud800"}')["type"] == "string_unicode"


def test_error_items_never_carry_the_input():
    errors = [{"type": "string_too_long", "loc": ("body", "username"), "msg": "String should have at most 64 characters",
               "input": "x" * 100_000, "ctx": {"max_length": 64}}]
    assert validation_items(errors) == [{"loc": ["body", "username"], "msg": "String should have at most 64 characters",
                                         "type": "string_too_long"}]
    assert as_validation_detail("file describes site 'x'") == [
        {"loc": ["body"], "msg": "file describes site 'x'", "type": "value_error"}]
    assert len(as_validation_detail(["p"] * 1000)) == 50
    assert len(as_validation_detail("y" * 10_000)[0]["msg"]) == 300


def test_limit_per_route():
    limits = BodyLimit(None)
    assert limits.limit_for("PUT", "/api/sites/1/config") == (4 << 20, True)
    assert limits.limit_for("POST", "/api/sites/1/config") == (1 << 20, False)
    assert limits.limit_for("PUT", "/api/sites/1/config/x") == (1 << 20, False)
    assert limits.limit_for("POST", "/api/auth/token") == (1 << 20, False)
