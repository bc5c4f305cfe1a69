"""Offline proofs that an entry is in the log, in the C2SP tlog-proof text format
(https://c2sp.org/tlog-proof)::

    c2sp.org/tlog-proof@v1
    extra <base64>            (optional, application data)
    index <entry index in decimal>
    <base64 of one inclusion proof hash>   (zero or more lines, leaf to root)

    <the signed checkpoint note the proof leads to>

Parsing is strict (canonical numbers and base64, no unknown lines), so a proof has exactly one
text form: ``parse(encode(p)) == p`` and ``encode(parse(t)) == t`` for every text ``parse``
accepts. Checking the proof against a trusted key is ``verify``.
"""
from __future__ import annotations

import base64
import re
from dataclasses import dataclass

from .checkpoint import Checkpoint, CheckpointError, NoteVerifier
from .merkle import HASH_SIZE, ProofError, verify_inclusion

__all__ = ["HEADER", "TlogProof", "TlogProofError", "parse", "verify"]

HEADER = "c2sp.org/tlog-proof@v1"
_INDEX_RE = re.compile(r"index (0|[1-9][0-9]*)\Z", re.ASCII)
_MAX_HASHES = 64  # a proof in a log of up to 2**64 entries


class TlogProofError(ValueError):
    """A tlog-proof is malformed or does not prove what it claims."""


def _b64(text: str) -> bytes | None:
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (ValueError, UnicodeEncodeError):
        return None
    return raw if base64.b64encode(raw).decode("ascii") == text else None


@dataclass(frozen=True)
class TlogProof:
    index: int
    hashes: tuple[bytes, ...]
    checkpoint: str  # the signed note, ending in a newline
    extra: bytes | None = None

    def encode(self) -> str:
        lines = [HEADER]
        if self.extra is not None:
            lines.append("extra " + base64.b64encode(self.extra).decode("ascii"))
        lines.append(f"index {self.index}")
        lines += [base64.b64encode(h).decode("ascii") for h in self.hashes]
        return "\n".join(lines) + "\n\n" + self.checkpoint


def parse(text: str) -> TlogProof:
    """The proof in ``text``; raise TlogProofError naming the bad line."""
    if not isinstance(text, str):
        raise TlogProofError("not text")
    head, sep, note = text.partition("\n\n")
    if not sep:
        raise TlogProofError("no blank line before the checkpoint")
    lines = head.split("\n")
    if lines[0] != HEADER:
        raise TlogProofError(f"first line is not {HEADER!r}")
    pos = 1
    extra = None
    if pos < len(lines) and lines[pos].startswith("extra "):
        extra = _b64(lines[pos][len("extra "):])
        if extra is None:
            raise TlogProofError("line 2: extra data is not canonical base64")
        pos += 1
    if pos >= len(lines):
        raise TlogProofError("no index line")
    m = _INDEX_RE.match(lines[pos])
    if not m:
        raise TlogProofError(f"line {pos + 1}: not 'index <decimal number>'")
    index = int(m.group(1))
    hashes = []
    for n, line in enumerate(lines[pos + 1:], start=pos + 2):
        h = _b64(line)
        if h is None or len(h) != HASH_SIZE:
            raise TlogProofError(f"line {n}: not the canonical base64 of a {HASH_SIZE}-byte hash")
        hashes.append(h)
    if len(hashes) > _MAX_HASHES:
        raise TlogProofError(f"more than {_MAX_HASHES} proof hashes")
    if not note:
        raise TlogProofError("no checkpoint after the blank line")
    return TlogProof(index, tuple(hashes), note, extra)


def verify(proof: TlogProof, leaf_hash: bytes, verifier: NoteVerifier, origin: str | None = None) -> Checkpoint:
    """Check that ``leaf_hash`` is the entry at ``proof.index`` of the tree the checkpoint signs
    (signature by ``verifier``, and of ``origin`` when given); returns that checkpoint."""
    try:
        cp = verifier.verify(proof.checkpoint)
    except CheckpointError as exc:
        raise TlogProofError(f"checkpoint: {exc}") from None
    if origin is not None and cp.origin != origin:
        raise TlogProofError(f"checkpoint is of log {cp.origin!r}, not {origin!r}")
    try:
        verify_inclusion(leaf_hash, proof.index, cp.size, list(proof.hashes), cp.root)
    except ProofError as exc:
        raise TlogProofError(f"inclusion: {exc}") from None
    return cp
