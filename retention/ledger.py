"""Ledger entry encoding and a self-contained, offline-verifiable export.

An export is one JSON document holding the entries, every signed checkpoint
and the proofs that tie them together, so that a third party with only this
file (and ideally the pinned public key) can check that nothing was altered,
dropped or reordered.

The export has exactly one byte form for its content: ``verify_export``
re-encodes what it parsed and insists on getting the input back, and every
parsed field is either fixed, recomputed or covered by a signature. Together
that makes any modified byte show up as a problem.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .checkpoint import CheckpointError, NoteVerifier, parse_unverified, split_note
from .merkle import MerkleTree, ProofError, leaf_hash, verify_consistency, verify_inclusion

__all__ = [
    "EXPORT_FORMAT",
    "LedgerEntry",
    "ProblemList",
    "VerifyReport",
    "build_export",
    "entry_leaf_bytes",
    "verify_export",
]

EXPORT_FORMAT = "siteguard-ledger-export/1"

_TOP_KEYS = frozenset({"format", "origin", "key_name", "public_key", "entries", "checkpoints", "consistency"})
_ENTRY_KEYS = frozenset({"index", "ts", "kind", "data", "leaf_hash", "proof"})
_CONSISTENCY_KEYS = frozenset({"from", "to", "proof"})

_TS_RE = re.compile(r"([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2})(\.[0-9]{1,9})?Z\Z", re.ASCII)
_HEX32_RE = re.compile(r"[0-9a-f]{64}\Z", re.ASCII)

# Keeps a report readable when a large export is badly damaged.
_MAX_LISTED_PROBLEMS = 200


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _valid_ts(ts: object) -> bool:
    if not isinstance(ts, str):
        return False
    m = _TS_RE.match(ts)
    if not m:
        return False
    try:
        datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S")
    except ValueError:
        return False
    return True


def entry_leaf_bytes(index: int, ts: str, kind: str, data: dict) -> bytes:
    """Canonical bytes of one ledger entry; the Merkle leaf is their leaf hash."""
    if not _is_int(index) or index < 0:
        raise ValueError("index must be a non-negative int")
    if not _valid_ts(ts):
        raise ValueError(f"ts {ts!r} is not an ISO-8601 UTC timestamp like 2026-11-25T14:46:23.123456Z")
    if not isinstance(kind, str):
        raise ValueError("kind must be a string")
    if not isinstance(data, dict):
        raise ValueError("data must be a dict")
    try:
        text = json.dumps(
            {"index": index, "ts": ts, "kind": kind, "data": data},
            sort_keys=True,
            separators=(",", ":"),
            ensure_ascii=False,
            allow_nan=False,
        )
        return text.encode("utf-8")
    except (TypeError, ValueError, UnicodeEncodeError) as exc:
        raise ValueError(f"entry is not representable as canonical JSON: {exc}") from None


@dataclass
class LedgerEntry:
    index: int
    ts: str
    kind: str
    data: dict

    def leaf_bytes(self) -> bytes:
        return entry_leaf_bytes(self.index, self.ts, self.kind, self.data)

    def leaf_hash(self) -> bytes:
        return leaf_hash(self.leaf_bytes())


@dataclass
class VerifyReport:
    ok: bool
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    entries: int = 0
    checkpoints: int = 0
    size: int = 0
    root_hex: str = ""


def _encode(doc: dict) -> bytes:
    return (
        json.dumps(doc, indent=1, sort_keys=True, ensure_ascii=False, allow_nan=False) + "\n"
    ).encode("utf-8")


def build_export(
    entries: list[LedgerEntry],
    checkpoints: list[str],
    origin: str,
    key_name: str,
    public_key_raw: bytes,
) -> bytes:
    """Assemble an export; raise ValueError if the inputs do not fit together.

    ``checkpoints`` are signed notes in ascending size order; each must be
    signed by ``key_name``/``public_key_raw`` only, name ``origin`` and match
    the entries. Entry proofs are against the last checkpoint.
    """
    if not checkpoints:
        raise ValueError("an export needs at least one checkpoint; nothing would be signed otherwise")
    verifier = NoteVerifier(key_name, public_key_raw)
    for i, e in enumerate(entries):
        if e.index != i:
            raise ValueError(f"entry at position {i} has index {e.index}; entries must be numbered 0..n-1")
    hashes = [e.leaf_hash() for e in entries]
    tree = MerkleTree(hashes)
    sizes: list[int] = []
    for j, note in enumerate(checkpoints):
        try:
            cp = verifier.verify(note)
            _, sigs = split_note(note)
        except CheckpointError as exc:
            raise ValueError(f"checkpoint {j}: {exc}") from None
        if len(sigs) != 1:
            raise ValueError(f"checkpoint {j}: must carry exactly one signature, by the export key")
        if cp.origin != origin:
            raise ValueError(f"checkpoint {j}: origin {cp.origin!r} is not {origin!r}")
        if sizes and cp.size <= sizes[-1]:
            raise ValueError(f"checkpoint {j}: sizes must be strictly increasing")
        if cp.size > len(entries):
            raise ValueError(f"checkpoint {j} (size {cp.size}): more than the {len(entries)} entries given")
        if tree.root(cp.size) != cp.root:
            raise ValueError(f"checkpoint {j} (size {cp.size}): root does not match the entries")
        sizes.append(cp.size)
    last = sizes[-1]
    doc = {
        "format": EXPORT_FORMAT,
        "origin": origin,
        "key_name": key_name,
        "public_key": bytes(public_key_raw).hex(),
        "entries": [
            {
                "index": e.index,
                "ts": e.ts,
                "kind": e.kind,
                "data": e.data,
                "leaf_hash": h.hex(),
                "proof": [p.hex() for p in tree.inclusion_proof(e.index, last)] if e.index < last else [],
            }
            for e, h in zip(entries, hashes)
        ],
        "checkpoints": list(checkpoints),
        "consistency": [
            {"from": a, "to": b, "proof": [p.hex() for p in tree.consistency_proof(a, b)]}
            for a, b in zip(sizes, sizes[1:])
        ],
    }
    return _encode(doc)


class _Invalid(Exception):
    """Raised inside JSON parsing for constructs the export never contains."""


def _strict_object(pairs: list[tuple[str, Any]]) -> dict:
    out: dict = {}
    for key, value in pairs:
        if key in out:
            raise _Invalid(f"duplicate key {key!r}")
        out[key] = value
    return out


def _reject_constant(name: str) -> Any:
    raise _Invalid(f"non-standard number {name}")


class ProblemList:
    """A verifier's findings: every one counted, the first ``_MAX_LISTED_PROBLEMS`` kept to show."""

    def __init__(self) -> None:
        self.items: list[str] = []
        self.count = 0

    def add(self, message: str) -> None:
        self.count += 1
        if len(self.items) < _MAX_LISTED_PROBLEMS:
            self.items.append(message)

    def listing(self) -> list[str]:
        hidden = self.count - len(self.items)
        return self.items + ([f"... and {hidden} more problems not listed"] if hidden else [])


def _hex32(value: object) -> bytes | None:
    # Lowercase, exact length, and round-trips: one spelling per hash.
    if not isinstance(value, str) or not _HEX32_RE.match(value):
        return None
    raw = bytes.fromhex(value)
    return raw if raw.hex() == value else None


def _hex_list(value: object) -> list[bytes] | None:
    if not isinstance(value, list):
        return None
    out = []
    for item in value:
        raw = _hex32(item)
        if raw is None:
            return None
        out.append(raw)
    return out


def _check_keys(problems: ProblemList, where: str, obj: dict, expected: frozenset) -> bool:
    missing = sorted(expected - obj.keys())
    unknown = sorted(obj.keys() - expected)
    if missing:
        problems.add(f"{where}: missing field(s) {', '.join(missing)}")
    if unknown:
        problems.add(f"{where}: unknown field(s) {', '.join(repr(k) for k in unknown)}")
    return not missing and not unknown


def _range_text(first: int, last: int) -> str:
    return f"entry {first}" if first == last else f"entries {first}..{last}"


def verify_export(raw: bytes, trusted_public_key: bytes | None = None) -> VerifyReport:
    """Check an export completely and report every problem found; never raises for bad input."""
    report = VerifyReport(ok=False)
    problems = ProblemList()
    try:
        _verify(raw, trusted_public_key, report, problems)
    except Exception as exc:  # a verifier must report, not crash, on hostile input
        problems.add(f"export: could not be verified: {type(exc).__name__}: {exc}")
    report.problems = problems.listing()
    report.ok = problems.count == 0
    return report


def _verify(raw: bytes, trusted: bytes | None, report: VerifyReport, problems: ProblemList) -> None:
    if not isinstance(raw, (bytes, bytearray, memoryview)):
        problems.add("export: input is not bytes")
        return
    raw = bytes(raw)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        problems.add(f"export: not valid UTF-8 at byte {exc.start}")
        return
    try:
        doc = json.loads(text, object_pairs_hook=_strict_object, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        problems.add(f"export: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}")
        return
    except _Invalid as exc:
        problems.add(f"export: invalid JSON: {exc}")
        return
    except (ValueError, RecursionError) as exc:
        problems.add(f"export: invalid JSON: {exc}")
        return

    if not isinstance(doc, dict):
        problems.add("export: top level is not a JSON object")
        return
    try:
        canonical = _encode(doc)
    except (TypeError, ValueError) as exc:
        canonical = None
        problems.add(f"export: cannot be re-encoded: {exc}")
    if canonical is not None and canonical != raw:
        at = next((i for i, (a, b) in enumerate(zip(canonical, raw)) if a != b), min(len(canonical), len(raw)))
        problems.add(f"export: not in canonical form (first difference at byte {at})")

    if not _check_keys(problems, "export", doc, _TOP_KEYS):
        return
    if doc["format"] != EXPORT_FORMAT:
        problems.add(f"export: unsupported format {doc['format']!r}")
        return
    origin = doc["origin"]
    if not isinstance(origin, str) or origin == "":
        problems.add("export: origin is not a non-empty string")
    key_name = doc["key_name"]
    public_key = _hex32(doc["public_key"])
    if public_key is None:
        problems.add("export: public_key is not 64 lowercase hex digits")
    entries = doc["entries"]
    notes = doc["checkpoints"]
    consistency = doc["consistency"]
    if not isinstance(entries, list):
        problems.add("export: entries is not a list")
        return
    if not isinstance(notes, list):
        problems.add("export: checkpoints is not a list")
        return
    if not isinstance(consistency, list):
        problems.add("export: consistency is not a list")
        return
    report.entries = len(entries)
    report.checkpoints = len(notes)

    verifier: NoteVerifier | None = None
    if public_key is not None:
        try:
            verifier = NoteVerifier(key_name, public_key)
        except (TypeError, ValueError) as exc:
            problems.add(f"export: key_name/public_key cannot form a note verifier: {exc}")
    if trusted is None:
        report.warnings.append(
            "export: public key is not pinned (no trusted key given); "
            "signatures only show the export is self-consistent"
        )
    elif not isinstance(trusted, (bytes, bytearray)) or public_key is None or bytes(trusted) != public_key:
        problems.add("export: public key does not match the trusted key")

    # Entries: shape, numbering and leaf hashes recomputed from content.
    hashes: list[bytes] = []
    proofs: list[list[bytes] | None] = []
    for pos, e in enumerate(entries):
        where = f"entry {pos}"
        if not isinstance(e, dict):
            problems.add(f"{where}: not a JSON object")
            return
        if not _check_keys(problems, where, e, _ENTRY_KEYS):
            return
        if not _is_int(e["index"]):
            problems.add(f"{where}: index is not an integer")
            return
        if e["index"] != pos:
            problems.add(
                f"{where}: index is {e['index']} but entries must be numbered 0..n-1 in order "
                "(an entry was removed, inserted or reordered)"
            )
        try:
            recomputed = leaf_hash(entry_leaf_bytes(e["index"], e["ts"], e["kind"], e["data"]))
        except ValueError as exc:
            problems.add(f"{where}: invalid content: {exc}")
            return
        claimed = _hex32(e["leaf_hash"])
        if claimed is None:
            problems.add(f"{where}: leaf_hash is not 64 lowercase hex digits")
        elif claimed != recomputed:
            problems.add(f"{where}: leaf hash does not match its content")
        proof = _hex_list(e["proof"])
        if proof is None:
            problems.add(f"{where}: proof is not a list of 64-digit lowercase hex hashes")
        hashes.append(recomputed)
        proofs.append(proof)
    tree = MerkleTree(hashes)

    # Checkpoints: signature, origin, ordering and root against the entries.
    if not notes:
        problems.add("export: contains no checkpoint, so nothing in it is signed")
    parsed: list[Any] = []
    prev_size: int | None = None
    for j, note in enumerate(notes):
        try:
            cp = parse_unverified(note)
        except CheckpointError as exc:
            problems.add(f"checkpoint {j}: {exc}")
            parsed.append(None)
            continue
        where = f"checkpoint {j} (size {cp.size})"
        parsed.append(cp)
        if verifier is None:
            problems.add(f"{where}: cannot be verified without a valid key")
        else:
            try:
                verifier.verify(note)
            except CheckpointError as exc:
                problems.add(f"{where}: {exc}")
            else:
                # Unverified co-signatures would be bytes nobody checks.
                if len(split_note(note)[1]) != 1:
                    problems.add(f"{where}: carries signatures by other keys, which this format does not allow")
        if isinstance(origin, str) and cp.origin != origin:
            problems.add(f"{where}: origin {cp.origin!r} does not match the export origin {origin!r}")
        if prev_size is not None and cp.size <= prev_size:
            problems.add(f"{where}: size is not larger than the previous checkpoint's ({prev_size})")
        prev_size = cp.size
        if cp.size > len(hashes):
            problems.add(f"{where}: covers more entries than the {len(hashes)} in the export")
        elif tree.root(cp.size) != cp.root:
            problems.add(f"{where}: root does not match the root recomputed from entries 0..{cp.size - 1}")

    # Inclusion proofs, all against the last checkpoint.
    last_index = len(notes) - 1
    last = parsed[-1] if parsed else None
    covered = 0
    if last is not None:
        # Reported as read from the file; only meaningful when the report is ok.
        report.size = last.size
        report.root_hex = last.root.hex()
        covered = min(last.size, len(hashes))
        target = f"checkpoint {last_index} (size {last.size}) root"
        for i in range(covered):
            if proofs[i] is None:
                continue
            try:
                verify_inclusion(hashes[i], i, last.size, proofs[i], last.root)
            except ProofError as exc:
                if "expected root" in str(exc):
                    problems.add(f"entry {i}: inclusion proof does not lead to {target}")
                else:
                    problems.add(f"entry {i}: inclusion proof does not lead to {target} ({exc})")
    elif parsed:
        problems.add("export: the last checkpoint is unreadable, so no inclusion proof can be checked")
    for i in range(covered, len(hashes)):
        if proofs[i]:
            problems.add(f"entry {i}: carries a proof although no checkpoint covers it")
    if covered < len(hashes) and last is not None:
        report.warnings.append(
            f"{_range_text(covered, len(hashes) - 1)}: not yet covered by a checkpoint"
        )

    # Consistency proofs between each consecutive pair of checkpoints.
    want = max(0, len(notes) - 1)
    if len(consistency) != want:
        problems.add(
            f"consistency: expected {want} proof(s), one per consecutive pair of checkpoints, "
            f"found {len(consistency)}"
        )
    for c, item in enumerate(consistency[:want]):
        where = f"consistency {c}->{c + 1}"
        if not isinstance(item, dict):
            problems.add(f"{where}: not a JSON object")
            continue
        if not _check_keys(problems, where, item, _CONSISTENCY_KEYS):
            continue
        a, b = item["from"], item["to"]
        proof = _hex_list(item["proof"])
        if not _is_int(a) or not _is_int(b):
            problems.add(f"{where}: from/to are not integers")
            continue
        if proof is None:
            problems.add(f"{where}: proof is not a list of 64-digit lowercase hex hashes")
            continue
        old, new = parsed[c], parsed[c + 1]
        if old is None or new is None:
            problems.add(f"{where}: cannot be checked because a checkpoint is unreadable")
            continue
        if (a, b) != (old.size, new.size):
            problems.add(f"{where}: sizes {a}->{b} do not match the checkpoints ({old.size}->{new.size})")
            continue
        try:
            verify_consistency(a, b, old.root, new.root, proof)
        except ProofError as exc:
            problems.add(f"{where}: proof does not verify ({exc})")
