"""Signed tree heads in the C2SP tlog-checkpoint format, wrapped in C2SP signed notes.

A checkpoint body is exactly three lines::

    <origin>
    <tree size in decimal>
    <base64 of the 32-byte root hash>

and the signed note appends a blank line and one signature line per signer::

    \u2014 <key name> <base64(4-byte key id || Ed25519 signature over the body)>

Parsing is deliberately strict (no extension lines, canonical numbers and
base64) so that a checkpoint has exactly one text form; the ledger export
relies on that to notice any modified byte.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

__all__ = [
    "Checkpoint",
    "CheckpointError",
    "NoteSigner",
    "NoteVerifier",
    "format_verifier_key",
    "load_private_key",
    "parse_unverified",
    "private_key_raw",
    "public_key_raw",
    "split_note",
]

ROOT_SIZE = 32
SIGNATURE_SIZE = 64
KEY_ID_SIZE = 4
# Signature type byte for Ed25519 in C2SP signed-note key ids and keys.
_ALG_ED25519 = b"\x01"
_SIG_PREFIX = "\u2014 "
# Bound the work an attacker-supplied note can cause; C2SP suggests verifiers
# may cap the number of signatures.
MAX_SIGNATURES = 100
# C2SP checkpoints carry uint64 sizes.
_MAX_SIZE = 2**64 - 1
_SIZE_RE = re.compile(r"(?:0|[1-9][0-9]*)\Z", re.ASCII)


class CheckpointError(ValueError):
    """A signed checkpoint is malformed or its signature does not verify."""


def _has_control(text: str) -> bool:
    return any(ord(c) < 0x20 or ord(c) == 0x7F for c in text)


def _valid_key_name(name: object) -> bool:
    # Names may not contain spaces or '+': the signature line and the text
    # form of verifier keys use them as separators.
    return (
        isinstance(name, str)
        and name != ""
        and "+" not in name
        and not any(c.isspace() for c in name)
        and not _has_control(name)
    )


def _b64decode_canonical(text: str) -> bytes | None:
    """Standard padded base64, accepted only in its one canonical spelling.

    ``b64decode`` alone ignores the unused low bits of the final character,
    which would let two different strings carry the same bytes.
    """
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, ValueError, UnicodeEncodeError):
        return None
    if base64.b64encode(raw).decode("ascii") != text:
        return None
    return raw


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes

    def __post_init__(self) -> None:
        if not isinstance(self.origin, str) or self.origin == "":
            raise CheckpointError("origin must be a non-empty string")
        if _has_control(self.origin):
            raise CheckpointError("origin contains a control character")
        if not isinstance(self.size, int) or isinstance(self.size, bool):
            raise CheckpointError("size must be an int")
        if not 0 <= self.size <= _MAX_SIZE:
            raise CheckpointError("size is outside the uint64 range")
        if not isinstance(self.root, bytes) or len(self.root) != ROOT_SIZE:
            raise CheckpointError(f"root must be {ROOT_SIZE} bytes")

    def body(self) -> bytes:
        root_b64 = base64.b64encode(self.root).decode("ascii")
        return f"{self.origin}\n{self.size}\n{root_b64}\n".encode("utf-8")

    @classmethod
    def from_body(cls, body: str) -> Checkpoint:
        """Parse a checkpoint body; raise CheckpointError naming the bad part."""
        if not isinstance(body, str):
            raise CheckpointError("malformed body: not text")
        if not body.endswith("\n"):
            raise CheckpointError("malformed body: does not end with a newline")
        lines = body[:-1].split("\n")
        if len(lines) != 3:
            raise CheckpointError(
                f"malformed body: expected 3 lines (origin, size, root), found {len(lines)}"
            )
        origin, size_text, root_text = lines
        if origin == "":
            raise CheckpointError("malformed body: empty origin line")
        if _has_control(origin):
            raise CheckpointError("malformed body: origin contains a control character")
        if not _SIZE_RE.match(size_text):
            raise CheckpointError(
                f"malformed body: size {size_text!r} is not a canonical decimal number"
            )
        size = int(size_text)
        if size > _MAX_SIZE:
            raise CheckpointError("malformed body: size is outside the uint64 range")
        root = _b64decode_canonical(root_text)
        if root is None:
            raise CheckpointError("malformed body: root is not canonical base64")
        if len(root) != ROOT_SIZE:
            raise CheckpointError(
                f"malformed body: root is {len(root)} bytes, expected {ROOT_SIZE}"
            )
        return cls(origin, size, root)


def split_note(note: str) -> tuple[str, list[tuple[str, bytes]]]:
    """Split a signed note into its text and (key name, signature blob) pairs.

    Nothing is verified here beyond the shape. Each blob is the decoded
    base64 of a signature line: the 4-byte key id followed by the signature.
    """
    if not isinstance(note, str):
        raise CheckpointError("malformed note: not text")
    try:
        note.encode("utf-8")
    except UnicodeEncodeError:
        raise CheckpointError("malformed note: not valid UTF-8 text") from None
    if any((ord(c) < 0x20 and c != "\n") or ord(c) == 0x7F for c in note):
        raise CheckpointError("malformed note: contains a control character")
    if not note.endswith("\n"):
        raise CheckpointError("malformed note: does not end with a newline")
    # The last blank line separates text from signatures; signature lines can
    # never contain one, so this split is unambiguous.
    cut = note.rfind("\n\n")
    if cut < 0:
        raise CheckpointError("malformed note: no blank line before the signatures")
    text = note[: cut + 1]
    sig_lines = note[cut + 2 : -1].split("\n")
    if sig_lines == [""]:
        raise CheckpointError("malformed note: no signature lines")
    if len(sig_lines) > MAX_SIGNATURES:
        raise CheckpointError(f"malformed note: more than {MAX_SIGNATURES} signatures")
    sigs: list[tuple[str, bytes]] = []
    for n, line in enumerate(sig_lines, 1):
        if not line.startswith(_SIG_PREFIX):
            raise CheckpointError(f"malformed note: signature line {n} does not start with an em dash")
        parts = line[len(_SIG_PREFIX) :].split(" ")
        if len(parts) != 2:
            raise CheckpointError(f"malformed note: signature line {n} is not '<name> <signature>'")
        name, blob_text = parts
        if not _valid_key_name(name):
            raise CheckpointError(f"malformed note: signature line {n} has an invalid key name")
        blob = _b64decode_canonical(blob_text)
        if blob is None:
            raise CheckpointError(f"malformed note: signature line {n} is not canonical base64")
        if len(blob) <= KEY_ID_SIZE:
            raise CheckpointError(f"malformed note: signature line {n} is too short")
        sigs.append((name, blob))
    return text, sigs


def parse_unverified(note: str) -> Checkpoint:
    """Read the checkpoint out of a signed note WITHOUT checking any signature.

    Only for reporting (e.g. naming a checkpoint's size next to the reason its
    signature failed); never trust the result.
    """
    text, _ = split_note(note)
    return Checkpoint.from_body(text)


def _key_id(name: str, raw_public_key: bytes) -> bytes:
    return hashlib.sha256(
        name.encode("utf-8") + b"\n" + _ALG_ED25519 + raw_public_key
    ).digest()[:KEY_ID_SIZE]


def public_key_raw(private_key: Ed25519PrivateKey) -> bytes:
    """The 32-byte raw Ed25519 public key of a private key."""
    return private_key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )


def load_private_key(raw32: bytes) -> Ed25519PrivateKey:
    """An Ed25519 private key from its 32-byte raw seed."""
    if not isinstance(raw32, (bytes, bytearray)) or len(raw32) != 32:
        raise ValueError("an Ed25519 private key is 32 raw bytes")
    return Ed25519PrivateKey.from_private_bytes(bytes(raw32))


def private_key_raw(private_key: Ed25519PrivateKey) -> bytes:
    """The 32-byte raw seed of an Ed25519 private key (inverse of load_private_key)."""
    return private_key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )


def format_verifier_key(name: str, public_key: bytes) -> str:
    """The signed-note verifier key string: ``name+hex(key id)+base64(0x01 || key)``."""
    if not _valid_key_name(name):
        raise ValueError("invalid key name")
    if len(public_key) != 32:
        raise ValueError("an Ed25519 public key is 32 raw bytes")
    key_b64 = base64.b64encode(_ALG_ED25519 + bytes(public_key)).decode("ascii")
    return f"{name}+{_key_id(name, bytes(public_key)).hex()}+{key_b64}"


class NoteSigner:
    def __init__(self, name: str, private_key: Ed25519PrivateKey):
        if not _valid_key_name(name):
            raise ValueError("key name must be non-empty without spaces, '+' or control characters")
        if not isinstance(private_key, Ed25519PrivateKey):
            raise TypeError("private_key must be an Ed25519PrivateKey")
        self.name = name
        self._key = private_key
        self.public_key = public_key_raw(private_key)
        self.key_id = _key_id(name, self.public_key)

    def sign_text(self, text: str) -> str:
        """Sign arbitrary note text (non-empty, ending in a newline)."""
        if not isinstance(text, str) or not text.endswith("\n"):
            raise ValueError("note text must be a string ending in a newline")
        if any((ord(c) < 0x20 and c != "\n") or ord(c) == 0x7F for c in text):
            raise ValueError("note text must not contain control characters")
        signature = self._key.sign(text.encode("utf-8"))
        blob = base64.b64encode(self.key_id + signature).decode("ascii")
        return f"{text}\n{_SIG_PREFIX}{self.name} {blob}\n"

    def sign(self, cp: Checkpoint) -> str:
        return self.sign_text(cp.body().decode("utf-8"))


class NoteVerifier:
    def __init__(self, name: str, public_key_raw: bytes):
        if not _valid_key_name(name):
            raise ValueError("key name must be non-empty without spaces, '+' or control characters")
        if not isinstance(public_key_raw, (bytes, bytearray)) or len(public_key_raw) != 32:
            raise ValueError("an Ed25519 public key is 32 raw bytes")
        self.name = name
        self.public_key = bytes(public_key_raw)
        self._key = Ed25519PublicKey.from_public_bytes(self.public_key)
        self.key_id = _key_id(name, self.public_key)

    @classmethod
    def from_verifier_key(cls, vkey: str) -> NoteVerifier:
        """Build a verifier from a ``name+keyid+base64key`` string, checking the key id."""
        parts = vkey.split("+")
        if len(parts) != 3:
            raise ValueError("verifier key must be name+keyid+key")
        name, id_hex, key_b64 = parts
        raw = _b64decode_canonical(key_b64)
        if raw is None or len(raw) != 33 or raw[:1] != _ALG_ED25519:
            raise ValueError("verifier key does not hold an Ed25519 public key")
        verifier = cls(name, raw[1:])
        if verifier.key_id.hex() != id_hex:
            raise ValueError("verifier key id does not match its name and key")
        return verifier

    def _check_signatures(self, text: str, sigs: list[tuple[str, bytes]]) -> None:
        mine = [blob for name, blob in sigs if name == self.name and blob[:KEY_ID_SIZE] == self.key_id]
        if not mine:
            raise CheckpointError("no signature line by this key")
        message = text.encode("utf-8")
        # A duplicate line by the same key must be valid too; a forged extra
        # line is never silently skipped.
        for blob in mine:
            signature = blob[KEY_ID_SIZE:]
            if len(signature) != SIGNATURE_SIZE:
                raise CheckpointError("bad signature: wrong length")
            try:
                self._key.verify(signature, message)
            except InvalidSignature:
                raise CheckpointError("bad signature") from None

    def verify_text(self, note: str) -> str:
        """Verify this key's signature on any signed note and return the signed text."""
        text, sigs = split_note(note)
        self._check_signatures(text, sigs)
        return text

    def verify(self, note: str) -> Checkpoint:
        """Verify a signed checkpoint and return it; raise CheckpointError naming the problem."""
        text, sigs = split_note(note)
        # The body is parsed first so that a malformed field is reported as
        # such rather than as the signature failure it also causes.
        cp = Checkpoint.from_body(text)
        self._check_signatures(text, sigs)
        return cp
