"""Wiegand card formats: decode reader bits into a card number, encode them back.

Readers hand over a card as a bit string; OSDP packs it MSB first into bytes,
padded with zero bits at the end. The formats here are the ones the site file
accepts for badges:

========== ====== ==================================================================
format     bits   layout (bit 0 is sent first)
========== ====== ==================================================================
wiegand26  26     P(even over 1-12) | facility 8 | number 16 | P(odd over 13-24)
wiegand34  34     P(even over 1-16) | facility 16 | number 16 | P(odd over 17-32)
h10304     37     P(even over 1-18) | facility 16 | number 19 | P(odd over 18-35)
raw        any    the whole bit string is the card number, no facility, no parity
========== ====== ==================================================================

``credential_key`` is the single spelling of a card that both a decoded read
and a badge from the site file reduce to, so the two can be matched.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

__all__ = [
    "FORMATS",
    "CardFormatError",
    "CardNumber",
    "CardFormat",
    "WiegandLayout",
    "bits_to_bytes",
    "bytes_to_bits",
    "credential_key",
    "decode",
    "encode",
    "encode_bits",
    "format_for_length",
    "parse_credential_key",
]

CardFormat = Literal["wiegand26", "wiegand34", "h10304", "raw"]

# A raw read longer than this is line noise, not a card.
MAX_RAW_BITS: Final = 256
ANY_FACILITY: Final = "*"


class CardFormatError(ValueError):
    """A read or a card value that is not a valid card; ``reason`` is a short code.

    Codes: ``bad_bits`` (not a bit string), ``wrong_length``, ``bad_parity``,
    ``out_of_range`` (facility/number does not fit), ``unknown_format``.
    """

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class WiegandLayout:
    """Field widths and parity coverage of a fixed-length Wiegand format (bit indexes inclusive)."""

    bit_length: int
    facility_bits: int
    number_bits: int
    even_span: tuple[int, int]  # covered by the even parity bit at index 0
    odd_span: tuple[int, int]  # covered by the odd parity bit at the last index


FORMATS: Final[dict[str, WiegandLayout]] = {
    "wiegand26": WiegandLayout(26, 8, 16, (1, 12), (13, 24)),
    "wiegand34": WiegandLayout(34, 16, 16, (1, 16), (17, 32)),
    # HID H10304: the two parity spans share bit 18.
    "h10304": WiegandLayout(37, 16, 19, (1, 18), (18, 35)),
}

_BY_LENGTH: Final = {layout.bit_length: name for name, layout in FORMATS.items()}
_ALL_FORMATS: Final = (*FORMATS, "raw")


@dataclass(frozen=True)
class CardNumber:
    """A decoded card: its format, facility code (``None`` for raw) and card number."""

    format: str
    facility: int | None
    number: int

    @property
    def key(self) -> str:
        return credential_key(self.format, self.facility, self.number)


def format_for_length(bit_length: int) -> str:
    """The fixed format with this many bits, or ``raw`` for any other length."""
    return _BY_LENGTH.get(bit_length, "raw")


def bytes_to_bits(data: bytes, bit_length: int) -> str:
    """The first ``bit_length`` bits of ``data``, MSB first, as a '0'/'1' string."""
    if not isinstance(bit_length, int) or isinstance(bit_length, bool) or bit_length < 1:
        raise CardFormatError("wrong_length", f"bit length must be a positive integer, got {bit_length!r}")
    needed = (bit_length + 7) // 8
    if len(data) != needed:
        raise CardFormatError("wrong_length", f"{bit_length} bits need {needed} byte(s), got {len(data)}")
    # Padding bits past bit_length are ignored: readers do not agree on what to put there.
    return "".join(format(b, "08b") for b in data)[:bit_length]


def bits_to_bytes(bits: str) -> bytes:
    """Pack a '0'/'1' string MSB first, padding the last byte with zero bits."""
    padded = bits + "0" * (-len(bits) % 8)
    return bytes(int(padded[i : i + 8], 2) for i in range(0, len(padded), 8))


def _as_bit_string(bits: bytes | bytearray | str, bit_length: int | None) -> str:
    if isinstance(bits, (bytes, bytearray)):
        if bit_length is None:
            raise CardFormatError("wrong_length", "a byte string needs its bit length")
        return bytes_to_bits(bytes(bits), bit_length)
    if not isinstance(bits, str):
        raise CardFormatError("bad_bits", f"card bits must be bytes or a '0'/'1' string, got {type(bits).__name__}")
    if not bits or set(bits) - {"0", "1"}:
        raise CardFormatError("bad_bits", f"card bits must be a non-empty string of 0 and 1, got {bits!r}")
    if bit_length is not None and bit_length != len(bits):
        raise CardFormatError("wrong_length", f"bit length {bit_length} does not match {len(bits)} bits given")
    return bits


def _ones(bits: str, span: tuple[int, int]) -> int:
    return bits[span[0] : span[1] + 1].count("1")


def decode(bits: bytes | bytearray | str, bit_length: int | None = None, format: str | None = None) -> CardNumber:
    """Decode a card read.

    ``bits`` is either bytes in OSDP order (then ``bit_length`` is required) or
    a string of '0'/'1'. Without ``format`` the format follows from the length
    (26, 34, 37 bits; anything else is raw). Raises ``CardFormatError``.
    """
    if format is not None and format not in _ALL_FORMATS:
        raise CardFormatError("unknown_format", f"unknown card format {format!r} (known: {', '.join(_ALL_FORMATS)})")
    stream = _as_bit_string(bits, bit_length)
    n = len(stream)
    name = format or format_for_length(n)
    if name == "raw":
        if n > MAX_RAW_BITS:
            raise CardFormatError("wrong_length", f"raw read of {n} bits is longer than {MAX_RAW_BITS}")
        return CardNumber("raw", None, int(stream, 2))
    layout = FORMATS[name]
    if n != layout.bit_length:
        raise CardFormatError("wrong_length", f"{name} has {layout.bit_length} bits, got {n}")
    if (int(stream[0]) + _ones(stream, layout.even_span)) % 2 != 0:
        lo, hi = layout.even_span
        raise CardFormatError("bad_parity", f"{name}: even parity (bit 0) over bits {lo}-{hi} does not match")
    if (int(stream[-1]) + _ones(stream, layout.odd_span)) % 2 != 1:
        lo, hi = layout.odd_span
        raise CardFormatError("bad_parity", f"{name}: odd parity (bit {n - 1}) over bits {lo}-{hi} does not match")
    split = 1 + layout.facility_bits
    return CardNumber(name, int(stream[1:split], 2), int(stream[split : n - 1], 2))


def _check_int(name: str, value: object, bits: int, what: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise CardFormatError("out_of_range", f"{name} {what} must be an integer, got {value!r}")
    if not 0 <= value < (1 << bits):
        raise CardFormatError("out_of_range", f"{name} {what} must be 0..{(1 << bits) - 1}, got {value}")
    return value


def encode_bits(format: str, facility: int | None, number: int, bit_length: int | None = None) -> str:
    """The card's bit string, bit 0 first (see ``encode`` for the arguments)."""
    if format == "raw":
        if facility is not None:
            raise CardFormatError("out_of_range", "raw cards have no facility code")
        if not isinstance(number, int) or isinstance(number, bool) or number < 0:
            raise CardFormatError("out_of_range", f"raw card number must be a non-negative integer, got {number!r}")
        width = bit_length if bit_length is not None else max(1, number.bit_length())
        if not 1 <= width <= MAX_RAW_BITS or number.bit_length() > width:
            raise CardFormatError("out_of_range", f"raw card number {number} does not fit in {width} bits")
        return _bits_of(number, width)
    if format not in FORMATS:
        raise CardFormatError("unknown_format", f"unknown card format {format!r} (known: {', '.join(_ALL_FORMATS)})")
    layout = FORMATS[format]
    if bit_length is not None and bit_length != layout.bit_length:
        raise CardFormatError("wrong_length", f"{format} has {layout.bit_length} bits, not {bit_length}")
    fac = _check_int(format, facility, layout.facility_bits, "facility")
    num = _check_int(format, number, layout.number_bits, "card number")
    body = "?" + _bits_of(fac, layout.facility_bits) + _bits_of(num, layout.number_bits) + "?"
    even = str(_ones(body, layout.even_span) % 2)
    odd = str(1 - _ones(body, layout.odd_span) % 2)
    return even + body[1:-1] + odd


def _bits_of(value: int, width: int) -> str:
    return format(value, f"0{width}b")


def encode(format: str, facility: int | None, number: int, bit_length: int | None = None) -> tuple[bytes, int]:
    """Encode a card as ``(bytes, bit_length)`` in OSDP order: MSB first, zero-padded.

    ``bit_length`` only matters for raw cards (default: the fewest bits that
    hold ``number``); for the fixed formats it must be omitted or match.
    """
    bits = encode_bits(format, facility, number, bit_length)
    return bits_to_bytes(bits), len(bits)


def credential_key(format: str, facility: int | None, number: int | str) -> str:
    """The lookup key shared by decoded cards and site-file badges.

    The number is compared as an integer ("0042" and 42 are the same card to a
    reader, as the site file's own uniqueness check assumes). A badge without a
    facility code gets ``*`` there and matches a read with any facility.
    """
    if format not in _ALL_FORMATS:
        raise CardFormatError("unknown_format", f"unknown card format {format!r} (known: {', '.join(_ALL_FORMATS)})")
    if isinstance(number, str):
        if not number.isascii() or not number.isdigit():
            raise CardFormatError("out_of_range", f"card number must be digits, got {number!r}")
        number = int(number)
    elif not isinstance(number, int) or isinstance(number, bool) or number < 0:
        raise CardFormatError("out_of_range", f"card number must be a non-negative integer, got {number!r}")
    if facility is not None and (not isinstance(facility, int) or isinstance(facility, bool) or facility < 0):
        raise CardFormatError("out_of_range", f"facility must be a non-negative integer, got {facility!r}")
    if format == "raw" and facility is not None:
        raise CardFormatError("out_of_range", "raw cards have no facility code")
    return f"{format}:{ANY_FACILITY if facility is None else facility}:{number}"


def parse_credential_key(key: str) -> tuple[str, int | None, int]:
    """Inverse of ``credential_key``: ``(format, facility or None, number)``."""
    parts = key.split(":") if isinstance(key, str) else []
    if len(parts) != 3:
        raise CardFormatError("bad_bits", f"not a credential key: {key!r}")
    fmt, fac, num = parts
    facility = None if fac == ANY_FACILITY else _digits(fac, key)
    number = _digits(num, key)
    if credential_key(fmt, facility, number) != key:
        raise CardFormatError("bad_bits", f"not a canonical credential key: {key!r}")
    return fmt, facility, number


def _digits(text: str, key: str) -> int:
    if not text.isascii() or not text.isdigit():
        raise CardFormatError("bad_bits", f"not a credential key: {key!r}")
    return int(text)
