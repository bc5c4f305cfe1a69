"""Audit bundles: a site's recordings and their evidence for a period, in one tar file that an
inspector checks offline with nothing but the ledger's public key.

Layout (members in this order, so a reader can stream it)::

    README.txt                     what each file is and how to verify it
    bundle.json                    site, cameras, period, who made it, when and why, the
                                   retention policy, the SHA-256 of every file below up to proofs/,
                                   and the ledger index of the bundle's own creation entry
    policy.json                    retention policy and the legal holds in force over the period
    heads.json                     per camera: the chain head (seq, link) and its ledger index
    manifests/<camera>.jsonl       one line per segment: exactly the bytes the segment's chain
                                   link commits to (camera, seq, start, end, bytes, sha256, prev);
                                   link = SHA-256("siteguard-segment-v1\\0" || line)
    gaps.jsonl                     spans no segment covers, with their causes
    deletions.jsonl                segments deleted, when and why, each with its ledger index
    network.jsonl                  network changes with the customers' approvals (signatures over
                                   the digest of the exact lines per device)
    access.jsonl                   gate decisions, passages and withdrawn grants, each with the
                                   ledger index of the batch entry that holds it
    drills.jsonl                   drills of the period
    ledger/key.txt                 the ledger's origin and Ed25519 public key
    ledger/checkpoint.txt          a signed checkpoint (C2SP tlog-checkpoint, signed note)
    ledger/entries.jsonl           the ledger entries the bundle cites: {index, ts, kind, data}
    proofs/<index>.tlog-proof      each cited entry's inclusion proof (C2SP tlog-proof)
    segments/<camera>/<seq>_<start>.mp4   the native recorded segments, unchanged
                                   (absent from a manifests-only bundle)

Each camera's manifest is proven by its head: the head's link is in a ledgered segment entry,
and every earlier line is committed to by the links after it. The metadata files are proven by
the bundle's creation entry, which carries their hashes.

``verify_bundle`` is the offline check: pure, no server, no database.
"""
from __future__ import annotations

import bisect
import hashlib
import hmac
import io
import json
import multiprocessing
import os
import re
import tarfile
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import IO, Any

from .chain import _GENESIS_DOMAIN, _RECORD_DOMAIN
from .checkpoint import CheckpointError, NoteVerifier
from .ledger import entry_leaf_bytes
from .merkle import leaf_hash
from .policy import LegalHold, RetentionPolicy, SegmentInfo, earliest_deletion, is_held
from .tlog_proof import TlogProofError
from .tlog_proof import parse as parse_proof
from .tlog_proof import verify as verify_proof

__all__ = [
    "BUNDLE_FORMAT",
    "BundleReport",
    "COVERED_FILES",
    "readme",
    "segment_member",
    "verify_bundle",
]

BUNDLE_FORMAT = "siteguard-audit-bundle/1"
# The metadata files whose SHA-256 the bundle's creation entry carries.
COVERED_FILES = ("policy.json", "heads.json", "gaps.jsonl", "deletions.jsonl", "network.jsonl",
                 "access.jsonl", "drills.jsonl")
GAP_TOLERANCE_S = 2.0
_SEGMENT_RE = re.compile(r"segments/([A-Za-z0-9][A-Za-z0-9._-]{0,63})/([0-9]{1,19})_[0-9TZ.]+\.mp4\Z")
_MANIFEST_RE = re.compile(r"manifests/([A-Za-z0-9][A-Za-z0-9._-]{0,63})\.jsonl\Z")
_PROOF_RE = re.compile(r"proofs/(0|[1-9][0-9]*)\.tlog-proof\Z")
# Field order of a canonical record line split at its quotes (see chain.record_bytes).
_KEYS = (b"bytes", b"camera", b"end", b"prev", b"seq", b"sha256", b"start")
_MAX_PROBLEMS = 500
_CHUNK = 1 << 20


def segment_member(camera: str, seq: int, start_text: str) -> str:
    """The bundle name of a segment file: camera, seq and its start (UTC, compact)."""
    stamp = start_text.replace("-", "").replace(":", "")
    return f"segments/{camera}/{seq:010d}_{stamp}.mp4"


def readme(site: str, origin: str, public_key_hex: str, manifests_only: bool) -> bytes:
    return f"""SiteGuard audit bundle ({BUNDLE_FORMAT}) of site {site}

Verify it offline (no server, no database) with the ledger's public key:

    siteguard verify-bundle THIS_FILE --key {public_key_hex}

Ledger origin: {origin}. Check the key against one you obtained independently.

Files:
  bundle.json               who made the bundle, when, why; the period, cameras, retention policy,
                            and the SHA-256 of each metadata file; creation_index is the ledger
                            entry that records all of it (proven by proofs/<index>.tlog-proof)
  policy.json               retention policy and legal holds in force over the period
  heads.json                each camera's chain head in the period and its ledger entry
  manifests/<camera>.jsonl  one line per segment; each line is exactly what that segment's chain
                            link commits to: link = SHA-256("siteguard-segment-v1" 0x00 line),
                            and the next line's "prev" is that link (the first segment's prev is
                            SHA-256("siteguard-segment-genesis" 0x00 camera))
  gaps.jsonl                spans of time no segment covers, with their causes
  deletions.jsonl           deleted segments with time, reason and ledger entry
  network.jsonl             network changes and the customers' signed approvals
  access.jsonl              gate decisions, passages and withdrawn grants (ledgered in batches)
  drills.jsonl              drills of the period
  ledger/key.txt            ledger origin and public key
  ledger/checkpoint.txt     signed checkpoint (https://c2sp.org/tlog-checkpoint)
  ledger/entries.jsonl      ledger entries cited by the bundle
  proofs/<index>.tlog-proof inclusion proof of entry <index> (https://c2sp.org/tlog-proof)
  segments/<camera>/...mp4  {"(left out: a manifests-only bundle)" if manifests_only else
                             "the native recorded segments, unchanged"}

The verifier re-hashes every segment, checks each chain to its ledgered head, every proof and
the checkpoint signature, that no segment inside the minimum retention was deleted or is missing,
and names the exact file, camera, segment or record that fails.
""".encode()


@dataclass
class BundleReport:
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    site: str = ""
    segments: int = 0
    files_hashed: int = 0
    bytes_hashed: int = 0
    seconds: dict[str, float] = field(default_factory=dict)  # recorded seconds per camera
    gaps: int = 0
    deletions: int = 0
    access_events: int = 0
    network_changes: int = 0
    checkpoint_size: int = 0
    manifests_only: bool = False
    _dropped: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems

    def fail(self, message: str) -> None:
        if len(self.problems) < _MAX_PROBLEMS:
            self.problems.append(message)
        else:
            self._dropped += 1

    def hours(self) -> dict[str, float]:
        return {c: s / 3600 for c, s in sorted(self.seconds.items())}


def _utc(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError("naive time")
    return moment


@dataclass
class _Chain:
    """One camera's manifest as the verifier keeps it: the checked chain's ends, and per
    segment what the file checks and deletion checks need."""
    camera: str
    first_seq: int = 0
    last_seq: int = 0
    links: dict[int, str] = field(default_factory=dict)  # head candidates: seq -> link (last only)
    last_link: str = ""
    # seq -> (sha256 hex, start text, end text, line number); kept only when files are checked
    segments: dict[int, tuple[bytes, bytes, bytes, int]] = field(default_factory=dict)
    # seq -> (start, end, line); every segment's, or only those of ``wanted`` when it is given
    ends: dict[int, tuple[bytes, bytes, int]] = field(default_factory=dict)
    gaps: list[tuple[str, str]] = field(default_factory=list)
    lines: int = 0
    sha256: str = ""  # of the whole manifest file
    seconds: float = 0.0  # recorded seconds


# Field positions in a run of canonical record lines split at their quotes: 24 quotes a line, so
# line i's parts are 24 * i + j; a line's closing brace and the next one's opening brace share
# the part b'}\n{'.
_KEY_PARTS = ((1, b"bytes"), (3, b"camera"), (7, b"end"), (11, b"prev"), (15, b"seq"), (17, b"sha256"),
              (21, b"start"))
_SEQ_TEXT = b":%d,".__mod__
_HEX = type(hashlib.sha256()).hexdigest
_BLOCK = 1 << 16  # small enough that the per-block lists reuse memory rather than fault in fresh pages
_MIN_RUN = 32  # lines below which a run that does not pass whole is checked line by line


def _index(items: list, value: Any, start: int) -> int:
    try:
        return items.index(value, start)
    except ValueError:
        return -1


class _ManifestCheck:
    """The chain check of one manifest, fed its bytes in blocks. Runs of lines that are canonical,
    chained, consecutive and gapless (the common case) pass with whole-run comparisons; any other
    line goes through ``_lines``, which names what is wrong with it."""

    def __init__(self, camera: str, name: str, report: BundleReport, keep_segments: bool,
                 wanted: Iterable[int] | None) -> None:
        self.chain = _Chain(camera)
        self.camera, self.name, self.report, self.keep_segments = camera, name, report, keep_segments
        self.wanted_set = None if wanted is None else set(wanted)
        self.wanted = None if wanted is None else sorted(self.wanted_set)
        self.cam = camera.encode()
        self.prev_link: bytes | None = None
        self.expected_seq = 0
        self.run_start: bytes | None = None
        self.last_end = b""
        self.seconds = 0.0
        self.n = 0
        self.whole = hashlib.sha256()
        self.tail = b""

    def feed(self, data: bytes) -> None:
        self.whole.update(data)
        cut = data.rfind(b"\n")
        if cut < 0:
            self.tail += data
            return
        block = self.tail + data[:cut + 1] if self.tail else data[:cut + 1]
        self.tail = data[cut + 1:]
        lines = block.split(b"\n")
        lines.pop()  # the empty text after the block's last newline
        self._run(lines, block)

    def finish(self) -> _Chain:
        if self.tail:
            self._lines([self.tail])
        chain = self.chain
        if self.run_start is not None:
            self.seconds += (_utc(self.last_end.decode()) - _utc(self.run_start.decode())).total_seconds()
        chain.last_seq = self.expected_seq - 1
        chain.last_link = self.prev_link.decode() if self.prev_link else ""
        chain.lines = self.n
        chain.sha256 = self.whole.hexdigest()
        chain.seconds = self.seconds
        return chain

    def _run(self, lines: list[bytes], block: bytes | None = None) -> None:
        if not lines:
            return
        if self.prev_link is None:  # the chain has no checked link to go on from: one line alone
            self._lines(lines[:1])
            lines = lines[1:]
            block = None
        if not lines or self._fast(lines, block):
            return
        if len(lines) <= _MIN_RUN:
            self._lines(lines)
            return
        half = len(lines) // 2
        self._run(lines[:half])
        self._run(lines[half:])

    def _fast(self, lines: list[bytes], block: bytes | None) -> bool:
        """Take a run of lines if each is canonical, chained to the one before, next in sequence
        and starts when the one before ended; leaves the state untouched otherwise."""
        if self.prev_link is None or self.run_start is None:
            return False
        k = len(lines)
        p = (block if block is not None else b"\n".join(lines) + b"\n").split(b'"')
        if (len(p) != 24 * k + 1 or p[0] != b"{" or p[-1] != b"}\n"
                or p[24:-1:24].count(b"}\n{") != k - 1 or p[5::24].count(self.cam) != k):
            return False
        for j, text in _KEY_PARTS:
            if p[j::24].count(text) != k:
                return False
        first = self.expected_seq
        if p[16::24] != list(map(_SEQ_TEXT, range(first, first + k))):
            return False
        starts, ends = p[23::24], p[9::24]
        sha256 = hashlib.sha256
        links = list(map(str.encode, map(_HEX, map(sha256, map(_RECORD_DOMAIN.__add__, lines)))))
        prevs = p[13::24]
        if prevs[0] != self.prev_link or prevs[1:] != links[:-1]:
            return False
        # Where a segment does not start as the one before ended, a run of recording ends (and
        # maybe a gap begins): the same sums in the same order as line by line.
        if starts[0] != self.last_end or starts[1:] != ends[:-1]:
            flows = list(map(bytes.__eq__, starts, [self.last_end, *ends[:-1]]))
            run_start, seconds, gaps = self.run_start, self.seconds, self.chain.gaps
            i = -1
            while (i := _index(flows, False, i + 1)) >= 0:
                last_end, start = (ends[i - 1] if i else self.last_end).decode(), starts[i].decode()
                seconds += (_utc(last_end) - _utc(run_start.decode())).total_seconds()
                if (_utc(start) - _utc(last_end)).total_seconds() > GAP_TOLERANCE_S:
                    gaps.append((last_end, start))
                run_start = starts[i]
            self.run_start, self.seconds = run_start, seconds
        n0 = self.n
        lines_at = range(n0 + 1, n0 + k + 1)
        seqs = range(first, first + k)
        if self.keep_segments:
            self.chain.segments.update(zip(seqs, zip(p[19::24], starts, ends, lines_at)))
        elif self.wanted is None:
            self.chain.ends.update(zip(seqs, zip(starts, ends, lines_at)))
        else:
            wanted = self.wanted
            for i in range(bisect.bisect_left(wanted, first), bisect.bisect_left(wanted, first + k)):
                at = wanted[i] - first
                self.chain.ends[wanted[i]] = (starts[at], ends[at], n0 + at + 1)
        self.prev_link = links[-1]
        self.expected_seq = first + k
        self.last_end = ends[-1]
        self.n = n0 + k
        return True

    def _lines(self, lines: list[bytes]) -> None:
        """Line by line, naming each problem."""
        chain, camera, name, cam = self.chain, self.camera, self.name, self.cam
        fail = self.report.fail
        sha256 = hashlib.sha256
        domain = _RECORD_DOMAIN
        prev_link, expected_seq, run_start = self.prev_link, self.expected_seq, self.run_start
        last_end, seconds, n = self.last_end, self.seconds, self.n
        keep_segments, segments, ends = self.keep_segments, chain.segments, chain.ends
        wanted = self.wanted_set
        for line in lines:
            n += 1
            p = line.split(b'"')
            if (len(p) != 25 or p[0] != b"{" or p[24] != b"}" or p[1] != b"bytes" or p[3] != b"camera"
                    or p[7] != b"end" or p[11] != b"prev" or p[15] != b"seq" or p[17] != b"sha256"
                    or p[21] != b"start" or p[5] != cam):
                fail(f"{name} line {n}: not a canonical segment record of camera {camera}")
                prev_link = None
                continue
            seq_text = p[16]
            try:
                seq = int(seq_text[1:-1])
            except ValueError:
                fail(f"{name} line {n}: not a canonical segment record of camera {camera}")
                prev_link = None
                continue
            start, end, prev = p[23], p[9], p[13]
            if prev_link is None:
                if n == 1:
                    chain.first_seq = seq
                    if seq == 1 and prev != sha256(_GENESIS_DOMAIN + cam).hexdigest().encode():
                        fail(f"{name} line {n} (camera {camera} segment {seq}): the first segment does not "
                             f"start the camera's chain (prev is not genesis)")
                else:
                    fail(f"{name} line {n} (camera {camera} segment {seq}): chain cannot be checked after the "
                         f"malformed line before it")
            elif seq != expected_seq:
                if seq > expected_seq:
                    fail(f"{name}: camera {camera} segments {expected_seq}..{seq - 1} removed from the manifest "
                         f"(before line {n})")
                else:
                    fail(f"{name} line {n} (camera {camera} segment {seq}): sequence number {seq} out of order "
                         f"(expected {expected_seq})")
            elif prev != prev_link:
                fail(f"{name} line {n - 1} (camera {camera} segment {seq - 1}): record altered "
                     f"(its link is not the prev of segment {seq})")
            prev_link = sha256(domain + line).hexdigest().encode()
            expected_seq = seq + 1
            if start != last_end:
                if run_start is not None:
                    seconds += (_utc(last_end.decode()) - _utc(run_start.decode())).total_seconds()
                    gap = (_utc(start.decode()) - _utc(last_end.decode())).total_seconds()
                    if gap > GAP_TOLERANCE_S:
                        chain.gaps.append((last_end.decode(), start.decode()))
                run_start = start
            last_end = end
            if keep_segments:
                segments[seq] = (p[19], start, end, n)
            elif wanted is None or seq in wanted:
                ends[seq] = (start, end, n)
        self.prev_link, self.expected_seq, self.run_start = prev_link, expected_seq, run_start
        self.last_end, self.seconds, self.n = last_end, seconds, n


def check_manifest(camera: str, read: Callable[[int], bytes], name: str, report: BundleReport,
                   keep_segments: bool, wanted: Iterable[int] | None = None) -> _Chain:
    """Check one camera's chain in a manifest read through ``read(size)``: each line's link is
    the next line's prev, seqs run on without a hole. Keeps the start and end of every segment,
    or with ``wanted`` only of those seqs; the chain carries the file's SHA-256 and the recorded
    seconds, and the report gets the segment count and the seconds."""
    check = _ManifestCheck(camera, name, report, keep_segments, wanted)
    try:
        while data := read(_BLOCK):
            check.feed(data)
    except ValueError as exc:  # a start or end that is no time with its zone: named, not a crash
        report.fail(f"{name} (camera {camera}): after line {check.n}, a segment's start or end is not an "
                    f"ISO 8601 time with its zone ({exc}); the rest of its chain cannot be checked")
        while data := read(_BLOCK):  # the file's hash still covers all of it
            check.whole.update(data)
        check.tail, check.run_start = b"", None
    chain = check.finish()
    report.segments += chain.lines
    report.seconds[camera] = report.seconds.get(camera, 0.0) + chain.seconds
    return chain


def _json(name: str, data: bytes, report: BundleReport) -> Any:
    try:
        return json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        report.fail(f"{name}: not JSON ({exc})")
        return None


def _jsonl(name: str, data: bytes, report: BundleReport) -> list[Any]:
    out = []
    for n, line in enumerate(data.decode("utf-8", "replace").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            out.append((n, json.loads(line)))
        except ValueError:
            report.fail(f"{name} line {n}: not JSON")
    return out


_PARALLEL_BYTES = 64 << 20  # manifests smaller than this in all are checked in this process


def _check_manifest_at(path: str, offset: int, size: int, camera: str, name: str, keep_segments: bool,
                       wanted: list[int] | None) -> tuple[_Chain, list[str], int]:
    """``check_manifest`` of the member at ``offset`` of the bundle file, in a worker process."""
    report = BundleReport()
    left = size
    with open(path, "rb") as f:
        f.seek(offset)

        def read(n: int) -> bytes:
            nonlocal left
            data = f.read(min(n, left))
            left -= len(data)
            if not data and left:
                raise tarfile.ReadError("unexpected end of data")
            return data

        chain = check_manifest(camera, read, name, report, keep_segments, wanted)
    return chain, report.problems, report._dropped


def _survey(path: str) -> tuple[dict[str, list[int]], int] | None:
    """Read ahead in a bundle file: per camera the seqs that deletions.jsonl names (so that the
    chain check keeps only those segments' times, not every segment's) and the manifests' size
    in all. None where the bundle cannot be read ahead; the check then keeps every segment's."""
    wanted: dict[str, set[int]] = {}
    manifest_bytes = 0
    try:
        with tarfile.open(path, mode="r:") as tar:
            for member in tar:
                if _MANIFEST_RE.match(member.name):
                    manifest_bytes += member.size
                elif member.name == "deletions.jsonl" and member.isfile():
                    fobj = tar.extractfile(member)
                    assert fobj is not None
                    for _n, d in _jsonl(member.name, fobj.read(), BundleReport()):
                        try:
                            wanted.setdefault(d["camera"], set()).add(int(d["seq"]))
                        except (KeyError, TypeError, ValueError):
                            continue
    except (OSError, tarfile.TarError, EOFError):
        return None
    return {c: sorted(s) for c, s in wanted.items()}, manifest_bytes


def verify_bundle(source: str | IO[bytes], trusted_key: bytes,
                  progress: Callable[[str], None] | None = None, *,
                  now: datetime | None = None, workers: int | None = None) -> BundleReport:
    """Check an audit bundle offline against the ledger's public key; every problem names the
    file and, where there is one, the camera, segment or record. A bundle given as a file name
    has its cameras' manifests checked in ``workers`` processes (default: one per CPU where the
    manifests are large); the report is the same whichever way it was checked."""
    report = BundleReport()
    say = progress or (lambda _text: None)
    now = now or datetime.now(timezone.utc)
    small: dict[str, bytes] = {}
    chains: dict[str, _Chain] = {}
    manifest_hashes: dict[str, str] = {}
    files: dict[tuple[str, int], tuple[str, str, int]] = {}  # (camera, seq) -> (name, sha hex, size)
    proofs: dict[int, str] = {}
    keep_segments = True
    # What the reading finds, in member order: a problem, or a manifest's check (done, or running
    # in a worker); settled in that order, so problems come out as a one-by-one reading names them.
    found: list[str | tuple[str, str, Any]] = []
    survey = _survey(source) if isinstance(source, str) else None
    wanted = survey[0] if survey is not None else None
    if workers is None:
        workers = (min(len(os.sched_getaffinity(0)), 8)
                   if survey is not None and survey[1] >= _PARALLEL_BYTES else 1)
    pool = None
    if workers > 1 and survey is not None:
        pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))

    def settle() -> bool:
        for item in found:
            if isinstance(item, str):
                report.fail(item)
                continue
            camera, name, result = item
            try:
                chain, problems, dropped = result.result() if isinstance(result, Future) else result
            except (OSError, tarfile.TarError, EOFError) as exc:
                report.fail(f"bundle: unreadable ({exc})")
                return False
            for problem in problems:
                report.fail(problem)
            report._dropped += dropped
            report.segments += chain.lines
            report.seconds[camera] = report.seconds.get(camera, 0.0) + chain.seconds
            chains[camera] = chain
            manifest_hashes[name] = chain.sha256
        found.clear()
        return True

    try:
        try:
            tar = (tarfile.open(source, mode="r:") if isinstance(source, str)
                   else tarfile.open(fileobj=source, mode="r|"))
        except (OSError, tarfile.TarError) as exc:
            report.fail(f"bundle: unreadable ({exc})")
            return report
        try:
            with tar:
                for member in tar:
                    name = member.name
                    if not member.isfile():
                        found.append(f"{name}: not a plain file")
                        continue
                    m = _MANIFEST_RE.match(name)
                    if m is not None and pool is not None:
                        camera = m.group(1)
                        say(f"checking the chain of camera {camera}")
                        found.append((camera, name, pool.submit(
                            _check_manifest_at, source, member.offset_data, member.size, camera, name,
                            keep_segments, None if wanted is None else wanted.get(camera, []))))
                        continue
                    fobj = tar.extractfile(member)
                    assert fobj is not None
                    if name == "bundle.json":
                        small[name] = fobj.read()
                        parsed = BundleReport()
                        head = _json(name, small[name], parsed) or {}
                        found.extend(parsed.problems)
                        keep_segments = not head.get("manifests_only", False)
                        report.manifests_only = not keep_segments
                    elif m is not None:
                        camera = m.group(1)
                        say(f"checking the chain of camera {camera}")
                        checked = BundleReport()
                        chain = check_manifest(camera, fobj.read, name, checked, keep_segments,
                                               None if wanted is None else wanted.get(camera, []))
                        found.append((camera, name, (chain, checked.problems, checked._dropped)))
                    elif (m := _SEGMENT_RE.match(name)) is not None:
                        h = hashlib.sha256()
                        size = 0
                        while chunk := fobj.read(_CHUNK):
                            h.update(chunk)
                            size += len(chunk)
                        files[(m.group(1), int(m.group(2)))] = (name, h.hexdigest(), size)
                        report.files_hashed += 1
                        report.bytes_hashed += size
                        if report.files_hashed % 500 == 0:
                            say(f"hashed {report.files_hashed} segments ({report.bytes_hashed / 1e6:.0f} MB)")
                    elif (m := _PROOF_RE.match(name)) is not None:
                        proofs[int(m.group(1))] = fobj.read(1 << 16).decode("utf-8", "replace")
                    else:
                        small[name] = fobj.read()
        except (OSError, tarfile.TarError, EOFError) as exc:
            if settle():
                report.fail(f"bundle: unreadable ({exc})")
            return report
        if not settle():
            return report
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    say("checking signatures and proofs")
    _verify_evidence(report, trusted_key, small, chains, manifest_hashes, files, proofs, now, keep_segments)
    if report._dropped:
        report.problems.append(f"... and {report._dropped} more problems")
    return report


def _verify_evidence(report, trusted_key, small, chains, manifest_hashes, files, proofs, now, keep_segments):
    fail = report.fail
    for required in ("bundle.json", "ledger/checkpoint.txt", "ledger/key.txt", "ledger/entries.jsonl",
                     *COVERED_FILES):
        if required not in small:
            fail(f"{required}: missing from the bundle")
    bundle = _json("bundle.json", small.get("bundle.json", b"{}"), report) or {}
    if bundle.get("format") != BUNDLE_FORMAT:
        fail(f"bundle.json: format is not {BUNDLE_FORMAT}")
    creation = bundle.get("creation") or {}
    report.site = str(creation.get("site", ""))
    origin = str(bundle.get("origin", ""))
    verifier = NoteVerifier(origin, trusted_key) if origin else None
    # The checkpoint and its signature.
    note = small.get("ledger/checkpoint.txt", b"").decode("utf-8", "replace")
    try:
        if verifier is None:
            raise CheckpointError("no origin in bundle.json")
        cp = verifier.verify(note)
        report.checkpoint_size = cp.size
    except CheckpointError as exc:
        fail(f"ledger/checkpoint.txt: signature does not verify with the given key ({exc})")
        cp = None
    key_text = small.get("ledger/key.txt", b"").decode("utf-8", "replace")
    if trusted_key.hex() not in key_text:
        report.warnings.append("ledger/key.txt names another key than the one given; the given key was used")
    # Cited ledger entries, each proven against the checkpoint.
    entries: dict[int, dict] = {}
    for n, doc in _jsonl("ledger/entries.jsonl", small.get("ledger/entries.jsonl", b""), report):
        try:
            index, ts, kind, data = doc["index"], doc["ts"], doc["kind"], doc["data"]
            leaf = leaf_hash(entry_leaf_bytes(index, ts, kind, data))
        except (KeyError, TypeError, ValueError):
            fail(f"ledger/entries.jsonl line {n}: not a ledger entry")
            continue
        text = proofs.get(index)
        if text is None:
            fail(f"proofs/{index}.tlog-proof: missing (ledger entry {index}, {kind})")
            continue
        try:
            proof = parse_proof(text)
            if proof.index != index:
                raise TlogProofError(f"proves entry {proof.index}, not {index}")
            if cp is not None and proof.checkpoint != note:
                raise TlogProofError("leads to another checkpoint than ledger/checkpoint.txt")
            if verifier is not None:
                verify_proof(proof, leaf, verifier, origin)
        except (TlogProofError, CheckpointError) as exc:
            fail(f"proofs/{index}.tlog-proof: ledger entry {index} ({kind}) not proven: {exc}")
            continue
        entries[index] = {"kind": kind, "data": data, "ts": ts}
    # The bundle's creation entry and the hashes of the metadata files.
    ci = bundle.get("creation_index")
    made = entries.get(ci) if isinstance(ci, int) else None
    if made is None or made["kind"] != "audit.bundle" or made["data"] != creation:
        fail("bundle.json: its creation is not the proven ledger entry "
             f"{ci} (who, when, why, file hashes)")
    hashes = creation.get("files", {}) if isinstance(creation.get("files"), dict) else {}
    for name in COVERED_FILES:
        if name in small and hashes.get(name) != hashlib.sha256(small[name]).hexdigest():
            fail(f"{name}: edited (its SHA-256 is not the one ledgered at the bundle's creation)")
    for name, digest in manifest_hashes.items():
        if hashes.get(name) != digest:
            fail(f"{name}: edited (its SHA-256 is not the one ledgered at the bundle's creation)")
    for name in hashes:
        if name.startswith("manifests/") and name not in manifest_hashes:
            fail(f"{name}: missing from the bundle")
    policy_doc = _json("policy.json", small.get("policy.json", b"{}"), report) or {}
    policy, holds = _policy(policy_doc, report)
    _check_heads(report, small, chains, entries)
    deleted = _check_deletions(report, small, chains, entries, policy, holds, now)
    _check_files(report, chains, files, deleted, keep_segments)
    _check_gaps(report, small, chains)
    _check_access(report, small, entries)
    report.network_changes = len(_jsonl("network.jsonl", small.get("network.jsonl", b""), report))


def _policy(doc: dict, report: BundleReport) -> tuple[RetentionPolicy | None, list[LegalHold]]:
    try:
        p = doc["policy"]
        policy = RetentionPolicy(min_months=p["min_months"], max_months=p.get("max_months"),
                                 timezone=p["timezone"])
    except (KeyError, TypeError, ValueError) as exc:
        report.fail(f"policy.json: no valid retention policy ({exc})")
        return None, []
    holds = []
    for h in doc.get("holds", []):
        try:
            holds.append(LegalHold(h["id"], h.get("camera"), _utc(h["start"]), _utc(h["end"]), h["reason"],
                                   _utc(h["released_at"]) if h.get("released_at") else None,
                                   _utc(h["placed_at"]) if h.get("placed_at") else None))
        except (KeyError, TypeError, ValueError):
            report.fail(f"policy.json: legal hold {h.get('id') if isinstance(h, dict) else h!r} is invalid")
    return policy, holds


def _check_heads(report, small, chains, entries) -> None:
    heads = _json("heads.json", small.get("heads.json", b"{}"), report) or {}
    for camera, chain in sorted(chains.items()):
        head = heads.get(camera)
        name = f"manifests/{camera}.jsonl"
        if chain.lines == 0:
            if isinstance(head, dict):
                report.fail(f"{name}: camera {camera} has no segments, heads.json names segment {head.get('seq')}")
            continue
        if not isinstance(head, dict):
            report.fail(f"heads.json: no chain head for camera {camera}")
            continue
        entry = entries.get(head.get("ledger_index"))
        data = entry["data"] if entry else {}
        if (entry is None or entry["kind"] != "segment.recorded" or data.get("camera") != camera
                or data.get("seq") != head.get("seq") or data.get("link") != head.get("link")):
            report.fail(f"heads.json: the head of camera {camera} (segment {head.get('seq')}) is not a proven "
                        f"ledger entry")
            continue
        if head["seq"] == chain.last_seq:
            if not hmac.compare_digest(head["link"], chain.last_link):
                report.fail(f"{name} line {chain.lines} (camera {camera} segment {chain.last_seq}): record "
                            f"altered (its link is not the ledgered head)")
        elif chain.first_seq <= head["seq"] < chain.last_seq:
            # The head sits inside: the lines after it are chained to it but not yet ledgered.
            report.warnings.append(f"camera {camera}: segments {head['seq'] + 1}..{chain.last_seq} are after the "
                                   f"newest ledgered head")
        else:
            report.fail(f"{name}: camera {camera} ends at segment {chain.last_seq}, the ledgered head is "
                        f"segment {head['seq']} (segments removed or added)")


def _check_deletions(report, small, chains, entries, policy, holds, now) -> dict[tuple[str, int], str]:
    deleted: dict[tuple[str, int], str] = {}
    for n, d in _jsonl("deletions.jsonl", small.get("deletions.jsonl", b""), report):
        report.deletions += 1
        try:
            camera, seq, when, reason = d["camera"], int(d["seq"]), _utc(d["deleted_at"]), d["reason"]
        except (KeyError, TypeError, ValueError):
            report.fail(f"deletions.jsonl line {n}: not a deletion record")
            continue
        label = f"deletions.jsonl line {n} (camera {camera} segment {seq})"
        deleted[(camera, seq)] = reason
        entry = entries.get(d.get("ledger_index"))
        data = entry["data"] if entry else {}
        if (entry is None or entry["kind"] != "segment.deleted" or data.get("camera") != camera
                or data.get("seq") != seq or data.get("reason") != reason
                or _safe_utc(data.get("deleted_at")) != when):
            report.fail(f"{label}: not the proven ledger entry {d.get('ledger_index')}")
        chain = chains.get(camera)
        times = None
        if chain is not None:
            got = chain.segments.get(seq) or chain.ends.get(seq)
            if got is not None:
                times = (got[1 if len(got) == 4 else 0], got[2 if len(got) == 4 else 1])
        if times is None:
            report.fail(f"{label}: the segment is not in manifests/{camera}.jsonl")
            continue
        if policy is None:
            continue
        info = SegmentInfo(seq, camera, _utc(times[0].decode()), _utc(times[1].decode()), 0)
        earliest = earliest_deletion(info, policy)
        if when < earliest:
            report.fail(f"{label}: deleted on {d['deleted_at']} inside the minimum retention of "
                        f"{policy.min_months} months (kept until {earliest.isoformat()}): {reason}")
        if when > now:
            report.fail(f"{label}: deletion dated after the verification time")
        hold = is_held(info, holds, when)
        if hold is not None:
            report.fail(f"{label}: deleted under legal hold {hold.id} ({hold.reason})")
    return deleted


def _safe_utc(text: Any) -> datetime | None:
    try:
        return _utc(text)
    except (TypeError, ValueError, AttributeError):
        return None


def _check_files(report, chains, files, deleted, keep_segments) -> None:
    for (camera, seq), (name, _digest, _size) in sorted(files.items()):
        chain = chains.get(camera)
        if chain is None or seq not in chain.segments:
            report.fail(f"{name}: camera {camera} segment {seq} is not in any manifest")
    if not keep_segments:
        return
    for camera, chain in sorted(chains.items()):
        for seq, (sha, _start, _end, n) in chain.segments.items():
            label = f"manifests/{camera}.jsonl line {n} (camera {camera} segment {seq})"
            got = files.get((camera, seq))
            if (camera, seq) in deleted:
                continue
            if got is None:
                report.fail(f"{label}: segment file missing from the bundle and not deleted")
            elif got[1].encode() != sha:
                report.fail(f"{got[0]}: camera {camera} segment {seq} content changed (SHA-256 is not the "
                            f"manifest's)")


def _check_gaps(report, small, chains) -> None:
    listed = set()
    for n, g in _jsonl("gaps.jsonl", small.get("gaps.jsonl", b""), report):
        try:
            listed.add((g["camera"], _utc(g["start"]), _utc(g["end"])))
        except (KeyError, TypeError, ValueError):
            report.fail(f"gaps.jsonl line {n}: not a gap record")
    found = 0
    for camera, chain in sorted(chains.items()):
        for start, end in chain.gaps:
            found += 1
            if (camera, _utc(start), _utc(end)) not in listed:
                report.fail(f"gaps.jsonl: camera {camera} gap {start} .. {end} is not listed")
    report.gaps = found


def _check_access(report, small, entries) -> None:
    batches: dict[int, set[str]] = {}
    unproven = 0
    for n, a in _jsonl("access.jsonl", small.get("access.jsonl", b""), report):
        report.access_events += 1
        index = a.pop("ledger_index", None) if isinstance(a, dict) else None
        if index is None:
            unproven += 1
            continue
        if index not in batches:
            entry = entries.get(index)
            events = entry["data"].get("events", []) if entry and entry["kind"] == "access.batch" else []
            batches[index] = {json.dumps(e, sort_keys=True) for e in events}
        if json.dumps(a, sort_keys=True) not in batches[index]:
            report.fail(f"access.jsonl line {n} (gate {a.get('gate')} at {a.get('at')}): not in the proven "
                        f"access batch entry {index}")
    if unproven:
        report.warnings.append(f"{unproven} access events predate batch ledgering and carry no proof")


def iso_z(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def add_member(tar: tarfile.TarFile, name: str, data: bytes, mtime: float) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = len(data), int(mtime), 0o644
    tar.addfile(info, io.BytesIO(data))


__all__ += ["add_member", "check_manifest", "iso_z"]
