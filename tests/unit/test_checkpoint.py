"""Tests for retention.checkpoint (C2SP tlog-checkpoint bodies in C2SP signed notes).

External known answers: the signed-note example from the documentation of
golang.org/x/mod/sumdb/note (key "PeterNeumann", an Ed25519 key whose seed is
published there) and the verifier-key example from the C2SP signed-note
specification. Both are used as data only.
"""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from retention.checkpoint import (
    Checkpoint,
    CheckpointError,
    NoteSigner,
    NoteVerifier,
    format_verifier_key,
    load_private_key,
    parse_unverified,
    private_key_raw,
    public_key_raw,
    split_note,
)

GO_SKEY_B64 = "AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"  # 0x01 || Ed25519 seed
GO_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
GO_NOTE = (
    GO_TEXT
    + "\n\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
)

SPEC_VKEY = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
SPEC_NOTE = (
    "This is an example message.\n\n"
    "\u2014 example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n"
)

ORIGIN = "siteguard.example/ledger/site-7"
NAME = "siteguard.example/ledger"
SEED = bytes(range(32))
ROOT = bytes.fromhex("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328")


@pytest.fixture(scope="module")
def signer() -> NoteSigner:
    return NoteSigner(NAME, load_private_key(SEED))


@pytest.fixture(scope="module")
def verifier(signer) -> NoteVerifier:
    return NoteVerifier(NAME, signer.public_key)


@pytest.fixture(scope="module")
def note(signer) -> str:
    return signer.sign(Checkpoint(ORIGIN, 8, ROOT))


def resign_body(signer: NoteSigner, body: str) -> str:
    """A correctly signed note over an arbitrary (possibly malformed) body."""
    return signer.sign_text(body)


# --- known answers ----------------------------------------------------------------


def test_go_sumdb_note_known_answer():
    raw = base64.b64decode(GO_SKEY_B64)
    assert raw[0] == 1
    signer = NoteSigner("PeterNeumann", load_private_key(raw[1:]))
    assert signer.key_id.hex() == "c74f20a3"
    assert format_verifier_key("PeterNeumann", signer.public_key) == GO_VKEY
    # Ed25519 is deterministic, so the whole note must match byte for byte.
    assert signer.sign_text(GO_TEXT) == GO_NOTE
    verifier = NoteVerifier.from_verifier_key(GO_VKEY)
    assert verifier.verify_text(GO_NOTE) == GO_TEXT


def test_c2sp_signed_note_spec_example():
    verifier = NoteVerifier.from_verifier_key(SPEC_VKEY)
    assert verifier.key_id.hex() == "530d903a"
    assert verifier.verify_text(SPEC_NOTE) == "This is an example message.\n"
    with pytest.raises(CheckpointError, match="bad signature"):
        verifier.verify_text(SPEC_NOTE.replace("example message", "example massage"))


def test_from_verifier_key_checks_key_id():
    with pytest.raises(ValueError, match="key id"):
        NoteVerifier.from_verifier_key(SPEC_VKEY.replace("530d903a", "530d903b"))


# --- format -------------------------------------------------------------------------


def test_body_format():
    cp = Checkpoint(ORIGIN, 8, ROOT)
    assert cp.body() == (ORIGIN + "\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n").encode()
    assert Checkpoint.from_body(cp.body().decode()) == cp


def test_key_id_definition(signer):
    import hashlib

    want = hashlib.sha256(NAME.encode() + b"\n\x01" + signer.public_key).digest()[:4]
    assert signer.key_id == want
    assert len(signer.key_id) == 4


def test_signed_note_layout(signer, note):
    body = Checkpoint(ORIGIN, 8, ROOT).body().decode()
    assert note.startswith(body + "\n\u2014 " + NAME + " ")
    assert note.endswith("\n")
    blob = base64.b64decode(note[len(body) + 1 :].split(" ")[2])
    assert blob[:4] == signer.key_id
    load_private_key(SEED).public_key().verify(blob[4:], body.encode())
    assert len(blob) == 68


def test_round_trip(verifier, note):
    assert verifier.verify(note) == Checkpoint(ORIGIN, 8, ROOT)
    assert parse_unverified(note) == Checkpoint(ORIGIN, 8, ROOT)


def test_key_helpers():
    key = Ed25519PrivateKey.generate()
    assert len(public_key_raw(key)) == 32
    again = load_private_key(private_key_raw(key))
    assert public_key_raw(again) == public_key_raw(key)
    with pytest.raises(ValueError):
        load_private_key(b"\x00" * 31)


def test_size_zero_and_empty_tree(signer, verifier):
    empty = bytes.fromhex("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    assert verifier.verify(signer.sign(Checkpoint(ORIGIN, 0, empty))).size == 0


def test_invalid_names_rejected():
    key = load_private_key(SEED)
    for bad in ["", "has space", "plus+sign", "tab\tname", "new\nline"]:
        with pytest.raises(ValueError):
            NoteSigner(bad, key)
        with pytest.raises(ValueError):
            NoteVerifier(bad, public_key_raw(key))


def test_checkpoint_constructor_validation():
    with pytest.raises(CheckpointError):
        Checkpoint("", 1, ROOT)
    with pytest.raises(CheckpointError):
        Checkpoint(ORIGIN, -1, ROOT)
    with pytest.raises(CheckpointError):
        Checkpoint(ORIGIN, True, ROOT)
    with pytest.raises(CheckpointError):
        Checkpoint(ORIGIN, 1, ROOT[:31])
    with pytest.raises(CheckpointError):
        Checkpoint("bad\norigin", 1, ROOT)


# --- tampering each part -----------------------------------------------------------

ROOT_B64 = base64.b64encode(ROOT).decode()
URLSAFE_ROOT = base64.urlsafe_b64encode(bytes([0xFB]) * 32).decode()  # uses - and _


@pytest.mark.parametrize(
    "body,reason",
    [
        (f"{ORIGIN}\n08\n{ROOT_B64}\n", "canonical decimal"),
        (f"{ORIGIN}\n+8\n{ROOT_B64}\n", "canonical decimal"),
        (f"{ORIGIN}\n-8\n{ROOT_B64}\n", "canonical decimal"),
        (f"{ORIGIN}\n 8\n{ROOT_B64}\n", "canonical decimal"),
        (f"{ORIGIN}\n8 \n{ROOT_B64}\n", "canonical decimal"),
        (f"{ORIGIN}\n\n{ROOT_B64}\n", "canonical decimal"),
        (f"{ORIGIN}\n0x8\n{ROOT_B64}\n", "canonical decimal"),
        (f"{ORIGIN}\n\u0668\n{ROOT_B64}\n", "canonical decimal"),  # Arabic-Indic digit eight
        (f"{ORIGIN}\n{2**64}\n{ROOT_B64}\n", "uint64"),
        (f"{ORIGIN}\n8\n{ROOT_B64[:-1]}\n", "base64"),
        (f"{ORIGIN}\n8\n{ROOT_B64.rstrip('=')}\n", "base64"),
        (f"{ORIGIN}\n8\n{ROOT_B64[:-2]}h=\n", "base64"),  # unused low bits set
        (f"{ORIGIN}\n8\n{base64.b64encode(ROOT[:31]).decode()}\n", "31 bytes"),
        (f"{ORIGIN}\n8\n{base64.b64encode(ROOT + b'x').decode()}\n", "33 bytes"),
        (f"{ORIGIN}\n8\n{URLSAFE_ROOT}\n", "base64"),
        (f"{ORIGIN}\n8\n{ROOT_B64}\nextension line\n", "expected 3 lines"),
        (f"{ORIGIN}\n8\n", "expected 3 lines"),
        (f"\n8\n{ROOT_B64}\n", "empty origin"),
    ],
)
def test_malformed_bodies_rejected_even_when_signed(signer, verifier, body, reason):
    note = resign_body(signer, body)
    with pytest.raises(CheckpointError, match=reason):
        verifier.verify(note)


def test_body_parser_needs_final_newline():
    with pytest.raises(CheckpointError, match="newline"):
        Checkpoint.from_body(f"{ORIGIN}\n8\n{ROOT_B64}")


def _replace_once(note: str, old: str, new: str) -> str:
    assert note.count(old) >= 1
    return note.replace(old, new, 1)


def test_tampered_origin(verifier, note):
    with pytest.raises(CheckpointError, match="bad signature"):
        verifier.verify(_replace_once(note, ORIGIN, ORIGIN + "x"))


def test_tampered_size(verifier, note):
    with pytest.raises(CheckpointError, match="bad signature"):
        verifier.verify(_replace_once(note, "\n8\n", "\n9\n"))
    with pytest.raises(CheckpointError, match="canonical decimal"):
        verifier.verify(_replace_once(note, "\n8\n", "\n008\n"))


def test_tampered_root(verifier, note):
    other = base64.b64encode(bytes(32)).decode()
    with pytest.raises(CheckpointError, match="bad signature"):
        verifier.verify(_replace_once(note, ROOT_B64, other))


def test_tampered_signature(verifier, note):
    body, sig_line = note.split("\n\n")
    blob = base64.b64decode(sig_line.split(" ")[2])
    for pos in (4, 20, 67):
        bad = blob[:pos] + bytes([blob[pos] ^ 1]) + blob[pos + 1 :]
        forged = body + "\n\n\u2014 " + NAME + " " + base64.b64encode(bad).decode() + "\n"
        with pytest.raises(CheckpointError, match="bad signature"):
            verifier.verify(forged)


def test_tampered_key_id(verifier, note):
    body, sig_line = note.split("\n\n")
    blob = base64.b64decode(sig_line.split(" ")[2])
    bad = bytes([blob[0] ^ 1]) + blob[1:]
    forged = body + "\n\n\u2014 " + NAME + " " + base64.b64encode(bad).decode() + "\n"
    with pytest.raises(CheckpointError, match="no signature line by this key"):
        verifier.verify(forged)


def test_tampered_signer_name(verifier, note):
    with pytest.raises(CheckpointError, match="no signature line by this key"):
        verifier.verify(note.replace("\u2014 " + NAME, "\u2014 " + NAME + "2"))


def test_signature_by_another_key(verifier):
    other = NoteSigner(NAME, Ed25519PrivateKey.generate())
    with pytest.raises(CheckpointError, match="no signature line by this key"):
        verifier.verify(other.sign(Checkpoint(ORIGIN, 8, ROOT)))


def test_signature_with_wrong_length(signer, verifier, note):
    body = note.split("\n\n")[0]
    blob = signer.key_id + b"\x00" * 63
    forged = body + "\n\n\u2014 " + NAME + " " + base64.b64encode(blob).decode() + "\n"
    with pytest.raises(CheckpointError, match="wrong length"):
        verifier.verify(forged)


def test_non_canonical_signature_base64(verifier, note):
    body, sig_line = note.split("\n\n")
    b64 = sig_line.split(" ")[2].rstrip("\n")
    # 68 bytes leave two unused bits in the last base64 character.
    last = b64[-2]
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    tweaked = b64[:-2] + alphabet[alphabet.index(last) ^ 1] + "="
    assert base64.b64decode(tweaked) == base64.b64decode(b64)
    forged = body + "\n\n\u2014 " + NAME + " " + tweaked + "\n"
    with pytest.raises(CheckpointError, match="canonical base64"):
        verifier.verify(forged)


@pytest.mark.parametrize(
    "mutate,reason",
    [
        (lambda n: n + "trailing garbage", "newline"),
        (lambda n: n + "garbage\n", "em dash"),
        (lambda n: n + "\n", "no signature lines"),
        (lambda n: n[:-1], "newline"),
        (lambda n: n.replace("\n\n", "\n", 1), "blank line"),
        (lambda n: n.replace("\u2014", "-", 1), "em dash"),
        (lambda n: n.replace("\u2014 ", "\u2014  ", 1), "name"),
        (lambda n: n.split("\n\n")[0] + "\n\n", "no signature lines"),
        (lambda n: n.replace("\n", "\r\n"), "control character"),
        (lambda n: n.replace("\n\n", "\n\x00\n", 1), "control character"),
        (lambda n: n[:-2] + "\n", "base64"),
        (lambda n: n.replace("=\n", "= \n"), "signature line"),
        (lambda n: n.replace(ORIGIN, ORIGIN + "\ud800", 1), "UTF-8"),
    ],
)
def test_malformed_notes(verifier, note, mutate, reason):
    with pytest.raises(CheckpointError, match=reason):
        verifier.verify(mutate(note))


def test_non_text_note(verifier, note):
    with pytest.raises(CheckpointError):
        verifier.verify(note.encode())


def test_cosigned_note_accepted_and_forged_duplicate_rejected(signer, verifier, note):
    witness = NoteSigner("witness.example", Ed25519PrivateKey.generate())
    body = note.split("\n\n")[0] + "\n"
    cosig_line = witness.sign_text(body).split("\n\n")[1]
    cosigned = note + cosig_line
    assert verifier.verify(cosigned) == Checkpoint(ORIGIN, 8, ROOT)
    text, sigs = split_note(cosigned)
    assert text == body and [n for n, _ in sigs] == [NAME, "witness.example"]
    # A second line claiming this key must verify as well.
    own_line = note.split("\n\n")[1]
    blob = base64.b64decode(own_line.split(" ")[2])
    bad = blob[:10] + bytes([blob[10] ^ 1]) + blob[11:]
    dup = note + "\u2014 " + NAME + " " + base64.b64encode(bad).decode() + "\n"
    with pytest.raises(CheckpointError, match="bad signature"):
        verifier.verify(dup)


def test_every_single_byte_change_is_rejected(verifier, note):
    raw = note.encode("utf-8")
    for pos in range(len(raw)):
        for mask in (0x01, 0x20, 0x80):
            changed = raw[:pos] + bytes([raw[pos] ^ mask]) + raw[pos + 1 :]
            try:
                text = changed.decode("utf-8")
            except UnicodeDecodeError:
                continue
            with pytest.raises(CheckpointError):
                verifier.verify(text)
