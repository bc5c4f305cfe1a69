"""Text files are read line by line in bounded chunks: a 2 GB line is refused after reading
about the limit, not the line; UTF-8 with or without BOM is read, anything else refused."""
from __future__ import annotations

import tracemalloc

import pytest

from annotation.intake import Refusal, Refused
from controller.preprocess_media import text_lines


def test_a_two_gigabyte_line_is_refused_without_reading_it(tmp_path):
    big = tmp_path / "huge.txt"
    with open(big, "wb") as f:
        f.write(b"first\n")
        f.truncate(2 << 30)  # sparse: 2 GB of one line after the first
    tracemalloc.start()
    try:
        with pytest.raises(Refused) as e:
            list(text_lines(big, max_line_bytes=1 << 20))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert e.value.reason is Refusal.line_too_long and e.value.line == 2
    assert peak < 8 << 20


def test_lines_bom_and_limits(tmp_path):
    f = tmp_path / "a.txt"
    f.write_bytes("\ufeff一\r\ntwo\nlast".encode())
    assert list(text_lines(f, 100)) == ["一\r\n", "two\n", "last"]
    f.write_bytes(b"12345\n123456\n")
    with pytest.raises(Refused) as e:
        list(text_lines(f, 5))
    assert e.value.reason is Refusal.line_too_long and e.value.line == 2
    f.write_bytes("ok\ncaf\u00e9\n".encode("latin-1"))
    with pytest.raises(Refused) as e:
        list(text_lines(f, 100))
    assert e.value.reason is Refusal.bad_encoding and e.value.line == 2
