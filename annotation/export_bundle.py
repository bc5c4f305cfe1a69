"""An export as one zip, and its offline verifier.

Members, in this order (stored, not compressed, with fixed times and modes, so one content has
exactly one zip; the verifier rebuilds the zip from what it read and insists on the same bytes):

- ``README.txt``: what this is and how to check it (fixed text for the format, project and key)
- ``export.json``: the bundle format, export format, project, class labels, ledger origin and
  public key, checkpoint size and counts
- ``checkpoint.txt``: the ledger's signed checkpoint (C2SP tlog-checkpoint in a signed note)
- ``annotations.jsonl``: every exported annotation version's ledger entry, one a line in index
  order: ``{"index", "ts", "kind": "annotation.saved", "data": Version(...).leaf(id)}`` — all the
  versions of each exported (task, annotator) chain, so the chain can be checked from 1
- ``proofs/<index>.tlog-proof``: that entry's inclusion proof against the checkpoint
  (C2SP tlog-proof)
- ``items.jsonl``: the exported items (id, content hash, file name, size, duration)
- ``release.json`` (when the project has a granted release): that release's ledger entry
  (``release.decided``: its figures, the sampling plan) and its inclusion proof against the
  same checkpoint, ``{"entry": {index, ts, kind, data}, "proof": "<tlog-proof>"}``
- the format's files (annotation/export_formats.py), rendered from the newest version of each
  annotator on each task
- ``MANIFEST.sha256``: the SHA-256 of every member above, ``sha256sum`` style

What is evidence: every version, its hash chain and its place in the signed log. The label
files are checked by rendering them again from the verified versions. Item metadata (file names,
image sizes, durations) is not ledgered; the leaf holds the item's content hash, and the
manifest shows accidental damage to the rest.
"""
from __future__ import annotations

import hashlib
import io
import json
import struct
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from annotation.export_formats import (
    FORMATS,
    ExportAnnotation,
    ExportFormatError,
    ExportItem,
    render,
)
from annotation.versions import LEAF_KIND, version_from_leaf
from annotation.versions import chain_problems as version_chain_problems
from retention.checkpoint import CheckpointError, NoteVerifier, parse_unverified
from retention.ledger import ProblemList, entry_leaf_bytes
from retention.merkle import leaf_hash
from retention.tlog_proof import TlogProof, TlogProofError
from retention.tlog_proof import parse as parse_proof
from retention.tlog_proof import verify as verify_proof

BUNDLE_FORMAT = "siteguard-annotation-export/1"
README = "README.txt"
EXPORT_JSON = "export.json"
CHECKPOINT = "checkpoint.txt"
ANNOTATIONS = "annotations.jsonl"
ITEMS = "items.jsonl"
RELEASE = "release.json"
RELEASE_KIND = "release.decided"
MANIFEST = "MANIFEST.sha256"
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
_EXPORT_KEYS = frozenset({"bundle", "format", "project", "labels", "origin", "public_key", "checkpoint_size",
                          "counts"})
_ENTRY_KEYS = frozenset({"index", "ts", "kind", "data"})


def _canonical_line(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def _pretty(value: Any) -> bytes:
    return (json.dumps(value, sort_keys=True, ensure_ascii=False, allow_nan=False, indent=1) + "\n").encode()


def proof_path(index: int) -> str:
    return f"proofs/{index}.tlog-proof"


@dataclass(frozen=True)
class LeafRecord:
    """One ledger entry as the log integrated it."""

    index: int
    ts: str
    kind: str
    data: Mapping[str, Any]

    def line(self) -> str:
        return _canonical_line({"index": self.index, "ts": self.ts, "kind": self.kind, "data": dict(self.data)})

    def leaf_hash(self) -> bytes:
        return leaf_hash(entry_leaf_bytes(self.index, self.ts, self.kind, dict(self.data)))


def newest_versions(leaves: Sequence[LeafRecord]) -> list[ExportAnnotation]:
    """The newest version of each (task, annotator) chain among ``leaves``: what the label files
    show. A chain's older versions are in the bundle as evidence only."""
    newest: dict[tuple[int, str], Mapping[str, Any]] = {}
    for leaf in leaves:
        d = leaf.data
        key = (d["task"], d["annotator"])
        if key not in newest or d["version"] > newest[key]["version"]:
            newest[key] = d
    return [ExportAnnotation(annotation=d["annotation"], item_sha256=d["item_sha256"], annotator=d["annotator"],
                             version=d["version"], hash=d["hash"], result=d["result"])
            for d in sorted(newest.values(), key=lambda d: d["annotation"])]


def readme(fmt: str, project: int, origin: str, public_key_hex: str) -> bytes:
    return f"""SiteGuard annotation export
===========================

Project {project}, format {fmt}. Signed by the ledger {origin},
public key (Ed25519, hex): {public_key_hex}

Check it offline, with the public key you got from the site itself (not from this file):

    siteguard verify-export THIS.zip --key {public_key_hex}

What the check does:
- every line of annotations.jsonl is a saved annotation version as the ledger holds it; its hash
  is computed again, and its leaf is proven to be in the log by proofs/<index>.tlog-proof
  (https://c2sp.org/tlog-proof) against checkpoint.txt, whose signature is checked with the key;
- each annotator's versions of a task must be numbered from 1 without a gap, each chained to the
  hash of the one before;
- the label files are rendered again from the newest verified version of each annotator on each
  task and must match byte for byte, so every exported label comes from a verified version;
- release.json, when the project was released, is the granted release's ledger entry (its
  accuracy figures and sampling plan), proven in the log like the versions;
- MANIFEST.sha256 holds the SHA-256 of every other file.
The check names the file, line and annotation of anything that fails.
""".encode()


def write_zip(out: BinaryIO, members: Sequence[tuple[str, bytes]]) -> None:
    """The one zip of ``members``: stored, fixed time and mode, in the order given."""
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED) as z:
        for name, data in members:
            info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
            info.compress_type = zipfile.ZIP_STORED
            info.create_system = 3
            info.external_attr = 0o644 << 16
            z.writestr(info, data)


def manifest_text(members: Sequence[tuple[str, bytes]]) -> bytes:
    return "".join(f"{hashlib.sha256(data).hexdigest()}  {name}\n" for name, data in members).encode()


@dataclass(frozen=True)
class BundleSummary:
    versions: int
    exported: int  # newest versions shown in the label files
    items: int
    checkpoint_size: int


def bundle_members(*, fmt: str, project: int, labels: Sequence[str], items: Sequence[ExportItem],
                   leaves: Sequence[LeafRecord], proofs: Mapping[int, Sequence[bytes]], checkpoint: str,
                   origin: str, public_key: bytes,
                   release: LeafRecord | None = None) -> tuple[list[tuple[str, bytes]], BundleSummary]:
    """The bundle's members in order. ``proofs`` maps each leaf's index (and the release's, when
    there is one) to its inclusion proof against ``checkpoint``. Raises ExportFormatError for a
    result the format cannot carry."""
    leaves = sorted(leaves, key=lambda e: e.index)
    newest = newest_versions(leaves)
    used = {a.item_sha256 for a in newest}
    items = sorted((i for i in items if i.sha256 in used), key=lambda i: i.id)
    size = parse_unverified(checkpoint).size
    files = render(fmt, items, newest, labels)
    summary = BundleSummary(len(leaves), len(newest), len(items), size)
    key_hex = bytes(public_key).hex()
    export = {"bundle": BUNDLE_FORMAT, "format": fmt, "project": project, "labels": list(labels), "origin": origin,
              "public_key": key_hex, "checkpoint_size": size,
              "counts": {"versions": summary.versions, "exported": summary.exported, "items": summary.items}}
    members = [(README, readme(fmt, project, origin, key_hex)), (EXPORT_JSON, _pretty(export)),
               (CHECKPOINT, checkpoint.encode()),
               (ANNOTATIONS, "".join(e.line() + "\n" for e in leaves).encode()),
               (ITEMS, "".join(_canonical_line(i.as_json()) + "\n" for i in items).encode())]
    if release is not None:
        proof = TlogProof(release.index, tuple(proofs[release.index]), checkpoint).encode()
        members.append((RELEASE, _pretty({"entry": json.loads(release.line()), "proof": proof})))
    members += [(proof_path(e.index), TlogProof(e.index, tuple(proofs[e.index]), checkpoint).encode().encode())
                for e in leaves]
    members += sorted(files.items())
    members.append((MANIFEST, manifest_text(members)))
    return members, summary


def build_bundle(out: BinaryIO, **kwargs: Any) -> BundleSummary:
    """Write the bundle (see ``bundle_members``) as a zip to ``out``."""
    members, summary = bundle_members(**kwargs)
    write_zip(out, members)
    return summary


# --- the verifier ---------------------------------------------------------------------------

@dataclass
class ExportReport:
    ok: bool
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    format: str = ""
    project: int | None = None
    checkpoint_size: int = 0


def verify_export_bundle(source: bytes | str | Path | BinaryIO, trusted_key: bytes | None,
                         progress=lambda message: None) -> ExportReport:
    """Check an export bundle completely, offline, and report every problem by file, line and
    annotation; never raises for bad input. ``trusted_key`` is the ledger's Ed25519 public key
    (32 raw bytes) as the site publishes it; without it the bundle is only checked against its
    own key and the report warns. ``progress`` gets a line per stage."""
    report = ExportReport(ok=False)
    problems = ProblemList()
    try:
        if isinstance(source, (str, Path)):
            raw = Path(source).read_bytes()
        elif isinstance(source, (bytes, bytearray, memoryview)):
            raw = bytes(source)
        else:
            raw = source.read()
        _verify(raw, trusted_key, report, problems, progress)
    except Exception as exc:  # a verifier reports, never crashes, on hostile input
        problems.add(f"export: could not be verified: {type(exc).__name__}: {exc}")
    report.problems = problems.listing()
    report.ok = problems.count == 0
    return report


def _stored_bytes(raw: bytes, info: zipfile.ZipInfo) -> bytes | None:
    """A stored member's bytes as they lie in the file, without the CRC check."""
    at = info.header_offset
    header = raw[at:at + 30]
    if len(header) != 30 or header[:4] != b"PK\x03\x04":
        return None
    name_len, extra_len = struct.unpack("<HH", header[26:30])
    start = at + 30 + name_len + extra_len
    data = raw[start:start + info.compress_size]
    return data if len(data) == info.compress_size == info.file_size else None


def _read_zip(raw: bytes, problems: ProblemList) -> list[tuple[str, bytes]] | None:
    try:
        z = zipfile.ZipFile(io.BytesIO(raw))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError) as exc:
        problems.add(f"zip: unreadable: {exc}")
        return None
    members = []
    with z:
        names = [i.filename for i in z.infolist()]
        if len(set(names)) != len(names):
            problems.add("zip: a file name occurs twice")
            return None
        for info in z.infolist():
            if info.compress_type != zipfile.ZIP_STORED:
                problems.add(f"{info.filename}: compressed, which this format never is")
                return None
            try:
                members.append((info.filename, z.read(info)))
            except (zipfile.BadZipFile, ValueError, OSError, EOFError, NotImplementedError) as exc:
                data = _stored_bytes(raw, info)
                if data is None:
                    problems.add(f"{info.filename}: unreadable: {exc}")
                    return None
                # Damaged but in place: say so, and go on so the checks below name the record.
                problems.add(f"{info.filename}: damaged: {exc}")
                members.append((info.filename, data))
    rebuilt = io.BytesIO()
    write_zip(rebuilt, members)
    if rebuilt.getvalue() != raw:
        a, b = rebuilt.getvalue(), raw
        at = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
        problems.add(f"zip: not in the form SiteGuard writes (first difference at byte {at})")
    return members


def _text(name: str, data: bytes, problems: ProblemList) -> str | None:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        problems.add(f"{name}: not UTF-8 text (byte {exc.start})")
        return None


def _json_line(name: str, n: int, line: str, problems: ProblemList, what: str = "") -> Any:
    try:
        value = json.loads(line)
        canonical = _canonical_line(value)
    except (ValueError, RecursionError) as exc:
        problems.add(f"{name} line {n}{what}: not JSON: {exc}")
        return None
    if canonical != line:
        problems.add(f"{name} line {n}{what}: not in canonical JSON form")
        return None
    return value


def _lines(name: str, text: str, problems: ProblemList) -> list[str]:
    if text == "":
        return []
    if not text.endswith("\n"):
        problems.add(f"{name}: does not end with a newline")
    return text.rstrip("\n").split("\n") if text.endswith("\n") else text.split("\n")


def _coco_difference(want: bytes, got: bytes) -> str | None:
    """Which COCO annotation differs, by its annotation id, when both files are readable."""
    try:
        w, g = json.loads(want), json.loads(got)
        wa, ga = w["annotations"], g["annotations"]
    except (ValueError, KeyError, TypeError):
        return None
    for n, (a, b) in enumerate(zip(wa, ga)):
        if a != b:
            aid = b.get("annotation") if isinstance(b, dict) else None
            return f"coco.json annotations[{n}] (annotation {aid}): differs from the verified version's box"
    if len(wa) != len(ga):
        return f"coco.json: {len(ga)} boxes where the verified versions have {len(wa)}"
    return None


def _first_difference(name: str, want: bytes, got: bytes) -> str:
    if name == "coco.json" and (coco := _coco_difference(want, got)):
        return coco
    w, g = want.decode("utf-8", "replace").split("\n"), got.decode("utf-8", "replace").split("\n")
    for n, (a, b) in enumerate(zip(w, g), start=1):
        if a != b:
            break
    else:
        n = min(len(w), len(g)) + 1
    what = ""
    line = g[n - 1] if n - 1 < len(g) else ""
    try:
        shown = json.loads(line)
        if isinstance(shown, dict) and isinstance(shown.get("annotation"), int):
            what = f" (annotation {shown['annotation']})"
        elif isinstance(shown, dict) and isinstance(shown.get("item"), int):
            what = f" (item {shown['item']})"
    except ValueError:
        pass
    return (f"{name} line {n}{what}: differs from the labels rendered from the verified versions "
            "(a label that no verified version holds, or one missing)")


def _verify_release(raw: bytes, project: Any, note: str | None, verifier, origin: str, problems: ProblemList) -> None:
    """release.json: a granted release of this project, its entry proven in the signed log."""
    text = _text(RELEASE, raw, problems)
    try:
        obj = json.loads(text) if text is not None else None
        entry = obj["entry"]
        if set(obj) != {"entry", "proof"} or not isinstance(entry, dict) or set(entry) != _ENTRY_KEYS:
            raise KeyError("fields")
        rec = LeafRecord(entry["index"], entry["ts"], entry["kind"], entry["data"])
        lh = rec.leaf_hash()
    except (ValueError, KeyError, TypeError) as exc:
        problems.add(f"{RELEASE}: not a release entry with its proof: {exc}")
        return
    data = rec.data if isinstance(rec.data, Mapping) else {}
    if rec.kind != RELEASE_KIND or data.get("project") != project or data.get("granted") is not True:
        problems.add(f"{RELEASE}: not a granted release of project {project}")
    try:
        proof = parse_proof(obj["proof"] if isinstance(obj["proof"], str) else "")
        if proof.encode() != obj["proof"] or proof.index != rec.index or proof.checkpoint != note:
            raise TlogProofError("not the canonical proof of this entry against checkpoint.txt")
        if verifier is None:
            raise TlogProofError("cannot be checked without a verified checkpoint")
        verify_proof(proof, lh, verifier, origin)
    except TlogProofError as exc:
        problems.add(f"{RELEASE}: {exc}")


def _verify(raw: bytes, trusted: bytes | None, report: ExportReport, problems: ProblemList, progress) -> None:
    progress("reading the zip")
    members = _read_zip(raw, problems)
    if members is None:
        return
    files = dict(members)
    for name in (README, EXPORT_JSON, CHECKPOINT, ANNOTATIONS, ITEMS, MANIFEST):
        if name not in files:
            problems.add(f"{name}: missing")
    if problems.count and any(n not in files for n in (EXPORT_JSON, CHECKPOINT, ANNOTATIONS, ITEMS)):
        return

    # The manifest: accidental damage anywhere shows here first, by file.
    progress("checking the manifest")
    listed = [m for m in members if m[0] != MANIFEST]
    if MANIFEST in files:
        if members[-1][0] != MANIFEST:
            problems.add(f"{MANIFEST}: not the last file")
        text = _text(MANIFEST, files[MANIFEST], problems) or ""
        sums: dict[str, str] = {}
        for n, line in enumerate(_lines(MANIFEST, text, problems), start=1):
            digest, sep, name = line.partition("  ")
            if not sep or name in sums:
                problems.add(f"{MANIFEST} line {n}: not '<sha256>  <file>' or a file listed twice")
                continue
            sums[name] = digest
        for name, data in listed:
            if name not in sums:
                problems.add(f"{name}: not in {MANIFEST}")
            elif sums[name] != hashlib.sha256(data).hexdigest():
                problems.add(f"{name}: its SHA-256 is not the one {MANIFEST} lists (the file was changed)")
        for name in sorted(set(sums) - set(files)):
            problems.add(f"{MANIFEST}: lists {name}, which is missing")
        if files[MANIFEST] != manifest_text(listed):
            problems.add(f"{MANIFEST}: not in the form SiteGuard writes")

    # export.json
    progress("reading export.json")
    etext = _text(EXPORT_JSON, files[EXPORT_JSON], problems)
    try:
        export = json.loads(etext) if etext is not None else None
    except ValueError as exc:
        problems.add(f"{EXPORT_JSON}: not JSON: {exc}")
        return
    if not isinstance(export, dict) or set(export) != _EXPORT_KEYS:
        problems.add(f"{EXPORT_JSON}: fields are not {', '.join(sorted(_EXPORT_KEYS))}")
        return
    try:
        if _pretty(export) != files[EXPORT_JSON]:
            problems.add(f"{EXPORT_JSON}: not in canonical JSON form")
    except ValueError as exc:
        problems.add(f"{EXPORT_JSON}: {exc}")
    if export["bundle"] != BUNDLE_FORMAT:
        problems.add(f"{EXPORT_JSON}: bundle format {export['bundle']!r} is not {BUNDLE_FORMAT!r}")
        return
    fmt, project, origin = export["format"], export["project"], export["origin"]
    labels = export["labels"]
    if fmt not in FORMATS:
        problems.add(f"{EXPORT_JSON}: unknown format {fmt!r}")
        return
    if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
        problems.add(f"{EXPORT_JSON}: labels is not a list of strings")
        return
    report.format, report.project = fmt, project
    try:
        own_key = bytes.fromhex(export["public_key"])
        if len(own_key) != 32 or own_key.hex() != export["public_key"]:
            raise ValueError
    except (TypeError, ValueError):
        problems.add(f"{EXPORT_JSON}: public_key is not 64 lowercase hex digits")
        return
    if trusted is None:
        report.warnings.append("no trusted key given: the bundle is only checked against the key it carries")
        key = own_key
    else:
        key = bytes(trusted)
        if key != own_key:
            problems.add(f"{EXPORT_JSON}: the ledger key it names is not the trusted key")
    if README in files and files[README] != readme(fmt, project, origin, own_key.hex()):
        problems.add(f"{README}: not the text SiteGuard writes for this export")

    # The checkpoint, with the trusted key.
    progress("checking the signed checkpoint")
    note = _text(CHECKPOINT, files[CHECKPOINT], problems)
    cp = None
    try:
        verifier = NoteVerifier(origin, key)
        cp = verifier.verify(note if note is not None else "")
    except (CheckpointError, ValueError, TypeError) as exc:
        problems.add(f"{CHECKPOINT}: does not verify with the trusted key: {exc}")
        verifier = None
    if cp is not None:
        report.checkpoint_size = cp.size
        if cp.size != export["checkpoint_size"]:
            problems.add(f"{EXPORT_JSON}: checkpoint_size {export['checkpoint_size']} is not the checkpoint's {cp.size}")

    # Every version: its hash, its leaf, its proof.
    progress("checking every version and its inclusion proof")
    text = _text(ANNOTATIONS, files[ANNOTATIONS], problems) or ""
    parsed: list[LeafRecord] = []  # readable versions, proven or not: their chains are checked
    good: list[LeafRecord] = []  # versions whose hash and inclusion proof verify: the labels come from these
    seen_index: set[int] = set()
    seen_annotation: set[int] = set()
    prev_index = -1
    for n, line in enumerate(_lines(ANNOTATIONS, text, problems), start=1):
        where = f"{ANNOTATIONS} line {n}"
        entry = _json_line(ANNOTATIONS, n, line, problems)
        if entry is None:
            continue
        if not isinstance(entry, dict) or set(entry) != _ENTRY_KEYS or not isinstance(entry["data"], dict):
            problems.add(f"{where}: not a ledger entry {{index, ts, kind, data}}")
            continue
        data = entry["data"]
        aid = data.get("annotation")
        where += f" (annotation {aid})"
        try:
            rec = LeafRecord(entry["index"], entry["ts"], entry["kind"], data)
            lh = rec.leaf_hash()
            version = version_from_leaf(data)
        except (KeyError, TypeError, ValueError) as exc:
            problems.add(f"{where}: not an annotation version's leaf: {exc}")
            continue
        if not isinstance(aid, int) or isinstance(aid, bool):
            problems.add(f"{where}: annotation id is not a number")
            continue
        ok = True
        if rec.kind != LEAF_KIND:
            problems.add(f"{where}: kind {rec.kind!r} is not {LEAF_KIND!r}")
            ok = False
        if rec.index <= prev_index:
            problems.add(f"{where}: index {rec.index} is not after the line before's")
        prev_index = max(prev_index, rec.index) if isinstance(rec.index, int) else prev_index
        if rec.index in seen_index or aid in seen_annotation:
            problems.add(f"{where}: index or annotation listed twice")
            ok = False
        seen_index.add(rec.index)
        seen_annotation.add(aid)
        parsed.append(rec)
        if version.project != project:
            problems.add(f"{where}: of project {version.project}, not the exported project {project}")
            ok = False
        try:
            recomputed = version.hash()
        except (TypeError, ValueError) as exc:
            problems.add(f"{where}: its hash cannot be computed: {exc}")
            continue
        if recomputed != data.get("hash"):
            problems.add(f"{where}: the version's hash does not match its content (the version was changed)")
            ok = False
        ppath = proof_path(rec.index)
        if ppath not in files:
            problems.add(f"{where}: no inclusion proof ({ppath} is missing)")
            continue
        ptext = _text(ppath, files[ppath], problems)
        try:
            proof = parse_proof(ptext if ptext is not None else "")
            if proof.encode() != ptext:
                raise TlogProofError("not in canonical form")
            if proof.index != rec.index:
                raise TlogProofError(f"proves index {proof.index}, not {rec.index}")
            if proof.checkpoint != note:
                raise TlogProofError(f"leads to another checkpoint than {CHECKPOINT}")
            if verifier is None:
                raise TlogProofError("cannot be checked without a verified checkpoint")
            verify_proof(proof, lh, verifier, origin)
        except TlogProofError as exc:
            problems.add(f"{ppath} ({where}): {exc}")
            ok = False
        if ok:
            good.append(rec)
    for name in sorted(n for n in files if n.startswith("proofs/")):
        stem = name[len("proofs/"):-len(".tlog-proof")] if name.endswith(".tlog-proof") else ""
        if not stem.isdigit() or int(stem) not in seen_index:
            problems.add(f"{name}: a proof for no version in {ANNOTATIONS}")

    # Chains: one per (task, annotator), numbered from 1, each version chained to the one before.
    progress("checking each annotator's chain of versions")
    chains: dict[tuple[Any, Any], list[LeafRecord]] = {}
    for rec in parsed:
        chains.setdefault((rec.data["task"], rec.data["annotator"]), []).append(rec)
    for (task, annotator), recs in sorted(chains.items(), key=lambda kv: str(kv[0])):
        recs.sort(key=lambda r: r.data["version"] if isinstance(r.data["version"], int) else -1)
        for p in version_chain_problems([version_from_leaf(r.data) for r in recs]):
            ids = ", ".join(str(r.data["annotation"]) for r in recs)
            problems.add(f"{ANNOTATIONS}: task {task}, annotator {annotator} (annotations {ids}): {p}")

    # Items and the label files, rendered again from the verified versions.
    progress("rendering the label files again from the verified versions")
    items: list[ExportItem] = []
    itext = _text(ITEMS, files[ITEMS], problems) or ""
    for n, line in enumerate(_lines(ITEMS, itext, problems), start=1):
        d = _json_line(ITEMS, n, line, problems)
        if d is None:
            continue
        try:
            items.append(ExportItem.from_json(d))
            if set(d) != set(items[-1].as_json()):
                raise KeyError("unknown field")
        except (KeyError, TypeError) as exc:
            problems.add(f"{ITEMS} line {n}: not an item: {exc}")
    newest = newest_versions(good)
    want_files: dict[str, bytes] = {}
    try:
        want_files = render(fmt, items, newest, labels)
    except ExportFormatError as exc:
        problems.add(f"label files: cannot be rendered from the verified versions: {exc}")
    if RELEASE in files:
        progress("checking the release and its inclusion proof")
        _verify_release(files[RELEASE], project, note, verifier, origin, problems)
    if want_files:
        fixed = {README, EXPORT_JSON, CHECKPOINT, ANNOTATIONS, ITEMS, MANIFEST, RELEASE}
        shipped = {n: d for n, d in files.items() if n not in fixed and not n.startswith("proofs/")}
        for name in sorted(set(want_files) | set(shipped)):
            if name not in shipped:
                problems.add(f"{name}: missing (the verified versions have labels for it)")
            elif name not in want_files:
                problems.add(f"{name}: holds labels that no verified version has")
            elif shipped[name] != want_files[name]:
                problems.add(_first_difference(name, want_files[name], shipped[name]))
    used = {a.item_sha256 for a in newest}
    for item in items:
        if item.sha256 not in used:
            problems.add(f"{ITEMS}: item {item.id} has no verified version")
    counts = {"versions": len(parsed), "exported": len(newest_versions(parsed)), "items": len(items)}
    if export["counts"] != counts:
        problems.add(f"{EXPORT_JSON}: counts {export['counts']} are not what the bundle holds {counts}")
    report.counts = {**counts, "chains": len(chains), "label_files": len(want_files)}
