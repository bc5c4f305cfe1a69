"""Text as it is stored for annotation: one Unicode form, ASCII-range characters in their
half-width form, and, where the project asks, personal data masked.

Normalisation, in this order:

1. NFC.
2. Full-width forms of ASCII letters and digits (U+FF21–FF3A, U+FF41–FF5A, U+FF10–FF19) become
   ASCII; the ideographic space U+3000 becomes a space; full-width ASCII punctuation becomes
   ASCII **except** the marks Chinese text writes full-width as its own punctuation
   (``KEPT_FULL_WIDTH``: ，！？；：（）), which stay. The CJK punctuation block (。、「」《》…,
   U+3000–U+303F other than the space) is never touched.

Masking (``mask=True``) replaces each of these with a fixed token:

=================  ===========  ==========================================================
kind               token        what is found
=================  ===========  ==========================================================
``id_number``      ``[ID]``     a mainland resident ID number: 18 characters, a known
                                province code, a real birth date (1900–2099) and the right
                                ISO 7064 MOD 11-2 check character (X or x for 10). A wrong
                                check character is not an ID number and is left alone.
``phone``          ``[PHONE]``  a mainland mobile number ``1[3-9]`` + 9 digits, optionally
                                after ``+86``/``86`` (and a space or hyphen), not part of a
                                longer run of digits.
``email``          ``[EMAIL]``  an e-mail address (local part, @, a dotted domain whose last
                                label has two or more letters).
=================  ===========  ==========================================================

The masks are reported as ``{"kind", "start", "end"}`` in the returned text's offsets (Python
string indexes, code points): ``text[start:end]`` is the token.
"""
from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass

TOKENS = {"id_number": "[ID]", "phone": "[PHONE]", "email": "[EMAIL]"}
KEPT_FULL_WIDTH = frozenset("，！？；：（）")
IDEOGRAPHIC_SPACE = "\u3000"

# Province-level codes of mainland resident ID numbers (GB/T 2260 first two digits), with the
# codes used for Hong Kong, Macao and Taiwan residents' mainland IDs.
PROVINCES = frozenset({11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45,
                       46, 50, 51, 52, 53, 54, 61, 62, 63, 64, 65, 71, 81, 82, 83})
ID_WEIGHTS = tuple(pow(2, 17 - i, 11) for i in range(17))
ID_CHECK = "10X98765432"

_HALF = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F) if chr(cp) not in KEPT_FULL_WIDTH}
_HALF[ord(IDEOGRAPHIC_SPACE)] = ord(" ")

_ID_RE = re.compile(r"(?<![0-9A-Za-z])\d{17}[0-9Xx](?![0-9A-Za-z])")
_PHONE_RE = re.compile(r"(?<![\d+])(?:\+?86[ -]?)?1[3-9]\d{9}(?!\d)")
_EMAIL_RE = re.compile(r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"
                       r"(?![A-Za-z0-9-])")


@dataclass(frozen=True)
class Normalised:
    text: str
    masks: tuple[dict, ...] = ()


def to_half_width(text: str) -> str:
    return text.translate(_HALF)


def normalise(text: str) -> str:
    return to_half_width(unicodedata.normalize("NFC", text))


def id_check_char(first17: str) -> str:
    """The ISO 7064 MOD 11-2 check character of an ID number's first 17 digits."""
    return ID_CHECK[sum(int(d) * w for d, w in zip(first17, ID_WEIGHTS)) % 11]


def is_id_number(s: str) -> bool:
    if len(s) != 18 or not s[:17].isascii() or not s[:17].isdigit():
        return False
    if int(s[:2]) not in PROVINCES:
        return False
    try:
        born = dt.date(int(s[6:10]), int(s[10:12]), int(s[12:14]))
    except ValueError:
        return False
    if not 1900 <= born.year <= 2099:
        return False
    return s[17].upper() == id_check_char(s[:17])


def find_personal_data(text: str) -> list[tuple[int, int, str]]:
    """(start, end, kind) of each piece of personal data, in ``text``'s offsets, not
    overlapping; where two finds overlap the earlier wins, then the longer."""
    found: list[tuple[int, int, str]] = []
    found += [(m.start(), m.end(), "id_number") for m in _ID_RE.finditer(text) if is_id_number(m.group())]
    found += [(m.start(), m.end(), "phone") for m in _PHONE_RE.finditer(text)]
    found += [(m.start(), m.end(), "email") for m in _EMAIL_RE.finditer(text)]
    found.sort(key=lambda f: (f[0], -(f[1] - f[0])))
    kept: list[tuple[int, int, str]] = []
    for f in found:
        if not kept or f[0] >= kept[-1][1]:
            kept.append(f)
    return kept


def mask_personal_data(text: str) -> Normalised:
    out: list[str] = []
    masks: list[dict] = []
    pos = length = 0
    for start, end, kind in find_personal_data(text):
        out.append(text[pos:start])
        length += start - pos
        token = TOKENS[kind]
        masks.append({"kind": kind, "start": length, "end": length + len(token)})
        out.append(token)
        length += len(token)
        pos = end
    out.append(text[pos:])
    return Normalised("".join(out), tuple(masks))


def prepare_text(text: str, mask: bool = False) -> Normalised:
    """The text as stored: normalised, and masked when ``mask``."""
    text = normalise(text)
    return mask_personal_data(text) if mask else Normalised(text)
