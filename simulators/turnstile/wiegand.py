"""Card formats as a reader puts them on the wire: Wiegand bit strings with their parity bits.

Written here on purpose, apart from the panel's decoder: a simulator that borrowed its client's
encoder would agree with any bug in it.

    wiegand26  HID H10301: even parity over bits 2-13 | 8-bit facility | 16-bit number | odd parity
               over bits 14-25
    wiegand34  even parity over bits 2-17 | 16-bit facility | 16-bit number | odd parity over 18-33
    h10304     HID 37-bit: even parity over bits 2-19 | 16-bit facility | 19-bit number | odd
               parity over bits 19-36 (the two parity ranges share bit 19)
    raw        the number as plain bits, no parity (OSDP format "unspecified")

Bits are numbered from 1 in transmission order. OSDP carries them packed most significant bit
first: bit 1 is the top bit of the first byte, the last byte is padded with zeros.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Layout:
    facility_bits: int
    number_bits: int
    even_span: int  # leading even parity covers this many data bits from the front
    odd_span: int  # trailing odd parity covers this many data bits from the back

    @property
    def data_bits(self) -> int:
        return self.facility_bits + self.number_bits

    @property
    def bit_count(self) -> int:
        return self.data_bits + 2


LAYOUTS: dict[str, Layout] = {
    "wiegand26": Layout(facility_bits=8, number_bits=16, even_span=12, odd_span=12),
    "wiegand34": Layout(facility_bits=16, number_bits=16, even_span=16, odd_span=16),
    "h10304": Layout(facility_bits=16, number_bits=19, even_span=18, odd_span=18),
}
FORMATS = (*LAYOUTS, "raw")
RAW_MAX_BITS = 128


@dataclass(frozen=True)
class CardBits:
    """What one card read puts on the wire."""

    format: str
    facility: int | None
    number: int
    value: int  # all bits as one integer, bit 1 the most significant
    bit_count: int

    @property
    def packed(self) -> bytes:
        return pack_bits(self.value, self.bit_count)

    @property
    def bit_string(self) -> str:
        return format(self.value, f"0{self.bit_count}b")

    def as_dict(self) -> dict:
        return {"format": self.format, "facility": self.facility, "number": self.number,
                "bits": self.bit_count, "bit_string": self.bit_string, "hex": self.packed.hex()}


def _ones(value: int) -> int:
    return bin(value).count("1")


def encode(fmt: str, facility: int | None, number: int, bits: int | None = None) -> CardBits:
    """Encode a card; raises ValueError naming the field that does not fit the format."""
    if fmt == "raw":
        return _encode_raw(number, bits)
    layout = LAYOUTS.get(fmt)
    if layout is None:
        raise ValueError(f"card format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    facility = 0 if facility is None else facility
    if not 0 <= facility < 1 << layout.facility_bits:
        raise ValueError(f"{fmt} facility codes go from 0 to {(1 << layout.facility_bits) - 1}, "
                         f"not {facility}")
    if not 0 <= number < 1 << layout.number_bits:
        raise ValueError(f"{fmt} card numbers go from 0 to {(1 << layout.number_bits) - 1}, "
                         f"not {number}")
    data = facility << layout.number_bits | number
    lead = data >> (layout.data_bits - layout.even_span)
    trail = data & ((1 << layout.odd_span) - 1)
    even = _ones(lead) & 1  # set when the span has an odd count, so span + parity is even
    odd = 1 - (_ones(trail) & 1)
    value = even << (layout.data_bits + 1) | data << 1 | odd
    return CardBits(fmt, facility, number, value, layout.bit_count)


def _encode_raw(number: int, bits: int | None) -> CardBits:
    if number < 0:
        raise ValueError(f"raw card numbers cannot be negative, not {number}")
    need = max(1, number.bit_length())
    if bits is None:
        bits = max(8, need)
    if not need <= bits <= RAW_MAX_BITS:
        raise ValueError(f"raw card {number} needs {need} to {RAW_MAX_BITS} bits, not {bits}")
    return CardBits("raw", None, number, number, bits)


def pack_bits(value: int, bit_count: int) -> bytes:
    """Left-align `bit_count` bits into whole bytes, first bit in the top of byte 0."""
    size = (bit_count + 7) // 8
    return (value << (size * 8 - bit_count)).to_bytes(size, "big")
