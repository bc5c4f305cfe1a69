"""Import decisions: a file's kind from its bytes (text from its name), the refusal reasons,
the zip rules over declared sizes, and the text shapes accepted."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from annotation.intake import (
    Kind,
    Limits,
    Refusal,
    Refused,
    ZipEntry,
    admit,
    admit_entry,
    kind_of,
    plan_zip,
    text_records,
    unsafe_name,
)
from annotation.project_rules import schema_problems

WAV = b"RIFF\x24\x00\x00\x00WAVEfmt "
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00"
LIMITS = Limits()


@pytest.mark.parametrize(("name", "head", "kind"), [
    ("a.wav", WAV, Kind.wav), ("noext", WAV, Kind.wav), ("a.mp3", b"ID3\x04\x00", Kind.mp3),
    ("a.mp3", b"\xff\xfb\x90\x00", Kind.mp3), ("a.flac", b"fLaC\x00", Kind.flac), ("x.jpg", JPEG, Kind.jpeg),
    ("x.png", PNG, Kind.png), ("x.zip", b"PK\x03\x04", Kind.zip), ("a.jsonl", b'{"text"', Kind.jsonl),
    ("A.CSV", b"text\n", Kind.csv), ("a.txt", b"hello", Kind.txt), ("a.wav", b"not audio", Refusal.corrupt_audio),
    ("a.png", b"\x89PNX", Refusal.corrupt_image), ("a.jpeg", b"garbage", Refusal.corrupt_image),
    ("a.zip", b"garbage", Refusal.bad_zip), ("a.exe", b"MZ\x90\x00", Refusal.unknown_type),
    ("a.png", WAV, Kind.wav),  # the bytes decide, not the name
])
def test_kind_of(name, head, kind):
    assert kind_of(name, head) == kind


def test_admit_by_modality_size_and_emptiness():
    assert admit("a.wav", WAV, 10, "audio", LIMITS) is Kind.wav
    assert admit("a.wav", WAV, 10, "text", LIMITS) is Refusal.wrong_modality
    assert admit("a.txt", b"x", 0, "text", LIMITS) is Refusal.empty
    assert admit("a.txt", b"x", LIMITS.max_text_bytes + 1, "text", LIMITS) is Refusal.too_large
    assert admit("a.png", PNG, LIMITS.max_image_bytes, "image", LIMITS) is Kind.png
    assert admit("a.zip", b"PK\x03\x04", 10, "image", LIMITS) is Kind.zip
    assert admit_entry("in.zip", b"PK\x03\x04", 10, "image", LIMITS) is Refusal.zip_nested


def test_refusal_codes_are_stable():
    assert {r.value for r in Refusal} >= {"unknown_type", "too_large", "bad_encoding", "line_too_long", "bad_json",
                                          "bad_csv", "corrupt_audio", "corrupt_image", "truncated_image",
                                          "zip_bomb", "zip_nested", "empty", "duplicate", "unsafe_path"}


@pytest.mark.parametrize("name", ["/etc/passwd", "../x.txt", "a/../../x.txt", "a\\..\\x.txt", "C:/x.txt"])
def test_unsafe_names(name):
    assert unsafe_name(name)
    plan = plan_zip([ZipEntry(name, 10, 10)], LIMITS)
    assert plan.refused == ((name, Refusal.unsafe_path),) and plan.take == ()


def test_zip_rules_entry_by_entry():
    small = Limits(zip_ratio_from_bytes=1000, zip_max_ratio=10)
    entries = [ZipEntry("dir/", 0, 0, True), ZipEntry("__MACOSX/._a.txt", 5, 5), ZipEntry("a.txt", 50, 500),
               ZipEntry("bomb.txt", 100, 5000), ZipEntry("ok-big.txt", 1000, 5000), ZipEntry("inner.zip", 10, 10),
               ZipEntry("empty.txt", 0, 0), ZipEntry("tiny.txt", 1, 900)]
    plan = plan_zip(entries, small)
    assert plan.whole is None
    assert [e.name for e in plan.take] == ["a.txt", "ok-big.txt", "tiny.txt"]
    assert plan.refused == (("bomb.txt", Refusal.zip_bomb), ("inner.zip", Refusal.zip_nested),
                            ("empty.txt", Refusal.empty))


def test_whole_zip_refused_for_too_many_entries_or_bytes():
    assert plan_zip([ZipEntry(f"{i}.txt", 1, 1) for i in range(4)], Limits(zip_max_entries=3)).whole \
        is Refusal.zip_bomb
    assert plan_zip([ZipEntry("a.txt", 10, 600), ZipEntry("b.txt", 10, 600)],
                    Limits(zip_max_total_bytes=1000)).whole is Refusal.zip_bomb


@given(st.integers(1, 10**9), st.integers(0, 10**12))
def test_ratio_rule_only_past_its_threshold(compressed, size):
    limits = Limits(max_text_bytes=10**12, max_audio_bytes=10**12, max_image_bytes=10**12, zip_max_total_bytes=10**13)
    refused = plan_zip([ZipEntry("f.txt", compressed, size)], limits).refused
    bomb = size > limits.zip_ratio_from_bytes and size > limits.zip_max_ratio * compressed
    assert (refused == (("f.txt", Refusal.zip_bomb),)) == bomb


def lines(s: str) -> list[str]:
    return s.splitlines(keepends=True)


def test_jsonl_shape():
    recs = list(text_records(Kind.jsonl, lines('{"text": "a", "id": 7}\n\n{"text": "b", "x": 1}\n')))
    assert [(r.text, r.line, r.source_id) for r in recs] == [("a", 1, "7"), ("b", 3, None)]
    for bad in ('{"text": ""}\n', '["a"]\n', '{"txt": "a"}\n', '{"text": 5}\n', "{oops\n"):
        with pytest.raises(Refused) as e:
            list(text_records(Kind.jsonl, lines('{"text": "ok"}\n' + bad)))
        assert e.value.reason is Refusal.bad_json and e.value.line == 2


def test_csv_shape():
    recs = list(text_records(Kind.csv, lines('id,Text\n1,hello\n2,"two\nlines"\n')))
    assert [(r.text, r.source_id) for r in recs] == [("hello", "1"), ("two\nlines", "2")]
    for bad in ("name\nx\n", "text,id\nonly-one\n", "text\n\"\"\n", 'text\n"open\n'):
        with pytest.raises(Refused) as e:
            list(text_records(Kind.csv, lines(bad)))
        assert e.value.reason is Refusal.bad_csv


def test_txt_is_one_item():
    assert [r.text for r in text_records(Kind.txt, lines("a\nb\n"))] == ["a\nb\n"]
    with pytest.raises(Refused) as e:
        list(text_records(Kind.txt, lines(" \n\n")))
    assert e.value.reason is Refusal.empty


def test_label_schema_fits_modality():
    assert schema_problems("text", {"kind": "spans", "labels": ["PER"]}) == []
    assert schema_problems("audio", {"kind": "transcript"}) == []
    assert schema_problems("audio", {"kind": "boxes", "labels": ["car"]}) == ["a boxes schema does not fit a audio project"]
    assert schema_problems("image", {"kind": "classification", "labels": []}) == [
        "a classification schema needs at least one label"]
    assert schema_problems("text", {"kind": "multi_label", "labels": ["a", "a"]}) == [
        "label_schema.labels must be distinct"]
