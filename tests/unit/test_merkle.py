"""Tests for retention.merkle.

Known-answer data: the RFC 6962 reference vectors shared by the
certificate-transparency and transparency-dev/merkle test suites (the eight
leaf inputs below, the roots of their prefixes, the leaf-level node hashes and
the inclusion/consistency proofs those suites check). The C2SP merkle-tree
test vector files are not reproduced under tests/data/merkle/ because their
exact content could not be confirmed; these RFC 6962 vectors are what we test
against. Everything else is cross-checked against a small, deliberately naive
reference written straight from the RFC 9162 recursive definitions.
"""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from retention.merkle import (
    EMPTY_ROOT,
    MerkleTree,
    ProofError,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root_from_leaf_hashes,
    roots_at,
    verify_consistency,
    verify_inclusion,
)

h = bytes.fromhex

LEAF_INPUTS = [
    h(""),
    h("00"),
    h("10"),
    h("2021"),
    h("3031"),
    h("40414243"),
    h("5051525354555657"),
    h("606162636465666768696a6b6c6d6e6f"),
]

# ROOTS[n] is the root of the tree over the first n leaf inputs.
ROOTS = [
    h("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
    h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
    h("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"),
    h("aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77"),
    h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
    h("4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4"),
    h("76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef"),
    h("ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c"),
    h("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"),
]

LEAF_HASHES = [
    h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
    h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
    h("0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7"),
    h("07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7"),
    h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
    h("4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658"),
    h("b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f"),
    h("46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1"),
]

# (leaf index, tree size, proof); indices here are 0-based.
INCLUSION_VECTORS = [
    (0, 1, []),
    (
        0,
        8,
        [
            h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
        ],
    ),
    (
        5,
        8,
        [
            h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
            h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
            h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
        ],
    ),
    (2, 3, [h("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125")]),
    (
        1,
        5,
        [
            h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
        ],
    ),
]

# (old size, new size, proof)
CONSISTENCY_VECTORS = [
    (1, 1, []),
    (
        1,
        8,
        [
            h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
        ],
    ),
    (
        6,
        8,
        [
            h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
            h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
            h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
        ],
    ),
    (
        2,
        5,
        [
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
        ],
    ),
    (
        6,
        7,
        [
            h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
            h("b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f"),
            h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
        ],
    ),
]

SOME_HASH = h("abacaba000000000000000000000000000000000000000000060061e00123456")


# --- independent reference: the RFC 9162 recursions, literally ------------------


def ref_mth(leaves: list[bytes]) -> bytes:
    """MTH over raw hashes via explicit slicing and recursion."""
    n = len(leaves)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return leaves[0]
    k = 1
    while k * 2 < n:
        k *= 2
    return hashlib.sha256(b"\x01" + ref_mth(leaves[:k]) + ref_mth(leaves[k:])).digest()


def ref_path(m: int, leaves: list[bytes]) -> list[bytes]:
    n = len(leaves)
    if n == 1:
        return []
    k = 1
    while k * 2 < n:
        k *= 2
    if m < k:
        return ref_path(m, leaves[:k]) + [ref_mth(leaves[k:])]
    return ref_path(m - k, leaves[k:]) + [ref_mth(leaves[:k])]


def ref_subproof(m: int, leaves: list[bytes], whole: bool) -> list[bytes]:
    n = len(leaves)
    if m == n:
        return [] if whole else [ref_mth(leaves)]
    k = 1
    while k * 2 < n:
        k *= 2
    if m <= k:
        return ref_subproof(m, leaves[:k], whole) + [ref_mth(leaves[k:])]
    return ref_subproof(m - k, leaves[k:], False) + [ref_mth(leaves[:k])]


def ref_proof(m: int, leaves: list[bytes]) -> list[bytes]:
    return ref_subproof(m, leaves, True)


N = 160
HASHES = [leaf_hash(b"entry-%d" % i) for i in range(N)]
TREE = MerkleTree(HASHES)


def flip(b: bytes, pos: int, mask: int = 0x01) -> bytes:
    return b[:pos] + bytes([b[pos] ^ mask]) + b[pos + 1 :]


# --- known answers ----------------------------------------------------------------


def test_hash_primitives():
    assert EMPTY_ROOT.hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert leaf_hash(b"").hex() == "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
    assert leaf_hash(b"x") == hashlib.sha256(b"\x00x").digest()
    assert node_hash(b"a" * 32, b"b" * 32) == hashlib.sha256(b"\x01" + b"a" * 32 + b"b" * 32).digest()


def test_leaf_hashes_of_reference_inputs():
    assert [leaf_hash(x) for x in LEAF_INPUTS] == LEAF_HASHES


@pytest.mark.parametrize("size", range(0, 9))
def test_reference_roots(size):
    hashes = [leaf_hash(x) for x in LEAF_INPUTS[:size]]
    assert root_from_leaf_hashes(hashes) == ROOTS[size]
    assert ref_mth(hashes) == ROOTS[size]
    if size:
        assert MerkleTree(hashes).root() == ROOTS[size]


def test_size_eight_root_literal():
    hashes = [leaf_hash(x) for x in LEAF_INPUTS]
    assert root_from_leaf_hashes(hashes).hex() == (
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"
    )


@pytest.mark.parametrize("index,size,proof", INCLUSION_VECTORS)
def test_reference_inclusion_proofs(index, size, proof):
    assert inclusion_proof(LEAF_HASHES, index, size) == proof
    verify_inclusion(LEAF_HASHES[index], index, size, proof, ROOTS[size])


@pytest.mark.parametrize("old,new,proof", CONSISTENCY_VECTORS)
def test_reference_consistency_proofs(old, new, proof):
    assert consistency_proof(LEAF_HASHES, old, new) == proof
    verify_consistency(old, new, ROOTS[old], ROOTS[new], proof)


def _inclusion_probes(index, size, proof, root, leaf):
    probes = [
        ("index - 1", index - 1, size, proof, root, leaf),
        ("index + 1", index + 1, size, proof, root, leaf),
        ("index ^ 2", index ^ 2, size, proof, root, leaf),
        ("size * 2", index, size * 2, proof, root, leaf),
        ("size // 2", index, size // 2, proof, root, leaf),
        ("wrong leaf", index, size, proof, root, leaf_hash(b"WrongLeaf")),
        ("empty root", index, size, proof, EMPTY_ROOT, leaf),
        ("random root", index, size, proof, SOME_HASH, leaf),
        ("trailing root", index, size, proof + [root], root, leaf),
        ("preceding root", index, size, [root] + proof, root, leaf),
        ("short leaf", index, size, proof, root, leaf[:-1]),
        ("short root", index, size, proof, root[:-1], leaf),
    ]
    for i in range(len(proof)):
        bad = list(proof)
        bad[i] = flip(bad[i], 0, 8)
        probes.append((f"proof[{i}] bit flip", index, size, bad, root, leaf))
        bad = list(proof)
        bad[i] = bad[i] + b"\x00"
        probes.append((f"proof[{i}] too long", index, size, bad, root, leaf))
    if proof:
        probes.append(("removed element", index, size, proof[:-1], root, leaf))
    if len(proof) > 1:
        probes.append(("inserted element", index, size, [proof[0], SOME_HASH] + proof[1:], root, leaf))
    return probes


@pytest.mark.parametrize("index,size,proof", INCLUSION_VECTORS)
def test_reference_inclusion_proofs_reject_corruption(index, size, proof):
    accepted = []
    for desc, i, n, p, r, lh in _inclusion_probes(index, size, proof, ROOTS[size], LEAF_HASHES[index]):
        try:
            verify_inclusion(lh, i, n, p, r)
        except ProofError:
            continue
        accepted.append(desc)
    assert accepted == []


def _consistency_probes(old, new, proof, r1, r2):
    probes = [
        ("old - 1", old - 1, new, r1, r2, proof),
        ("old + 1", old + 1, new, r1, r2, proof),
        ("old ^ 2", old ^ 2, new, r1, r2, proof),
        ("new * 2", old, new * 2, r1, r2, proof),
        ("new // 2", old, new // 2, r1, r2, proof),
        ("wrong old root", old, new, SOME_HASH, r2, proof),
        ("wrong new root", old, new, r1, SOME_HASH, proof),
        ("swapped roots", old, new, r2, r1, proof),
        ("empty proof", old, new, r1, r2, []),
        ("trailing old root", old, new, r1, r2, proof + [r1]),
        ("trailing new root", old, new, r1, r2, proof + [r2]),
        ("preceding old root", old, new, r1, r2, [r1] + proof),
        ("preceding new root", old, new, r1, r2, [r2] + proof),
        ("preceding proof[0]", old, new, r1, r2, [proof[0]] + proof),
        ("truncated", old, new, r1, r2, proof[:-1]),
    ]
    for i in range(len(proof)):
        bad = list(proof)
        bad[i] = flip(bad[i], 0, 16)
        probes.append((f"proof[{i}] bit flip", old, new, r1, r2, bad))
    return probes


@pytest.mark.parametrize("old,new,proof", [v for v in CONSISTENCY_VECTORS if v[2]])
def test_reference_consistency_proofs_reject_corruption(old, new, proof):
    accepted = []
    for desc, a, b, r1, r2, p in _consistency_probes(old, new, proof, ROOTS[old], ROOTS[new]):
        try:
            verify_consistency(a, b, r1, r2, p)
        except ProofError:
            continue
        accepted.append(desc)
    assert accepted == []


# --- consistency edge cases --------------------------------------------------------


def test_consistency_equal_sizes():
    verify_consistency(5, 5, ROOTS[5], ROOTS[5], [])
    with pytest.raises(ProofError, match="different roots"):
        verify_consistency(5, 5, ROOTS[5], ROOTS[6], [])
    with pytest.raises(ProofError, match="empty consistency proof"):
        verify_consistency(5, 5, ROOTS[5], ROOTS[5], [ROOTS[5]])
    verify_consistency(0, 0, EMPTY_ROOT, EMPTY_ROOT, [])


def test_consistency_from_empty_tree():
    verify_consistency(0, 8, EMPTY_ROOT, ROOTS[8], [])
    with pytest.raises(ProofError, match="empty proof"):
        verify_consistency(0, 8, EMPTY_ROOT, ROOTS[8], [EMPTY_ROOT])
    with pytest.raises(ProofError, match="empty root"):
        verify_consistency(0, 8, ROOTS[1], ROOTS[8], [])
    assert consistency_proof(LEAF_HASHES, 0, 8) == []


def test_consistency_rejects_shrinking_tree():
    with pytest.raises(ProofError, match="larger than"):
        verify_consistency(8, 7, ROOTS[8], ROOTS[7], [])


def test_consistency_rejects_empty_proof_for_growth():
    with pytest.raises(ProofError, match="empty"):
        verify_consistency(1, 2, ROOTS[1], ROOTS[2], [])


def test_inclusion_index_out_of_range():
    with pytest.raises(ProofError, match="out of range"):
        verify_inclusion(LEAF_HASHES[0], 1, 1, [], ROOTS[1])
    with pytest.raises(ProofError, match="out of range"):
        verify_inclusion(LEAF_HASHES[0], 0, 0, [], EMPTY_ROOT)
    with pytest.raises(ProofError, match="negative"):
        verify_inclusion(LEAF_HASHES[0], -1, 1, [], ROOTS[1])


def test_inclusion_wrong_length_message():
    with pytest.raises(ProofError, match="has 2 hashes, expected 3"):
        verify_inclusion(LEAF_HASHES[0], 0, 8, INCLUSION_VECTORS[1][2][:2], ROOTS[8])


def test_verifiers_reject_non_bytes():
    with pytest.raises(ProofError):
        verify_inclusion("00" * 32, 0, 1, [], ROOTS[1])
    with pytest.raises(ProofError):
        verify_inclusion(LEAF_HASHES[0], True, 2, [LEAF_HASHES[1]], ROOTS[2])
    with pytest.raises(ProofError):
        verify_inclusion(LEAF_HASHES[0], 0, 2, LEAF_HASHES[1], ROOTS[2])


def test_proof_generation_argument_checks():
    with pytest.raises(ValueError):
        inclusion_proof(LEAF_HASHES, 8, 8)
    with pytest.raises(ValueError):
        inclusion_proof(LEAF_HASHES, 0, 9)
    with pytest.raises(ValueError):
        consistency_proof(LEAF_HASHES, 5, 4)
    with pytest.raises(ValueError):
        MerkleTree([b"short"])


# --- exhaustive cross-check with the reference for small trees --------------------


def test_roots_match_reference_for_every_size():
    sizes = range(0, N + 1)
    got = roots_at(HASHES, sizes)
    for n in sizes:
        want = ref_mth(HASHES[:n])
        assert got[n] == want
        assert TREE.root(n) == want
    assert root_from_leaf_hashes(HASHES) == ref_mth(HASHES)


def test_every_inclusion_proof_matches_reference_and_verifies():
    for size in range(1, 41):
        root = ref_mth(HASHES[:size])
        for index in range(size):
            proof = TREE.inclusion_proof(index, size)
            assert proof == ref_path(index, HASHES[:size])
            verify_inclusion(HASHES[index], index, size, proof, root)


def test_every_consistency_proof_matches_reference_and_verifies():
    for new in range(1, 41):
        for old in range(1, new + 1):
            proof = TREE.consistency_proof(old, new)
            assert proof == (ref_proof(old, HASHES[:new]) if old < new else [])
            verify_consistency(old, new, ref_mth(HASHES[:old]), ref_mth(HASHES[:new]), proof)


def test_large_tree_is_fast_enough():
    hashes = [leaf_hash(i.to_bytes(4, "big")) for i in range(100_000)]
    root = root_from_leaf_hashes(hashes)
    tree = MerkleTree(hashes)
    assert tree.root() == root
    proof = tree.inclusion_proof(54_321, 100_000)
    verify_inclusion(hashes[54_321], 54_321, 100_000, proof, root)
    assert inclusion_proof(hashes, 54_321, 100_000) == proof
    cproof = consistency_proof(hashes, 77_777, 100_000)
    verify_consistency(77_777, 100_000, tree.root(77_777), root, cproof)


# --- properties --------------------------------------------------------------------

sizes = st.integers(min_value=1, max_value=N)


@st.composite
def tree_and_index(draw):
    size = draw(sizes)
    return size, draw(st.integers(min_value=0, max_value=size - 1))


@st.composite
def size_pair(draw):
    new = draw(st.integers(min_value=2, max_value=N))
    return draw(st.integers(min_value=1, max_value=new - 1)), new


@settings(max_examples=150, deadline=None)
@given(tree_and_index())
def test_property_inclusion_verifies(case):
    size, index = case
    verify_inclusion(HASHES[index], index, size, inclusion_proof(HASHES, index, size), TREE.root(size))


@settings(max_examples=150, deadline=None)
@given(tree_and_index(), st.data())
def test_property_inclusion_rejects_any_flipped_byte(case, data):
    size, index = case
    proof = TREE.inclusion_proof(index, size)
    root = TREE.root(size)
    mask = data.draw(st.integers(min_value=1, max_value=255))
    pos = data.draw(st.integers(min_value=0, max_value=31))
    target = data.draw(st.integers(min_value=-2, max_value=len(proof) - 1))
    leaf = HASHES[index]
    if target == -2:
        root = flip(root, pos, mask)
    elif target == -1:
        leaf = flip(leaf, pos, mask)
    else:
        proof = list(proof)
        proof[target] = flip(proof[target], pos, mask)
    with pytest.raises(ProofError):
        verify_inclusion(leaf, index, size, proof, root)


@settings(max_examples=150, deadline=None)
@given(tree_and_index(), st.data())
def test_property_inclusion_rejects_wrong_index_or_size(case, data):
    size, index = case
    proof = TREE.inclusion_proof(index, size)
    other_index = data.draw(st.integers(min_value=0, max_value=N).filter(lambda i: i != index))
    with pytest.raises(ProofError):
        verify_inclusion(HASHES[index], other_index, size, proof, TREE.root(size))
    # A different size is only meaningful together with that size's root.
    other_size = data.draw(st.integers(min_value=index + 1, max_value=N).filter(lambda n: n != size))
    with pytest.raises(ProofError):
        verify_inclusion(HASHES[index], index, other_size, proof, TREE.root(other_size))


@settings(max_examples=150, deadline=None)
@given(size_pair())
def test_property_consistency_verifies(pair):
    old, new = pair
    proof = consistency_proof(HASHES, old, new)
    verify_consistency(old, new, TREE.root(old), TREE.root(new), proof)


@settings(max_examples=150, deadline=None)
@given(size_pair(), st.data())
def test_property_consistency_rejects_any_flipped_byte(pair, data):
    old, new = pair
    proof = TREE.consistency_proof(old, new)
    r1, r2 = TREE.root(old), TREE.root(new)
    mask = data.draw(st.integers(min_value=1, max_value=255))
    pos = data.draw(st.integers(min_value=0, max_value=31))
    target = data.draw(st.integers(min_value=-2, max_value=len(proof) - 1))
    if target == -2:
        r1 = flip(r1, pos, mask)
    elif target == -1:
        r2 = flip(r2, pos, mask)
    else:
        proof = list(proof)
        proof[target] = flip(proof[target], pos, mask)
    with pytest.raises(ProofError):
        verify_consistency(old, new, r1, r2, proof)


@settings(max_examples=150, deadline=None)
@given(size_pair(), size_pair())
def test_property_consistency_rejects_wrong_sizes(pair, other):
    old, new = pair
    if other == pair:
        return
    proof = TREE.consistency_proof(old, new)
    a, b = other
    if TREE.consistency_proof(a, b) == proof:
        return
    with pytest.raises(ProofError):
        verify_consistency(a, b, TREE.root(a), TREE.root(b), proof)


def test_frontier_root_matches_the_recursive_definition_at_every_size():
    from retention.merkle import Frontier

    hashes = [leaf_hash(i.to_bytes(4, "big")) for i in range(300)]
    f = Frontier()
    assert f.root() == root_from_leaf_hashes([])
    for n, h in enumerate(hashes, start=1):
        f.append(h)
        assert f.size == n
        assert f.root() == root_from_leaf_hashes(hashes[:n])
