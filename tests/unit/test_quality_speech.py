"""Transcript error rates: normalisation, mixed tokens, per-utterance and batch rates, against
counts worked by hand."""
from __future__ import annotations

import cn2an
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from annotation.quality.speech_metrics import (
    _NUMERAL_CHARS,
    Edits,
    batch,
    cer,
    edit_distance,
    edits,
    error_rate,
    normalise,
    tokens,
    transcript_batch,
    transcript_text,
    wer,
)


def test_normalisation_folds_width_script_numerals_and_punctuation():
    assert normalise("我們在二〇二四年１月１日買了三個蘋果，一起去公園！") == "我们在2024年1月1日买了3个苹果 1起去公园"
    assert normalise("ＡＢＣ\u3000Ｄｅｆ") == "abc def"
    assert normalise("Hello, World! Don\u2019t stop.") == "hello world don't stop"


def test_both_readings_of_a_number_become_the_same_digits():
    assert normalise("一九八四年") == normalise("一千九百八十四年") == normalise("1984年") == "1984年"
    assert normalise("两个人") == normalise("二个人") == "2个人"
    assert normalise("百分之三点五") == normalise("3.5%") == "3.5%"
    assert normalise("三分之一") == "1/3"
    assert normalise("负五度") == "-5度"


def test_mixed_text_is_split_chinese_by_character_english_by_word():
    assert tokens("iPhone 15 Pro 很好用") == ["iphone", "1", "5", "pro", "很", "好", "用"]
    assert tokens("我用iPhone拍照") == tokens("我用 iphone 拍照") == ["我", "用", "iphone", "拍", "照"]
    assert tokens("三点五") == ["3", ".", "5"]
    assert tokens("A-B 测试") == ["a", "b", "测", "试"]
    assert tokens("Don't 不") == ["don't", "不"]
    assert tokens("abc 你", "char") == ["a", "b", "c", "你"]
    assert tokens("今天 天气很好", "word") == ["今天", "天气很好"]
    with pytest.raises(ValueError):
        tokens("x", "syllable")


def test_chinese_cer_after_normalisation():
    # Traditional characters, Chinese numerals and full-width punctuation are no errors.
    assert edits("今天是二零二四年，天氣很好。", "今天是2024年天气很好") == Edits(0, 0, 0, 12)
    # 我有3个苹果 against 我有4个苹果吧: one substitution and one insertion over 6 characters.
    e = edits("我有三個蘋果", "我有四个苹果吧")
    assert e == Edits(1, 0, 1, 5)
    assert e.rate == pytest.approx(2 / 6)


def test_cer_of_one_utterance_can_exceed_one():
    assert error_rate("好", "好好好") == 2.0
    assert cer("好", "不好不好不好") == 5.0


def test_batch_sums_edits_over_tokens_and_clips_accuracy_at_zero():
    b = batch([("好", "好好好"), ("今天天气很好", "今天天气很好")])
    # 2 edits over 1 + 6 reference characters; the mean of the utterances' rates would be 1.0
    assert (b.edits.errors, b.edits.reference_length, b.utterances) == (2, 7, 2)
    assert b.rate == pytest.approx(2 / 7)
    assert b.accuracy == pytest.approx(5 / 7)
    worse = batch([("好", "不好不好不好")])
    assert worse.rate == 5.0 and worse.accuracy == 0.0


def test_wer_on_english_and_why_it_means_nothing_on_unspaced_chinese():
    assert wer("The cat sat on the mat.", "the cat sat on a mat") == pytest.approx(1 / 6)
    assert error_rate("The cat sat on the mat.", "the cat sat on a mat") == pytest.approx(1 / 6)
    # One wrong character of six: the whole sentence is one "word".
    assert wer("今天天气很好", "今天天气很差") == 1.0
    assert cer("今天天气很好", "今天天气很差") == pytest.approx(1 / 6)


def test_empty_references():
    assert error_rate("", "") == 0.0
    assert error_rate("", "你好") is None
    assert error_rate("。", "，") == 0.0  # punctuation only: nothing to say
    assert edits("你好", "") == Edits(0, 2, 0, 0)
    assert batch([("", "多")]).rate is None and batch([]).accuracy is None


def test_edit_distance_is_symmetric():
    a, b = "我有三个苹果", "我有四个苹果吧"
    assert edit_distance(a, b) == edit_distance(b, a) == 2


def test_transcripts_are_scored_from_stored_results():
    gold = {"segments": [{"start": 0.0, "end": 1.0, "text": "你好", "speaker": "A"},
                         {"start": 1.0, "end": 2.0, "text": "世界", "speaker": None}]}
    got = {"segments": [{"start": 0.0, "end": 2.0, "text": "你好世界！", "speaker": "A"}]}
    assert transcript_text(gold) == "你好 世界"
    assert transcript_text(None) == "" and transcript_text({"segments": "x"}) == ""
    s = transcript_batch([(gold, got), (gold, None)])
    assert (s.edits.errors, s.edits.reference_length) == (4, 8)
    assert s.accuracy == 0.5


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from("的是我你好天气了月日年点分之负个小时 abcXYZ0123456789.%-/，。！")))
def test_text_without_a_numeral_character_is_left_alone_by_the_numeral_step(text):
    # normalise() skips cn2an for such text; that is only right if cn2an would change nothing.
    assert _NUMERAL_CHARS.isdisjoint(text)
    assert cn2an.transform(text, "cn2an") == text


def test_half_and_twenty_are_numerals_too():
    assert normalise("半个小时") == "0.5个小时"
    assert normalise("廿三日") == normalise("二十三日") == "23日"
