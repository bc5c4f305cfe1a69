"""Text as stored: NFC, full-width ASCII folded to half-width (Chinese punctuation kept), and
personal data masked with fixed tokens whose offsets point at them in the new text."""
from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from annotation.text_norm import (
    ID_CHECK,
    PROVINCES,
    TOKENS,
    id_check_char,
    is_id_number,
    mask_personal_data,
    normalise,
    prepare_text,
)

VALID_ID = "11010519491231002X"  # the GB 11643 example: checksum X


def test_full_width_ascii_becomes_half_width_and_chinese_punctuation_stays():
    assert normalise("ＡＢＣ１２３ａｂｃ") == "ABC123abc"
    assert normalise("ｅｍａｉｌ＠ｘ．ｃｏｍ") == "email@x.com"
    assert normalise("你好\u3000世界") == "你好 世界"
    assert normalise("你好，世界！真的？是：对；（注）。、「」") == "你好，世界！真的？是：对；（注）。、「」"
    assert normalise("＃＄％＆＊＋－／＜＝＞［］＾＿｛｜｝～") == "#$%&*+-/<=>[]^_{|}~"


def test_nfc_composes():
    assert normalise("e\u0301") == "\u00e9"


@given(st.text())
def test_normalising_twice_changes_nothing(s):
    assert normalise(normalise(s)) == normalise(s)


def test_id_check_digit_example():
    assert id_check_char(VALID_ID[:17]) == "X" and is_id_number(VALID_ID) and is_id_number(VALID_ID.lower())


ids = st.builds(
    lambda prov, rest, born, seq: f"{prov:02d}{rest:04d}{born:%Y%m%d}{seq:03d}",
    st.sampled_from(sorted(PROVINCES)), st.integers(0, 9999),
    st.dates(dt.date(1900, 1, 1), dt.date(2099, 12, 31)), st.integers(0, 999))


@given(ids)
def test_every_valid_id_number_is_masked(first17):
    number = first17 + id_check_char(first17)
    out = mask_personal_data(f"身份证{number}号")
    assert out.text == "身份证[ID]号"
    assert out.masks == ({"kind": "id_number", "start": 3, "end": 7},)


@given(ids, st.sampled_from(ID_CHECK))
def test_a_wrong_check_character_is_not_masked(first17, wrong):
    if wrong == id_check_char(first17):
        wrong = ID_CHECK[(ID_CHECK.index(wrong) + 1) % 11]
    text = f"号码 {first17}{wrong} 完"
    assert not is_id_number(first17 + wrong)
    assert mask_personal_data(text).text == text


def test_bad_region_or_date_is_not_an_id():
    for first17 in ("99010519491231002", "11010519490231002", "11010518991231002"):
        assert not is_id_number(first17 + id_check_char(first17))


def test_phone_numbers():
    out = prepare_text("打13812345678或+86 13912345678，或8615012345678", mask=True)
    assert out.text == "打[PHONE]或[PHONE]，或[PHONE]"
    for m in out.masks:
        assert out.text[m["start"]:m["end"]] == "[PHONE]" and m["kind"] == "phone"
    # Not inside a longer run of digits; 12x is no mobile prefix.
    for s in ("0013812345678", "138123456789", "12812345678"):
        assert mask_personal_data(s).masks == ()


def test_email_next_to_chinese_and_full_width_at():
    out = prepare_text("联系ｌｉ．ｗｅｉ＠ｅｘａｍｐｌｅ．ｃｎ谢谢", mask=True)
    assert out.text == "联系[EMAIL]谢谢" and out.masks == ({"kind": "email", "start": 2, "end": 9},)
    assert mask_personal_data("a@b").masks == ()


def test_masking_is_off_unless_asked():
    assert prepare_text("13812345678").text == "13812345678"


@given(st.lists(st.one_of(st.text(alphabet="你好 ,.abc", max_size=5), st.just("13812345678"),
                          st.just(VALID_ID), st.just("x.y@mail.com")), max_size=8))
def test_mask_offsets_point_at_their_tokens(parts):
    out = mask_personal_data(" ".join(parts))
    for m in out.masks:
        assert out.text[m["start"]:m["end"]] == TOKENS[m["kind"]]
    assert sum(1 for p in parts if p in ("13812345678", VALID_ID, "x.y@mail.com")) == len(out.masks)
