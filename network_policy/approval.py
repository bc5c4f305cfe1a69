"""Customer approvals of network changes: what is signed, and the edge's check before any line runs.

A customer signs, with Ed25519, the SHA-256 digest of a canonical document naming the change, the
customer, the exact command lines per device and an expiry. The edge recomputes the digest from
the commands it is about to send, so an altered line, a device added or removed, another change's
approval, a lapsed one or one from a customer the change does not concern all fail here,
before a connection to any switch is opened.
"""
from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

DOMAIN = "siteguard-network-change-v1"  # binds a signature to this use only


class ApprovalError(Exception):
    """Why a change must not run; ``reason`` is a short stable code for alarms and tests."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason, self.detail = reason, detail


@dataclass(frozen=True)
class Approval:
    change_id: str
    customer: str
    expires: str  # RFC 3339 UTC, e.g. 2026-11-26T10:00:00Z
    signature: str  # base64 Ed25519 signature over digest()


def canonical(change_id: str, customer: str, commands: Mapping[str, list[str]], expires: str) -> bytes:
    doc = {"domain": DOMAIN, "change": change_id, "customer": customer, "expires": expires,
           "devices": {d: list(commands[d]) for d in sorted(commands)}}
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def digest(change_id: str, customer: str, commands: Mapping[str, list[str]], expires: str) -> str:
    """Hex SHA-256 of the canonical document: what the customer page shows and signs."""
    return hashlib.sha256(canonical(change_id, customer, commands, expires)).hexdigest()


def sign(key: Ed25519PrivateKey, change_id: str, customer: str, commands: Mapping[str, list[str]],
         expires: str) -> Approval:
    sig = key.sign(bytes.fromhex(digest(change_id, customer, commands, expires)))
    return Approval(change_id, customer, expires, base64.b64encode(sig).decode())


def load_public_key(text: str) -> Ed25519PublicKey:
    """A raw 32-byte key in base64, or a PEM SubjectPublicKeyInfo."""
    text = text.strip()
    if text.startswith("-----BEGIN"):
        key = serialization.load_pem_public_key(text.encode())
        if not isinstance(key, Ed25519PublicKey):
            raise ValueError("not an Ed25519 public key")
        return key
    raw = base64.b64decode(text, validate=True)
    return Ed25519PublicKey.from_public_bytes(raw)


def public_key_text(key: Ed25519PublicKey) -> str:
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode()


def _parse_time(text: str) -> dt.datetime:
    value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        raise ValueError("expiry needs a time zone")
    return value


def verify_change(change_id: str, commands: Mapping[str, list[str]], customers_needed: set[str],
                  approvals: list[Approval], customer_keys: Mapping[str, str], now: dt.datetime,
                  used_changes: set[str] = frozenset()) -> None:
    """Raise ``ApprovalError`` unless every customer the change concerns approved exactly these
    commands, in time, with its registered key. ``used_changes``: ids already applied here."""
    if change_id in used_changes:
        raise ApprovalError("replayed", f"change {change_id} was already applied on this site")
    if not customers_needed:
        raise ApprovalError("no_customer", "the change touches no customer VLAN; nothing to approve")
    valid: set[str] = set()
    for a in approvals:
        if a.change_id != change_id:
            raise ApprovalError("wrong_change", f"an approval for change {a.change_id} came with change {change_id}")
        if a.customer not in customers_needed:
            raise ApprovalError("foreign_customer",
                                f"customer {a.customer} approved a change that does not concern it")
        key_text = customer_keys.get(a.customer)
        if not key_text:
            raise ApprovalError("no_key", f"customer {a.customer} has no registered approval key on this site")
        try:
            expires = _parse_time(a.expires)
        except ValueError as exc:
            raise ApprovalError("bad_approval", f"expiry {a.expires!r}: {exc}") from None
        if now >= expires:
            raise ApprovalError("expired", f"{a.customer}'s approval expired at {a.expires}")
        try:
            sig = base64.b64decode(a.signature, validate=True)
            load_public_key(key_text).verify(sig, bytes.fromhex(digest(change_id, a.customer, commands, a.expires)))
        except (InvalidSignature, binascii.Error, ValueError):
            raise ApprovalError("bad_signature",
                                f"{a.customer}'s signature does not match these commands") from None
        valid.add(a.customer)
    missing = customers_needed - valid
    if missing:
        raise ApprovalError("not_approved", f"waiting for {', '.join(sorted(missing))}")
