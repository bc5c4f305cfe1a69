"""Wiegand formats: known bit patterns, parity errors, OSDP byte order, credential keys."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from access_control.cards import (
    FORMATS,
    CardFormatError,
    CardNumber,
    bits_to_bytes,
    bytes_to_bits,
    credential_key,
    decode,
    encode,
    encode_bits,
    format_for_length,
    parse_credential_key,
)

# Worked by hand. facility 12 = 00001100, card 10001 = 0010011100010001.
# Even parity over 000011000010 (three ones) -> 1; odd parity over
# 011100010001 (five ones) -> 0.
W26_12_10001 = "1" + "00001100" + "0010011100010001" + "0"


def flip(bits: str, i: int) -> str:
    return bits[:i] + ("1" if bits[i] == "0" else "0") + bits[i + 1 :]


def test_wiegand26_known_pattern():
    assert encode_bits("wiegand26", 12, 10001) == W26_12_10001
    assert decode(W26_12_10001) == CardNumber("wiegand26", 12, 10001)


def test_wiegand26_osdp_bytes_msb_first_zero_padded():
    data, n = encode("wiegand26", 12, 10001)
    assert n == 26
    # 10000110 00010011 10001000 10[000000]
    assert data == bytes([0b10000110, 0b00010011, 0b10001000, 0b10000000])
    assert decode(data, 26) == CardNumber("wiegand26", 12, 10001)


def test_wiegand34_known_pattern():
    # facility 1, card 1: even over 0000000000000001 (one) -> 1; odd over 0000000000000001 (one) -> 0.
    expected = "1" + "0000000000000001" + "0000000000000001" + "0"
    assert encode_bits("wiegand34", 1, 1) == expected
    assert decode(expected) == CardNumber("wiegand34", 1, 1)


def test_h10304_parity_spans_share_bit_18():
    # The card number fills bits 17-35, so card 2**17 puts a single one at bit
    # 18, covered by both parities: even over bits 1-18 (one) -> 1; odd over
    # bits 18-35 (one) -> 0.
    bits = encode_bits("h10304", 0, 1 << 17)
    assert len(bits) == 37
    assert bits == "1" + "0" * 16 + "01" + "0" * 17 + "0"
    assert decode(bits) == CardNumber("h10304", 0, 1 << 17)
    # One bit further right is outside the even span: even -> 0, odd stays 0.
    assert encode_bits("h10304", 0, 1 << 16) == "0" + "0" * 16 + "001" + "0" * 16 + "0"


def test_h10304_demo_badge():
    data, n = encode("h10304", 300, 20001)
    assert (len(data), n) == (5, 37)
    assert decode(data, 37) == CardNumber("h10304", 300, 20001)


def test_raw_is_the_whole_bit_string():
    assert decode("101") == CardNumber("raw", None, 5)
    assert encode("raw", None, 5) == (bytes([0b10100000]), 3)
    assert encode("raw", None, 5, bit_length=8) == (bytes([0b00000101]), 8)
    assert decode(bytes([0b00000101]), 8) == CardNumber("raw", None, 5)
    assert decode(W26_12_10001, format="raw") == CardNumber("raw", None, int(W26_12_10001, 2))


def test_format_follows_length():
    assert [format_for_length(n) for n in (26, 34, 37, 32, 48)] == ["wiegand26", "wiegand34", "h10304", "raw", "raw"]


def test_bad_even_parity_is_refused_with_reason():
    with pytest.raises(CardFormatError) as err:
        decode(flip(W26_12_10001, 0))
    assert err.value.reason == "bad_parity"
    assert str(err.value) == "wiegand26: even parity (bit 0) over bits 1-12 does not match"


def test_bad_odd_parity_is_refused_with_reason():
    with pytest.raises(CardFormatError) as err:
        decode(flip(W26_12_10001, 20))
    assert err.value.reason == "bad_parity"
    assert str(err.value) == "wiegand26: odd parity (bit 25) over bits 13-24 does not match"


@pytest.mark.parametrize(
    ("bits", "length", "fmt", "message"),
    [
        (W26_12_10001[:-1], None, "wiegand26", "wiegand26 has 26 bits, got 25"),
        (b"\x00\x00\x00", 26, None, "26 bits need 4 byte(s), got 3"),
        (b"\x00\x00\x00\x00", None, None, "a byte string needs its bit length"),
        ("1" * 26, 25, None, "bit length 25 does not match 26 bits given"),
        ("1" * 300, None, None, "raw read of 300 bits is longer than 256"),
        (b"", 0, None, "bit length must be a positive integer, got 0"),
    ],
)
def test_wrong_length(bits, length, fmt, message):
    with pytest.raises(CardFormatError) as err:
        decode(bits, length, fmt)
    assert err.value.reason == "wrong_length"
    assert str(err.value) == message


@pytest.mark.parametrize("bits", ["", "10201", "1 0", 26])
def test_not_a_bit_string(bits):
    with pytest.raises(CardFormatError) as err:
        decode(bits)
    assert err.value.reason == "bad_bits"


def test_unknown_format():
    with pytest.raises(CardFormatError) as err:
        decode("1" * 26, format="wiegand99")
    assert err.value.reason == "unknown_format"
    with pytest.raises(CardFormatError):
        encode("wiegand99", 1, 1)


@pytest.mark.parametrize(
    ("fmt", "facility", "number", "message"),
    [
        ("wiegand26", 256, 1, "wiegand26 facility must be 0..255, got 256"),
        ("wiegand26", 1, 65536, "wiegand26 card number must be 0..65535, got 65536"),
        ("wiegand34", 65536, 1, "wiegand34 facility must be 0..65535, got 65536"),
        ("h10304", 1, 524288, "h10304 card number must be 0..524287, got 524288"),
        ("wiegand26", None, 1, "wiegand26 facility must be an integer, got None"),
        ("wiegand26", -1, 1, "wiegand26 facility must be 0..255, got -1"),
        ("raw", 3, 1, "raw cards have no facility code"),
        ("raw", None, -1, "raw card number must be a non-negative integer, got -1"),
    ],
)
def test_encode_out_of_range(fmt, facility, number, message):
    with pytest.raises(CardFormatError) as err:
        encode(fmt, facility, number)
    assert err.value.reason == "out_of_range"
    assert str(err.value) == message


def test_encode_fixed_format_rejects_other_length():
    with pytest.raises(CardFormatError) as err:
        encode("wiegand26", 1, 1, bit_length=34)
    assert err.value.reason == "wrong_length"


def test_padding_bits_are_ignored():
    data, n = encode("wiegand26", 12, 10001)
    noisy = data[:-1] + bytes([data[-1] | 0b00111111])
    assert decode(noisy, n) == CardNumber("wiegand26", 12, 10001)


def test_credential_key_matches_site_badge_and_decoded_card():
    # A site-file badge: {number: "10001", format: wiegand26, facility: 12}
    site_key = credential_key("wiegand26", 12, "10001")
    assert site_key == "wiegand26:12:10001"
    assert decode(*encode("wiegand26", 12, 10001)).key == site_key
    assert credential_key("wiegand26", 12, "0010001") == site_key  # leading zeros are the same card
    assert credential_key("wiegand26", None, "10001") == "wiegand26:*:10001"
    assert credential_key("raw", None, 5) == decode("101").key == "raw:*:5"


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (("wiegand26", 12, "12a"), "out_of_range"),
        (("wiegand26", 12, -3), "out_of_range"),
        (("wiegand26", -1, 3), "out_of_range"),
        (("raw", 1, 3), "out_of_range"),
        (("mifare", 1, 3), "unknown_format"),
    ],
)
def test_credential_key_refuses_bad_values(args, reason):
    with pytest.raises(CardFormatError) as err:
        credential_key(*args)
    assert err.value.reason == reason


@pytest.mark.parametrize("key", ["wiegand26:12", "wiegand26:x:1", "wiegand26:12:007", "mifare:1:1", "raw:3:1", ""])
def test_parse_credential_key_refuses_non_canonical(key):
    with pytest.raises(CardFormatError):
        parse_credential_key(key)


def test_parse_credential_key_round_trip():
    assert parse_credential_key("wiegand26:12:10001") == ("wiegand26", 12, 10001)
    assert parse_credential_key("h10304:*:5") == ("h10304", None, 5)


cards = st.sampled_from(sorted(FORMATS)).flatmap(
    lambda f: st.tuples(
        st.just(f),
        st.integers(0, (1 << FORMATS[f].facility_bits) - 1),
        st.integers(0, (1 << FORMATS[f].number_bits) - 1),
    )
)


@given(cards)
def test_encode_decode_round_trip(card):
    fmt, facility, number = card
    data, n = encode(fmt, facility, number)
    assert n == FORMATS[fmt].bit_length
    assert len(data) == (n + 7) // 8
    assert decode(data, n) == CardNumber(fmt, facility, number)
    assert decode(bytes_to_bits(data, n)) == CardNumber(fmt, facility, number)


@given(cards, st.data())
def test_any_single_bit_flip_is_caught(card, data):
    bits = encode_bits(*card)
    i = data.draw(st.integers(0, len(bits) - 1))
    with pytest.raises(CardFormatError) as err:
        decode(flip(bits, i))
    assert err.value.reason == "bad_parity"


@given(st.text(alphabet="01", min_size=1, max_size=80))
def test_bits_bytes_round_trip(bits):
    assert bytes_to_bits(bits_to_bytes(bits), len(bits)) == bits


@given(st.integers(0, 2**64))
def test_raw_round_trip(number):
    data, n = encode("raw", None, number)
    assert decode(data, n, "raw") == CardNumber("raw", None, number)
