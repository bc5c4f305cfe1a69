"""Tests for retention.ledger: entry encoding, export building and offline verification."""

from __future__ import annotations

import base64
import json
import random

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from retention.checkpoint import Checkpoint, NoteSigner, load_private_key
from retention.ledger import (
    EXPORT_FORMAT,
    LedgerEntry,
    VerifyReport,
    build_export,
    entry_leaf_bytes,
    verify_export,
)
from retention.merkle import (
    MerkleTree,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    verify_consistency,
    verify_inclusion,
)

ORIGIN = "siteguard.example/ledger/site-7"
KEY_NAME = "siteguard.example/ledger"
SIGNER = NoteSigner(KEY_NAME, load_private_key(bytes(range(1, 33))))
PUB = SIGNER.public_key


def make_entries(n: int) -> list[LedgerEntry]:
    kinds = ["door.open", "camera.motion", "badge.denied"]
    return [
        LedgerEntry(
            index=i,
            ts=f"2026-11-25T14:{i % 60:02d}:23.{i:06d}Z",
            kind=kinds[i % 3],
            data={"door": f"D{i}", "who": "J\u00f6rg \u2603", "n": i, "ok": i % 2 == 0, "tags": ["a", None]},
        )
        for i in range(n)
    ]


def sign_sizes(entries: list[LedgerEntry], sizes: list[int], signer: NoteSigner = SIGNER, origin: str = ORIGIN):
    tree = MerkleTree([e.leaf_hash() for e in entries])
    return [signer.sign(Checkpoint(origin, s, tree.root(s))) for s in sizes]


ENTRIES = make_entries(5)
CHECKPOINTS = sign_sizes(ENTRIES, [2, 4])
GOOD = build_export(ENTRIES, CHECKPOINTS, ORIGIN, KEY_NAME, PUB)


def doc_of(raw: bytes) -> dict:
    return json.loads(raw)


def encode(doc: dict) -> bytes:
    # Same encoding as the exporter, so edits below are not caught merely for
    # being non-canonical.
    return (json.dumps(doc, indent=1, sort_keys=True, ensure_ascii=False) + "\n").encode()


def problems_of(raw: bytes, key: bytes | None = PUB) -> list[str]:
    report = verify_export(raw, key)
    assert not report.ok
    assert report.problems
    return report.problems


def has(problems: list[str], text: str) -> bool:
    return any(text in p for p in problems)


# --- entry encoding ----------------------------------------------------------------


def test_entry_leaf_bytes_canonical():
    raw = entry_leaf_bytes(3, "2026-11-25T14:46:23.123456Z", "door.open", {"z": 1, "a": "\u00e9"})
    assert raw == '{"data":{"a":"\u00e9","z":1},"index":3,"kind":"door.open","ts":"2026-11-25T14:46:23.123456Z"}'.encode()
    entry = LedgerEntry(3, "2026-11-25T14:46:23.123456Z", "door.open", {"z": 1, "a": "\u00e9"})
    assert entry.leaf_bytes() == raw
    assert entry.leaf_hash() == leaf_hash(raw)


@pytest.mark.parametrize(
    "args",
    [
        (-1, "2026-11-25T14:46:23Z", "k", {}),
        (True, "2026-11-25T14:46:23Z", "k", {}),
        (0, "2026-11-25T14:46:23+00:00", "k", {}),
        (0, "2026-11-25 14:46:23Z", "k", {}),
        (0, "2026-13-25T14:46:23Z", "k", {}),
        (0, "2026-11-25T14:46:23.Z", "k", {}),
        (0, "2026-11-25T14:46:23Z", 5, {}),
        (0, "2026-11-25T14:46:23Z", "k", []),
        (0, "2026-11-25T14:46:23Z", "k", {"x": float("nan")}),
        (0, "2026-11-25T14:46:23Z", "k", {"x": object()}),
    ],
)
def test_entry_leaf_bytes_rejects_bad_fields(args):
    with pytest.raises(ValueError):
        entry_leaf_bytes(*args)


# --- building ----------------------------------------------------------------------


def test_export_layout():
    doc = doc_of(GOOD)
    assert list(doc) == sorted(doc)
    assert GOOD.startswith(b'{\n "checkpoints": [\n  "')
    assert GOOD.endswith(b"}\n")
    assert doc["format"] == EXPORT_FORMAT
    assert doc["origin"] == ORIGIN
    assert doc["key_name"] == KEY_NAME
    assert doc["public_key"] == PUB.hex()
    assert doc["checkpoints"] == CHECKPOINTS
    hashes = [e.leaf_hash() for e in ENTRIES]
    for e, d in zip(ENTRIES, doc["entries"]):
        assert d["index"] == e.index and d["ts"] == e.ts and d["kind"] == e.kind and d["data"] == e.data
        assert d["leaf_hash"] == e.leaf_hash().hex()
        want = [p.hex() for p in inclusion_proof(hashes, e.index, 4)] if e.index < 4 else []
        assert d["proof"] == want
    assert doc["consistency"] == [
        {"from": 2, "to": 4, "proof": [p.hex() for p in consistency_proof(hashes, 2, 4)]}
    ]
    # Proofs in the file check out with the merkle module alone.
    root4 = MerkleTree(hashes).root(4)
    verify_inclusion(hashes[1], 1, 4, [bytes.fromhex(p) for p in doc["entries"][1]["proof"]], root4)
    verify_consistency(2, 4, MerkleTree(hashes).root(2), root4, [bytes.fromhex(p) for p in doc["consistency"][0]["proof"]])


def test_build_rejects_inconsistent_inputs():
    with pytest.raises(ValueError, match="numbered"):
        build_export([ENTRIES[0], ENTRIES[2]], sign_sizes(ENTRIES, [1]), ORIGIN, KEY_NAME, PUB)
    with pytest.raises(ValueError, match="at least one checkpoint"):
        build_export(ENTRIES, [], ORIGIN, KEY_NAME, PUB)
    with pytest.raises(ValueError, match="increasing"):
        build_export(ENTRIES, list(reversed(CHECKPOINTS)), ORIGIN, KEY_NAME, PUB)
    with pytest.raises(ValueError, match="increasing"):
        build_export(ENTRIES, [CHECKPOINTS[0], CHECKPOINTS[0]], ORIGIN, KEY_NAME, PUB)
    with pytest.raises(ValueError, match="origin"):
        build_export(ENTRIES, CHECKPOINTS, ORIGIN + "x", KEY_NAME, PUB)
    with pytest.raises(ValueError, match="more than"):
        build_export(ENTRIES[:3], CHECKPOINTS, ORIGIN, KEY_NAME, PUB)
    other_entries = make_entries(5)
    other_entries[1].data = {"changed": True}
    with pytest.raises(ValueError, match="root does not match"):
        build_export(other_entries, CHECKPOINTS, ORIGIN, KEY_NAME, PUB)
    other = NoteSigner(KEY_NAME, Ed25519PrivateKey.generate())
    with pytest.raises(ValueError, match="no signature line by this key"):
        build_export(ENTRIES, sign_sizes(ENTRIES, [4], other), ORIGIN, KEY_NAME, PUB)
    witness = NoteSigner("witness.example", Ed25519PrivateKey.generate())
    body = CHECKPOINTS[1].split("\n\n")[0] + "\n"
    cosigned = CHECKPOINTS[1] + witness.sign_text(body).split("\n\n")[1]
    with pytest.raises(ValueError, match="exactly one signature"):
        build_export(ENTRIES, [cosigned], ORIGIN, KEY_NAME, PUB)


# --- verifying a good export -------------------------------------------------------


def test_good_export_verifies():
    report = verify_export(GOOD, PUB)
    assert isinstance(report, VerifyReport)
    assert report.ok, report.problems
    assert report.problems == []
    assert report.entries == 5
    assert report.checkpoints == 2
    assert report.size == 4
    assert report.root_hex == MerkleTree([e.leaf_hash() for e in ENTRIES]).root(4).hex()
    assert report.warnings == ["entry 4: not yet covered by a checkpoint"]


def test_unpinned_key_is_a_warning():
    report = verify_export(GOOD)
    assert report.ok
    assert has(report.warnings, "not pinned")


def test_wrong_trusted_key_fails():
    other = Ed25519PrivateKey.generate()
    assert has(problems_of(GOOD, NoteSigner(KEY_NAME, other).public_key), "does not match the trusted key")


def test_fully_covered_export_has_no_coverage_warning():
    raw = build_export(ENTRIES, sign_sizes(ENTRIES, [1, 3, 5]), ORIGIN, KEY_NAME, PUB)
    report = verify_export(raw, PUB)
    assert report.ok and report.warnings == []
    assert report.size == 5


def test_uncovered_range_warning_names_the_range():
    entries = make_entries(9)
    raw = build_export(entries, sign_sizes(entries, [5]), ORIGIN, KEY_NAME, PUB)
    report = verify_export(raw, PUB)
    assert report.ok
    assert report.warnings == ["entries 5..8: not yet covered by a checkpoint"]


def test_larger_export_round_trip_is_fast():
    entries = make_entries(3000)
    raw = build_export(entries, sign_sizes(entries, [1, 100, 1024, 2999]), ORIGIN, KEY_NAME, PUB)
    report = verify_export(raw, PUB)
    assert report.ok, report.problems[:5]
    assert report.size == 2999


# --- tampering -----------------------------------------------------------------------


def test_every_single_byte_xor_fails():
    accepted = [pos for pos in range(len(GOOD)) if verify_export(_set(GOOD, pos, GOOD[pos] ^ 0x01), PUB).ok]
    assert accepted == []


def test_every_single_byte_replacement_fails():
    rng = random.Random(20261125)
    accepted = []
    for pos in range(len(GOOD)):
        value = rng.choice([b for b in range(256) if b != GOOD[pos]])
        if verify_export(_set(GOOD, pos, value), PUB).ok:
            accepted.append((pos, value))
    assert accepted == []


def test_every_single_byte_change_fails_even_without_pinned_key():
    # Without pinning, the checks rely on signatures matching the embedded key.
    for pos in range(0, len(GOOD), 3):
        assert not verify_export(_set(GOOD, pos, GOOD[pos] ^ 0x20)).ok


def _set(raw: bytes, pos: int, value: int) -> bytes:
    return raw[:pos] + bytes([value]) + raw[pos + 1 :]


def test_whitespace_change_is_caught_as_non_canonical():
    raw = GOOD.replace(b'\n "consistency"', b'\n\t"consistency"', 1)
    assert has(problems_of(raw), "not in canonical form")
    raw = GOOD.replace(b'"from": 2', b'"from": 2.0', 1)
    assert not verify_export(raw, PUB).ok


def test_edited_entry_with_recomputed_leaf_hash_is_named():
    doc = doc_of(GOOD)
    e = doc["entries"][1]
    e["data"]["door"] = "D-forged"
    e["leaf_hash"] = leaf_hash(entry_leaf_bytes(e["index"], e["ts"], e["kind"], e["data"])).hex()
    problems = problems_of(encode(doc))
    assert has(problems, "entry 1: inclusion proof does not lead to checkpoint 1 (size 4) root")
    assert has(problems, "checkpoint 0 (size 2): root does not match")
    assert has(problems, "checkpoint 1 (size 4): root does not match")
    assert not has(problems, "entry 1: leaf hash")
    assert not has(problems, "entry 0:") and not has(problems, "entry 2:")


def test_edited_entry_without_new_leaf_hash_is_named():
    doc = doc_of(GOOD)
    doc["entries"][3]["kind"] = "door.closed"
    problems = problems_of(encode(doc))
    assert has(problems, "entry 3: leaf hash does not match its content")
    assert has(problems, "entry 3: inclusion proof does not lead to checkpoint 1 (size 4) root")


def test_edited_uncovered_entry_is_caught_by_its_leaf_hash():
    doc = doc_of(GOOD)
    doc["entries"][4]["ts"] = "2026-11-25T15:00:00.000000Z"
    assert problems_of(encode(doc)) == ["entry 4: leaf hash does not match its content"]


def test_removed_entry():
    doc = doc_of(GOOD)
    del doc["entries"][2]
    problems = problems_of(encode(doc))
    assert has(problems, "entry 2: index is 3 but entries must be numbered 0..n-1")
    assert has(problems, "checkpoint 1 (size 4): root does not match")


def test_removed_last_entry_under_checkpoint():
    doc = doc_of(GOOD)
    del doc["entries"][3:]
    assert has(problems_of(encode(doc)), "checkpoint 1 (size 4): covers more entries than the 3 in the export")


def test_reordered_entries():
    doc = doc_of(GOOD)
    doc["entries"][1], doc["entries"][2] = doc["entries"][2], doc["entries"][1]
    problems = problems_of(encode(doc))
    assert has(problems, "entry 1: index is 2")
    assert has(problems, "entry 2: index is 1")


def test_reordered_and_renumbered_entries():
    doc = doc_of(GOOD)
    entries = doc["entries"]
    entries[1], entries[2] = entries[2], entries[1]
    for i, e in enumerate(entries):
        e["index"] = i
        e["leaf_hash"] = leaf_hash(entry_leaf_bytes(i, e["ts"], e["kind"], e["data"])).hex()
    problems = problems_of(encode(doc))
    assert has(problems, "entry 1: inclusion proof does not lead to checkpoint 1 (size 4) root")
    assert has(problems, "entry 2: inclusion proof does not lead to checkpoint 1 (size 4) root")
    assert has(problems, "checkpoint 1 (size 4): root does not match")


def test_checkpoint_forged_by_another_key():
    other = NoteSigner(KEY_NAME, Ed25519PrivateKey.generate())
    doc = doc_of(GOOD)
    doc["checkpoints"][1] = sign_sizes(ENTRIES, [4], other)[0]
    assert has(problems_of(encode(doc)), "checkpoint 1 (size 4): no signature line by this key")


def test_whole_export_re_signed_by_another_key():
    other = NoteSigner(KEY_NAME, Ed25519PrivateKey.generate())
    entries = make_entries(5)
    entries[0].data = {"forged": True}
    raw = build_export(entries, sign_sizes(entries, [2, 4], other), ORIGIN, KEY_NAME, other.public_key)
    assert verify_export(raw).ok  # self-consistent...
    assert problems_of(raw, PUB) == ["export: public key does not match the trusted key"]  # ...but not ours


def test_bad_checkpoint_signature_is_named():
    doc = doc_of(GOOD)
    note = doc["checkpoints"][0]
    body, line = note.split("\n\n")
    blob = bytearray(base64.b64decode(line.split(" ")[2]))
    blob[30] ^= 0x04
    doc["checkpoints"][0] = body + "\n\n\u2014 " + KEY_NAME + " " + base64.b64encode(bytes(blob)).decode() + "\n"
    assert has(problems_of(encode(doc)), "checkpoint 0 (size 2): bad signature")


def test_checkpoint_with_other_origin():
    doc = doc_of(GOOD)
    doc["checkpoints"][0] = sign_sizes(ENTRIES, [2], origin="elsewhere.example/log")[0]
    assert has(problems_of(encode(doc)), "checkpoint 0 (size 2): origin 'elsewhere.example/log' does not match")


def test_checkpoints_out_of_order():
    doc = doc_of(GOOD)
    doc["checkpoints"].reverse()
    problems = problems_of(encode(doc))
    assert has(problems, "checkpoint 1 (size 2): size is not larger than the previous checkpoint's (4)")


def test_cosigned_checkpoint_not_allowed_in_export():
    witness = NoteSigner("witness.example", Ed25519PrivateKey.generate())
    doc = doc_of(GOOD)
    body = doc["checkpoints"][1].split("\n\n")[0] + "\n"
    doc["checkpoints"][1] += witness.sign_text(body).split("\n\n")[1]
    assert has(problems_of(encode(doc)), "checkpoint 1 (size 4): carries signatures by other keys")


def test_tampered_consistency_proof():
    doc = doc_of(GOOD)
    doc["consistency"][0]["proof"][0] = "00" * 32
    assert has(problems_of(encode(doc)), "consistency 0->1: proof does not verify")


def test_consistency_with_wrong_sizes():
    doc = doc_of(GOOD)
    doc["consistency"][0]["from"] = 1
    assert has(problems_of(encode(doc)), "consistency 0->1: sizes 1->4 do not match the checkpoints (2->4)")


def test_missing_consistency_proof():
    doc = doc_of(GOOD)
    doc["consistency"] = []
    assert has(problems_of(encode(doc)), "consistency: expected 1 proof(s)")


def test_proof_on_uncovered_entry():
    doc = doc_of(GOOD)
    doc["entries"][4]["proof"] = doc["entries"][3]["proof"]
    assert has(problems_of(encode(doc)), "entry 4: carries a proof although no checkpoint covers it")


def test_truncated_inclusion_proof():
    doc = doc_of(GOOD)
    doc["entries"][0]["proof"].pop()
    assert has(problems_of(encode(doc)), "entry 0: inclusion proof does not lead to checkpoint 1 (size 4) root")


def test_no_checkpoints():
    doc = doc_of(GOOD)
    doc["checkpoints"] = []
    doc["consistency"] = []
    for e in doc["entries"]:
        e["proof"] = []
    assert has(problems_of(encode(doc)), "contains no checkpoint")


# --- malformed input ---------------------------------------------------------------


def test_truncated_file():
    for cut in (0, 1, 10, len(GOOD) // 2, len(GOOD) - 3):
        problems = problems_of(GOOD[:cut])
        assert problems[0].startswith("export: invalid JSON at line "), problems
    assert has(problems_of(GOOD[: len(GOOD) // 2]), "column")


def test_trailing_garbage():
    assert has(problems_of(GOOD + b"{}"), "invalid JSON")
    assert has(problems_of(GOOD + b"\n"), "not in canonical form")


def test_not_bytes_or_not_utf8():
    assert problems_of("{}") == ["export: input is not bytes"]  # type: ignore[arg-type]
    assert has(problems_of(b'{"a": "\xff"}'), "not valid UTF-8 at byte 7")


def test_duplicate_keys_rejected():
    raw = GOOD.replace(b'{\n "checkpoints"', b'{\n "format": "x",\n "checkpoints"', 1)
    assert has(problems_of(raw), "duplicate key 'format'")


def test_nan_rejected():
    doc = doc_of(GOOD)
    raw = encode(doc).replace(b'"n": 0', b'"n": NaN', 1)
    assert has(problems_of(raw), "NaN")


@pytest.mark.parametrize(
    "edit,message",
    [
        (lambda d: d.pop("origin"), "export: missing field(s) origin"),
        (lambda d: d.update(extra=1), "export: unknown field(s) 'extra'"),
        (lambda d: d.update(format="siteguard-ledger-export/2"), "unsupported format"),
        (lambda d: d.update(public_key=d["public_key"].upper()), "public_key is not 64 lowercase hex digits"),
        (lambda d: d.update(public_key=d["public_key"][:-2]), "public_key is not 64 lowercase hex digits"),
        (lambda d: d.update(entries={}), "entries is not a list"),
        (lambda d: d["entries"][0].pop("ts"), "entry 0: missing field(s) ts"),
        (lambda d: d["entries"][0].update(note="x"), "entry 0: unknown field(s) 'note'"),
        (lambda d: d["entries"][1].update(index=True), "entry 1: index is not an integer"),
        (lambda d: d["entries"][1].update(index=1.0), "entry 1: index is not an integer"),
        (lambda d: d["entries"][1].update(ts="yesterday"), "entry 1: invalid content"),
        (lambda d: d["entries"][1].update(data=[1]), "entry 1: invalid content"),
        (
            lambda d: d["entries"][1].update(leaf_hash=d["entries"][1]["leaf_hash"].upper()),
            "entry 1: leaf_hash is not 64 lowercase hex digits",
        ),
        (
            lambda d: d["entries"][1]["proof"].__setitem__(0, d["entries"][1]["proof"][0].upper()),
            "entry 1: proof is not a list",
        ),
        (lambda d: d["entries"][1].update(proof="00" * 32), "entry 1: proof is not a list"),
        (lambda d: d["checkpoints"].__setitem__(0, 5), "checkpoint 0: malformed note: not text"),
        (lambda d: d["consistency"][0].update(to=True), "consistency 0->1: from/to are not integers"),
        (lambda d: d["consistency"][0].pop("proof"), "consistency 0->1: missing field(s) proof"),
        (lambda d: d.update(key_name="bad name"), "cannot form a note verifier"),
    ],
)
def test_schema_violations_are_named(edit, message):
    doc = doc_of(GOOD)
    edit(doc)
    assert has(problems_of(encode(doc)), message)


def test_top_level_not_object():
    assert problems_of(b"[]\n") == ["export: top level is not a JSON object"]


def test_deeply_nested_input_does_not_raise():
    raw = b"[" * 100_000 + b"]" * 100_000
    assert not verify_export(raw).ok


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_arbitrary_bytes_never_raise(raw):
    report = verify_export(raw, PUB)
    assert not report.ok and report.problems


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_random_insertions_and_deletions_fail(data):
    pos = data.draw(st.integers(min_value=0, max_value=len(GOOD) - 1))
    if data.draw(st.booleans()):
        raw = GOOD[:pos] + GOOD[pos + 1 :]
    else:
        raw = GOOD[:pos] + bytes([data.draw(st.integers(0, 255))]) + GOOD[pos:]
    assert not verify_export(raw, PUB).ok
