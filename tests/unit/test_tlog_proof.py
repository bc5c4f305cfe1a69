"""C2SP tlog-proofs: one text form, and a proof holds only for its own leaf, index and key."""
from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from retention.checkpoint import Checkpoint, NoteSigner, NoteVerifier, public_key_raw
from retention.merkle import MerkleTree, leaf_hash
from retention.tlog_proof import HEADER, TlogProof, TlogProofError, parse, verify

KEY = Ed25519PrivateKey.generate()
LEAVES = [leaf_hash(f"entry {i}".encode()) for i in range(7)]
TREE = MerkleTree(LEAVES)
NOTE = NoteSigner("log.test", KEY).sign(Checkpoint("log.test", 7, TREE.root()))
VERIFIER = NoteVerifier("log.test", public_key_raw(KEY))


def proof(i: int) -> TlogProof:
    return TlogProof(i, tuple(TREE.inclusion_proof(i, 7)), NOTE)


def test_the_text_form_follows_c2sp_and_round_trips():
    text = proof(3).encode()
    lines = text.split("\n")
    assert lines[0] == HEADER and lines[1] == "index 3" and len(lines[2]) == 44
    assert text.endswith("\n\n" + NOTE)
    assert parse(text) == proof(3) and parse(text).encode() == text
    with_extra = TlogProof(3, proof(3).hashes, NOTE, extra=b"app data")
    assert with_extra.encode().split("\n")[1] == "extra YXBwIGRhdGE="
    assert parse(with_extra.encode()) == with_extra


@pytest.mark.parametrize("i", range(7))
def test_each_leaf_verifies_at_its_own_index(i):
    assert verify(proof(i), LEAVES[i], VERIFIER, "log.test").size == 7


def test_wrong_leaf_index_key_or_origin_fails():
    with pytest.raises(TlogProofError, match="inclusion"):
        verify(proof(2), LEAVES[3], VERIFIER)
    moved = TlogProof(3, proof(2).hashes, NOTE)
    with pytest.raises(TlogProofError, match="inclusion"):
        verify(moved, LEAVES[2], VERIFIER)
    other = NoteVerifier("log.test", public_key_raw(Ed25519PrivateKey.generate()))
    with pytest.raises(TlogProofError, match="checkpoint"):
        verify(proof(2), LEAVES[2], other)
    with pytest.raises(TlogProofError, match="not 'elsewhere'"):
        verify(proof(2), LEAVES[2], VERIFIER, "elsewhere")


@pytest.mark.parametrize("text", [
    "", "c2sp.org/tlog-proof@v2\nindex 0\n\n" + NOTE, HEADER + "\nindex 01\n\n" + NOTE,
    HEADER + "\nindex -1\n\n" + NOTE, HEADER + "\nindex 1\nnot base64\n\n" + NOTE,
    HEADER + "\nindex 1\nAAAA\n\n" + NOTE, HEADER + "\nindex 1\n", HEADER + "\nextra !!\nindex 1\n\n" + NOTE,
    HEADER + "\n\n" + NOTE])
def test_malformed_text_is_refused(text):
    with pytest.raises(TlogProofError):
        parse(text)
