"""The export bundle checks offline: a good one verifies; any flipped byte, a changed label, a
removed version, a proof for another leaf or a wrong key fails, naming the file, line and
annotation."""
from __future__ import annotations

import io
import zipfile

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from annotation.export_bundle import (
    MANIFEST,
    manifest_text,
    verify_export_bundle,
    write_zip,
)
from annotation.export_formats import ExportItem
from retention.checkpoint import public_key_raw
from tests.unit.export_fixtures import bundle, chain, image_project

ITEMS, VERSIONS = image_project()
LABELS = ["car", "person"]
RAW, LOG = bundle("coco", ITEMS, VERSIONS, LABELS)
KEY = LOG.public_key


def members(raw: bytes = RAW) -> list[tuple[str, bytes]]:
    z = zipfile.ZipFile(io.BytesIO(raw))
    return [(i.filename, z.read(i)) for i in z.infolist()]


def rezip(ms: list[tuple[str, bytes]], fix_manifest: bool = True) -> bytes:
    """The bundle with changed members, rewritten as a well-formed zip; with ``fix_manifest``
    the manifest is recomputed too, as someone changing the bundle on purpose would."""
    if fix_manifest:
        ms = [m for m in ms if m[0] != MANIFEST]
        ms.append((MANIFEST, manifest_text(ms)))
    out = io.BytesIO()
    write_zip(out, ms)
    return out.getvalue()


def replace(name: str, fn, raw: bytes = RAW, fix_manifest: bool = True) -> bytes:
    return rezip([(n, fn(d) if n == name else d) for n, d in members(raw)], fix_manifest)


def problems(raw: bytes, key: bytes = KEY) -> list[str]:
    report = verify_export_bundle(raw, key)
    assert not report.ok
    return report.problems


@pytest.mark.parametrize("fmt", ["coco", "yolo", "jsonl"])
def test_a_good_bundle_verifies(fmt):
    raw, log = bundle(fmt, ITEMS, VERSIONS, LABELS)
    stages = []
    report = verify_export_bundle(raw, log.public_key, progress=stages.append)
    assert report.ok, report.problems
    assert report.counts["versions"] == 4 and report.counts["exported"] == 3 and report.counts["chains"] == 3
    assert report.checkpoint_size == 8 and report.format == fmt and report.project == 7
    assert len(stages) >= 5 and report.warnings == []


def test_a_speech_bundle_verifies():
    items = [ExportItem(5, "d" * 64, "calls/0001.wav", "audio/wav", duration=3.5)]
    versions = chain(3, 1, "d" * 64, "ann1", [{"segments": [{"start": 0, "end": 1, "text": "早", "speaker": None}]}], 1)
    raw, log = bundle("nemo", items, versions, [], project=3)
    assert verify_export_bundle(raw, log.public_key).ok


def test_without_a_trusted_key_it_warns():
    report = verify_export_bundle(RAW, None)
    assert report.ok and "no trusted key" in report.warnings[0]


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.data())
def test_any_flipped_byte_of_the_file_fails(data):
    at = data.draw(st.integers(0, len(RAW) - 1))
    bit = data.draw(st.integers(0, 7))
    flipped = bytearray(RAW)
    flipped[at] ^= 1 << bit
    assert problems(bytes(flipped))  # caught, or the zip is unreadable: either way it fails


MEMBER_NAMES = [n for n, _ in members()]


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.sampled_from(MEMBER_NAMES), st.data())
def test_any_flipped_byte_in_any_member_is_caught_by_name(name, data):
    size = len(dict(members())[name])
    at = data.draw(st.integers(0, size - 1))
    bit = data.draw(st.integers(0, 7))

    def flip(d: bytes) -> bytes:
        b = bytearray(d)
        b[at] ^= 1 << bit
        return bytes(b)

    found = problems(replace(name, flip, fix_manifest=False))
    assert any(name in p for p in found), found


# The members whose every byte is evidence or is rendered from it: changed on purpose, with the
# manifest recomputed, they are still caught. (Item metadata is not ledgered; see export_bundle.)
EVIDENCE = [n for n in MEMBER_NAMES if n not in (MANIFEST, "items.jsonl")]


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.sampled_from(EVIDENCE), st.data())
def test_a_changed_byte_in_the_evidence_is_caught_even_with_a_new_manifest(name, data):
    size = len(dict(members())[name])
    at = data.draw(st.integers(0, size - 1))
    bit = data.draw(st.integers(0, 7))

    def flip(d: bytes) -> bytes:
        b = bytearray(d)
        b[at] ^= 1 << bit
        return bytes(b)

    assert problems(replace(name, flip))


def test_a_changed_label_names_the_annotation():
    raw = replace("coco.json", lambda d: d.replace(b'"bbox": [\n    64', b'"bbox": [\n    65'))
    assert problems(raw) == [
        "coco.json annotations[0] (annotation 101): differs from the verified version's box"]


def test_a_changed_label_in_jsonl_names_the_line_and_annotation():
    raw, log = bundle("jsonl", ITEMS, VERSIONS, LABELS)
    raw = replace("labels.jsonl", lambda d: d.replace(b'"label":"person","w":30', b'"label":"car","w":30'), raw)
    found = problems(raw, log.public_key)
    assert found == ["labels.jsonl line 2 (item 2): differs from the labels rendered from the verified versions "
                     "(a label that no verified version holds, or one missing)"]


def test_a_changed_version_names_the_line_and_annotation():
    raw = replace("annotations.jsonl", lambda d: d.replace(b'"label":"car","w":10', b'"label":"van","w":10'))
    found = problems(raw)
    assert "annotations.jsonl line 1 (annotation 100): the version's hash does not match its content " \
           "(the version was changed)" in found
    # It no longer chains to the next version either, and so the chain is named too.
    assert any("task 11, annotator ann1" in p for p in found)


def test_a_removed_version_breaks_the_chain():
    def drop_line(d: bytes) -> bytes:
        return b"".join(x for x in d.splitlines(keepends=True) if b'"annotation":100,' not in x)
    ms = [(n, drop_line(d) if n == "annotations.jsonl" else d) for n, d in members() if n != "proofs/1.tlog-proof"]
    found = problems(rezip(ms))
    assert "annotations.jsonl: task 11, annotator ann1 (annotations 101): version 2 where 1 was expected" in found


def test_a_proof_for_another_leaf_is_named():
    other = dict(members())["proofs/3.tlog-proof"]
    found = problems(replace("proofs/1.tlog-proof", lambda d: other))
    assert found == ["proofs/1.tlog-proof (annotations.jsonl line 1 (annotation 100)): proves index 3, not 1"]


def test_another_leafs_proof_hashes_under_this_index_fail_inclusion():
    proof = dict(members())["proofs/1.tlog-proof"].replace(b"index 1\n", b"index 3\n")
    found = problems(replace("proofs/3.tlog-proof", lambda d: proof))
    assert found[0] == ("proofs/3.tlog-proof (annotations.jsonl line 2 (annotation 101)): inclusion: "
                        "inclusion proof does not lead to the expected root")
    # Annotation 101 is the newest of its chain: the labels it shows are no longer backed.
    assert found[1:] == ["coco.json annotations[0] (annotation 101): differs from the verified version's box"]


def test_a_wrong_key_is_named():
    other = Ed25519PrivateKey.generate()
    found = problems(RAW, key=public_key_raw(other))
    assert "export.json: the ledger key it names is not the trusted key" in found
    assert any(p.startswith("checkpoint.txt: does not verify with the trusted key") for p in found)


def test_a_bundle_signed_by_another_key_fails_with_the_sites_key():
    raw, _ = bundle("coco", ITEMS, VERSIONS, LABELS, key=Ed25519PrivateKey.generate())
    assert "export.json: the ledger key it names is not the trusted key" in problems(raw)


def test_a_damaged_member_is_still_checked_and_the_record_named():
    flipped = bytearray(RAW)
    at = RAW.index(b'"label":"car","w":10')
    flipped[at + 9] ^= 0x01  # "car" -> "bar" in the first version's box
    found = problems(bytes(flipped))
    assert found[0].startswith("annotations.jsonl: damaged: Bad CRC-32")
    assert "annotations.jsonl line 1 (annotation 100): the version's hash does not match its content " \
           "(the version was changed)" in found


@pytest.mark.parametrize("raw", [b"", b"not a zip", RAW[: len(RAW) // 2]])
def test_unreadable_input_fails(raw):
    assert problems(raw)[0].startswith("zip: unreadable")
