"""What an imported file is, whether it may come in, and why not: decisions over names, leading
bytes and declared sizes. The controller reads the files; nothing here touches one.

Kinds are told by their leading bytes first (RIFF/WAVE, ID3 or an MPEG frame sync, fLaC, the
JPEG SOI marker, the PNG signature, a zip's local header); text has no signature, so it is told
by its name: ``.jsonl``, ``.csv``, ``.txt``. A name that promises a medium whose bytes do not
match is refused as that medium's corruption (a ``.wav`` that is no WAV is ``corrupt_audio``);
any other name is ``unknown_type``.

A zip is unpacked one level only, and judged from its directory before a byte is inflated:
too many entries or too many declared bytes in all refuse the whole zip (``zip_bomb``); an
entry whose declared size is over the per-file limit or, past ``zip_ratio_from_bytes``,
inflates more than ``zip_max_ratio`` times, is refused alone (``zip_bomb``), as is a zip inside
(``zip_nested``) and a name that is absolute or climbs out (``unsafe_path``). Directories and
macOS resource forks (``__MACOSX/``) are skipped without a word. The reader still stops any
entry at its declared size, since a directory can lie.
"""
from __future__ import annotations

import csv
import json
import posixpath
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from enum import Enum


class Kind(str, Enum):
    jsonl = "jsonl"
    csv = "csv"
    txt = "txt"
    wav = "wav"
    mp3 = "mp3"
    flac = "flac"
    jpeg = "jpeg"
    png = "png"
    zip = "zip"


class Refusal(str, Enum):
    """Why a file did not come in; the value is the stable code the API and pages show."""

    unknown_type = "unknown_type"
    wrong_modality = "wrong_modality"  # a medium the project does not label
    too_large = "too_large"
    empty = "empty"
    bad_encoding = "bad_encoding"  # text that is not UTF-8 (with or without BOM)
    line_too_long = "line_too_long"
    bad_json = "bad_json"  # a JSONL line that is not an object with a non-empty string "text"
    bad_csv = "bad_csv"  # no "text" column, a malformed row, or an empty text
    corrupt_audio = "corrupt_audio"
    corrupt_image = "corrupt_image"
    truncated_image = "truncated_image"
    zip_bomb = "zip_bomb"
    zip_nested = "zip_nested"
    bad_zip = "bad_zip"  # not readable as a zip at all
    unsafe_path = "unsafe_path"  # absolute, climbing out with .., or a symbolic link
    duplicate = "duplicate"  # every item of the file is already in the project


TEXT_KINDS = frozenset({Kind.jsonl, Kind.csv, Kind.txt})
AUDIO_KINDS = frozenset({Kind.wav, Kind.mp3, Kind.flac})
IMAGE_KINDS = frozenset({Kind.jpeg, Kind.png})
MODALITY_KINDS = {"text": TEXT_KINDS, "audio": AUDIO_KINDS, "image": IMAGE_KINDS}
MODALITIES = tuple(MODALITY_KINDS)
HEAD_BYTES = 16  # what ``kind_of`` needs of a file's start

_BY_NAME = {".jsonl": Kind.jsonl, ".csv": Kind.csv, ".txt": Kind.txt, ".wav": Kind.wav, ".mp3": Kind.mp3,
            ".flac": Kind.flac, ".jpg": Kind.jpeg, ".jpeg": Kind.jpeg, ".png": Kind.png, ".zip": Kind.zip}
_CORRUPT = {**{k: Refusal.corrupt_audio for k in AUDIO_KINDS}, **{k: Refusal.corrupt_image for k in IMAGE_KINDS},
            Kind.zip: Refusal.bad_zip}

MiB = 1 << 20


@dataclass(frozen=True)
class Limits:
    """Sizes in bytes. ``max_line_bytes`` bounds one line of a text file (what is read into
    memory at once); the per-kind limits bound one file."""

    max_text_bytes: int = 256 * MiB
    max_line_bytes: int = 1 * MiB
    max_audio_bytes: int = 512 * MiB
    max_image_bytes: int = 64 * MiB
    max_zip_bytes: int = 4096 * MiB
    zip_max_entries: int = 10_000
    zip_max_total_bytes: int = 8192 * MiB
    zip_max_ratio: float = 100.0
    zip_ratio_from_bytes: int = 1 * MiB  # smaller entries may compress as well as they like

    def max_bytes(self, kind: Kind) -> int:
        if kind in TEXT_KINDS:
            return self.max_text_bytes
        if kind in AUDIO_KINDS:
            return self.max_audio_bytes
        if kind in IMAGE_KINDS:
            return self.max_image_bytes
        return self.max_zip_bytes

    @property
    def max_entry_bytes(self) -> int:
        return max(self.max_text_bytes, self.max_audio_bytes, self.max_image_bytes)


def kind_by_magic(head: bytes) -> Kind | None:
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        return Kind.zip
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return Kind.wav
    if head.startswith(b"fLaC"):
        return Kind.flac
    if head.startswith(b"ID3") or (len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0
                                   and head[1] & 0x06 != 0):  # an MPEG audio frame, layer I-III
        return Kind.mp3
    if head.startswith(b"\xff\xd8\xff"):
        return Kind.jpeg
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return Kind.png
    return None


def kind_by_name(name: str) -> Kind | None:
    return _BY_NAME.get(posixpath.splitext(name.lower())[1])


def kind_of(name: str, head: bytes) -> Kind | Refusal:
    """The file's kind from its leading bytes, else (text) its name; or why it has none."""
    by_magic = kind_by_magic(head)
    if by_magic is not None:
        return by_magic
    by_name = kind_by_name(name)
    if by_name is None:
        return Refusal.unknown_type
    if by_name in TEXT_KINDS:
        return by_name
    return _CORRUPT[by_name]


def admit(name: str, head: bytes, size: int, modality: str, limits: Limits) -> Kind | Refusal:
    """Whether one file (not a zip's entry list) may come into a project of ``modality``, and as
    what. A zip is admitted as such; its entries are judged one by one."""
    if size == 0:
        return Refusal.empty
    kind = kind_of(name, head)
    if isinstance(kind, Refusal):
        return kind
    if kind is not Kind.zip and kind not in MODALITY_KINDS[modality]:
        return Refusal.wrong_modality
    if size > limits.max_bytes(kind):
        return Refusal.too_large
    return kind


def admit_entry(name: str, head: bytes, size: int, modality: str, limits: Limits) -> Kind | Refusal:
    """Like ``admit``, for a file unpacked from a zip: a zip there is nested."""
    kind = admit(name, head, size, modality, limits)
    return Refusal.zip_nested if kind is Kind.zip else kind


@dataclass(frozen=True)
class ZipEntry:
    name: str
    compressed: int
    size: int  # declared uncompressed size
    is_dir: bool = False


@dataclass(frozen=True)
class ZipPlan:
    """``whole``: the zip is refused entire (nothing is unpacked); else ``take`` lists the
    entries to unpack and ``refused`` the others with their reasons, both in zip order."""

    whole: Refusal | None
    take: tuple[ZipEntry, ...] = ()
    refused: tuple[tuple[str, Refusal], ...] = ()


def unsafe_name(name: str) -> bool:
    n = name.replace("\\", "/")
    if n.startswith("/") or (len(n) > 1 and n[1] == ":"):
        return True
    return any(part == ".." for part in n.split("/"))


def _skipped(e: ZipEntry) -> bool:
    return e.is_dir or e.name.endswith("/") or e.name.startswith("__MACOSX/")


def plan_zip(entries: list[ZipEntry], limits: Limits) -> ZipPlan:
    files = [e for e in entries if not _skipped(e)]
    if len(entries) > limits.zip_max_entries:
        return ZipPlan(Refusal.zip_bomb)
    if sum(max(e.size, 0) for e in files) > limits.zip_max_total_bytes:
        return ZipPlan(Refusal.zip_bomb)
    take: list[ZipEntry] = []
    refused: list[tuple[str, Refusal]] = []
    for e in files:
        reason = entry_refusal(e, limits)
        if reason is None:
            take.append(e)
        else:
            refused.append((e.name, reason))
    return ZipPlan(None, tuple(take), tuple(refused))


def entry_refusal(e: ZipEntry, limits: Limits) -> Refusal | None:
    if unsafe_name(e.name):
        return Refusal.unsafe_path
    if kind_by_name(e.name) is Kind.zip:
        return Refusal.zip_nested
    if e.size > limits.max_entry_bytes:
        return Refusal.too_large
    if e.size > limits.zip_ratio_from_bytes and e.size > limits.zip_max_ratio * max(e.compressed, 1):
        return Refusal.zip_bomb
    if e.size == 0:
        return Refusal.empty
    return None


class Refused(Exception):
    """A file refused part way through reading it; ``line`` is where (1-based), when known."""

    def __init__(self, reason: Refusal, line: int | None = None) -> None:
        super().__init__(reason.value)
        self.reason = reason
        self.line = line


@dataclass(frozen=True)
class TextRecord:
    """One item's text from a text file, with where it came from: ``line`` (JSONL: the line;
    CSV: the line its row ends on) and the record's own ``id`` when it gave one."""

    text: str
    line: int
    source_id: str | None = None
    extra: dict = field(default_factory=dict)


def _source_id(value: object) -> str | None:
    if value is None or isinstance(value, bool) or not isinstance(value, (str, int)):
        return None
    return str(value)[:200]


def text_records(kind: Kind, lines: Iterable[str]) -> Iterator[TextRecord]:
    """The items of a text file, given its lines (decoded, line ends kept):

    - ``.jsonl``: one item per line, each a JSON object with a non-empty string ``text`` and
      optionally an ``id`` (string or integer) and a ``gold`` object (the item's known answer,
      in the project's result shape, e.g. ``{"label": "pos"}``: the item becomes gold; kept in
      ``extra["gold"]``); blank lines are skipped. Anything else: bad_json.
    - ``.csv``: a header row naming a ``text`` column (and optionally ``id``); one item per row,
      quoted fields may span lines. No ``text`` column, a row of the wrong width or an empty
      text: bad_csv.
    - ``.txt``: the whole file is one item (its text with surrounding blank space kept as is);
      a file of only blank space: empty.
    """
    if kind is Kind.jsonl:
        for n, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except ValueError:
                raise Refused(Refusal.bad_json, n) from None
            if not isinstance(obj, dict) or not isinstance(obj.get("text"), str) or not obj["text"].strip():
                raise Refused(Refusal.bad_json, n)
            gold = obj.get("gold")
            if gold is not None and (not isinstance(gold, dict) or not gold):
                raise Refused(Refusal.bad_json, n)
            yield TextRecord(obj["text"], n, _source_id(obj.get("id")), {"gold": gold} if gold else {})
    elif kind is Kind.csv:
        yield from _csv_records(lines)
    elif kind is Kind.txt:
        text = "".join(lines)
        if not text.strip():
            raise Refused(Refusal.empty)
        yield TextRecord(text, 1)
    else:
        raise ValueError(f"{kind} is not text")


def _csv_records(lines: Iterable[str]) -> Iterator[TextRecord]:
    reader = csv.reader(lines, strict=True)
    try:
        header = next(reader, None)
        if header is None:
            raise Refused(Refusal.empty)
        names = [h.strip().lower() for h in header]
        if "text" not in names:
            raise Refused(Refusal.bad_csv, 1)
        ti, ii = names.index("text"), (names.index("id") if "id" in names else None)
        for row in reader:
            if not row:
                continue
            if len(row) != len(names) or not row[ti].strip():
                raise Refused(Refusal.bad_csv, reader.line_num)
            yield TextRecord(row[ti], reader.line_num, _source_id(row[ii]) if ii is not None else None)
    except csv.Error:
        raise Refused(Refusal.bad_csv, reader.line_num) from None
