"""RFC 6962 / RFC 9162 Merkle tree hashing, proof generation and proof verification.

Trees are described by their leaf hashes. A tree of size n is the
"left-balanced" tree of RFC 9162 section 2.1.1: the left subtree always holds
the largest power of two strictly smaller than n leaves.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Sequence

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "MerkleTree",
    "ProofError",
    "consistency_proof",
    "inclusion_proof",
    "leaf_hash",
    "node_hash",
    "root_from_leaf_hashes",
    "roots_at",
    "verify_consistency",
    "verify_inclusion",
]

HASH_SIZE = 32

# Root of the empty tree: the hash of the empty string (RFC 9162 section 2.1.1).
EMPTY_ROOT = hashlib.sha256(b"").digest()

_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"


class ProofError(ValueError):
    """A Merkle proof, root or tree coordinate failed verification."""


def leaf_hash(data: bytes) -> bytes:
    """Hash of one leaf: SHA-256(0x00 || data)."""
    return hashlib.sha256(_LEAF_PREFIX + bytes(data)).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Hash of an interior node: SHA-256(0x01 || left || right)."""
    return hashlib.sha256(_NODE_PREFIX + left + right).digest()


def _split(n: int) -> int:
    """Largest power of two strictly smaller than n (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def _fold_frontier(frontier: list[bytes]) -> bytes:
    # The perfect subtrees of a prefix, combined right to left, give the same
    # hash as the recursive definition because every split point of that
    # recursion falls on a boundary between them.
    acc = frontier[-1]
    for h in reversed(frontier[:-1]):
        acc = node_hash(h, acc)
    return acc


class Frontier:
    """The right edge of a growing tree: O(log n) per appended leaf and per root.

    frontier[i] is the root of a perfect subtree of 2**levels[i] leaves; sizes strictly
    decrease along the list, like the binary digits of the leaf count.
    """

    def __init__(self, hashes: Iterable[bytes] = ()) -> None:
        self._frontier: list[bytes] = []
        self._levels: list[int] = []
        self.size = 0
        for h in hashes:
            self.append(h)

    def append(self, h: bytes) -> None:
        level = 0
        while self._levels and self._levels[-1] == level:
            h = node_hash(self._frontier.pop(), h)
            self._levels.pop()
            level += 1
        self._frontier.append(h)
        self._levels.append(level)
        self.size += 1

    def root(self) -> bytes:
        return _fold_frontier(self._frontier) if self._frontier else EMPTY_ROOT


def roots_at(hashes: Sequence[bytes], sizes: Iterable[int]) -> dict[int, bytes]:
    """Roots of several prefixes of one tree in a single pass.

    Costs one hash per leaf plus O(log n) per requested size, which is what
    makes checking many checkpoints against a long ledger affordable.
    """
    wanted = sorted(set(sizes))
    if wanted and (wanted[0] < 0 or wanted[-1] > len(hashes)):
        raise ValueError(f"sizes must lie in 0..{len(hashes)}")
    out: dict[int, bytes] = {}
    frontier = Frontier()
    for size in wanted:
        while frontier.size < size:
            frontier.append(hashes[frontier.size])
        out[size] = frontier.root()
    return out


def root_from_leaf_hashes(hashes: Sequence[bytes]) -> bytes:
    """Merkle Tree Hash of the tree whose leaves have the given hashes."""
    return roots_at(hashes, [len(hashes)])[len(hashes)]


class MerkleTree:
    """All perfect subtree hashes of a tree, for cheap repeated proofs.

    Building costs one hash per leaf; afterwards any root, inclusion proof or
    consistency proof for a size up to ``len(hashes)`` costs O(log^2 n) hash
    operations instead of O(n). That matters when an export carries one
    inclusion proof per ledger entry.
    """

    def __init__(self, hashes: Sequence[bytes]):
        base = [bytes(h) for h in hashes]
        for i, h in enumerate(base):
            if len(h) != HASH_SIZE:
                raise ValueError(f"leaf hash {i} is {len(h)} bytes, expected {HASH_SIZE}")
        # levels[l][j] covers leaves [j * 2**l, (j + 1) * 2**l); only complete
        # subtrees are stored, a trailing odd node is never promoted.
        self._levels: list[list[bytes]] = [base]
        level = base
        while len(level) > 1:
            level = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
            self._levels.append(level)

    def __len__(self) -> int:
        return len(self._levels[0])

    def _range_hash(self, lo: int, hi: int) -> bytes:
        """Merkle Tree Hash of leaves [lo, hi)."""
        n = hi - lo
        if n == 0:
            return EMPTY_ROOT
        if n & (n - 1) == 0 and lo % n == 0:
            return self._levels[n.bit_length() - 1][lo // n]
        k = _split(n)
        return node_hash(self._range_hash(lo, lo + k), self._range_hash(lo + k, hi))

    def _check_size(self, size: int) -> None:
        if not isinstance(size, int) or isinstance(size, bool):
            raise TypeError("tree size must be an int")
        if not 0 <= size <= len(self):
            raise ValueError(f"tree size {size} is outside 0..{len(self)}")

    def root(self, size: int | None = None) -> bytes:
        """Root of the first ``size`` leaves (all leaves by default)."""
        if size is None:
            size = len(self)
        self._check_size(size)
        return self._range_hash(0, size)

    def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        """PATH(index, D[0:size]) from RFC 9162 section 2.1.3.1."""
        self._check_size(size)
        if not isinstance(index, int) or isinstance(index, bool):
            raise TypeError("leaf index must be an int")
        if not 0 <= index < size:
            raise ValueError(f"leaf index {index} is outside 0..{size - 1}")
        # Walk from the root down to the leaf; the recursion emits the sibling
        # of each step after the sub-path, so the list is reversed at the end.
        proof: list[bytes] = []
        lo, hi = 0, size
        while hi - lo > 1:
            k = _split(hi - lo)
            if index < lo + k:
                proof.append(self._range_hash(lo + k, hi))
                hi = lo + k
            else:
                proof.append(self._range_hash(lo, lo + k))
                lo = lo + k
        proof.reverse()
        return proof

    def consistency_proof(self, old_size: int, new_size: int) -> list[bytes]:
        """PROOF(old_size, D[0:new_size]) from RFC 9162 section 2.1.4.1.

        Empty when old_size is 0 or equal to new_size, where nothing needs
        proving beyond comparing roots.
        """
        self._check_size(new_size)
        if not isinstance(old_size, int) or isinstance(old_size, bool):
            raise TypeError("old size must be an int")
        if not 0 <= old_size <= new_size:
            raise ValueError(f"old size {old_size} is outside 0..{new_size}")
        if old_size == 0 or old_size == new_size:
            return []
        proof: list[bytes] = []
        lo, hi, m = 0, new_size, old_size
        # ``whole`` is the b flag of SUBPROOF: true while the old tree is a
        # left-edge subtree whose root the verifier already knows.
        whole = True
        while True:
            n = hi - lo
            if m == n:
                if not whole:
                    proof.append(self._range_hash(lo, hi))
                break
            k = _split(n)
            if m <= k:
                proof.append(self._range_hash(lo + k, hi))
                hi = lo + k
            else:
                proof.append(self._range_hash(lo, lo + k))
                lo += k
                m -= k
                whole = False
        proof.reverse()
        return proof


def _prefix(hashes: Sequence[bytes], size: int) -> Sequence[bytes]:
    if not isinstance(size, int) or isinstance(size, bool):
        raise TypeError("tree size must be an int")
    if not 0 <= size <= len(hashes):
        raise ValueError(f"tree size {size} is outside 0..{len(hashes)}")
    return hashes[:size]


def inclusion_proof(hashes: Sequence[bytes], index: int, size: int) -> list[bytes]:
    """Inclusion proof for leaf ``index`` in the tree of the first ``size`` leaf hashes."""
    return MerkleTree(_prefix(hashes, size)).inclusion_proof(index, size)


def consistency_proof(hashes: Sequence[bytes], old_size: int, new_size: int) -> list[bytes]:
    """Consistency proof between the trees of the first ``old_size`` and ``new_size`` leaf hashes."""
    return MerkleTree(_prefix(hashes, new_size)).consistency_proof(old_size, new_size)


def _check_hash(what: str, value: object) -> bytes:
    if not isinstance(value, (bytes, bytearray, memoryview)):
        raise ProofError(f"{what} must be bytes")
    value = bytes(value)
    if len(value) != HASH_SIZE:
        raise ProofError(f"{what} is {len(value)} bytes, expected {HASH_SIZE}")
    return value


def _check_count(what: str, value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise ProofError(f"{what} must be an int")
    if value < 0:
        raise ProofError(f"{what} {value} is negative")
    return value


def _check_proof(proof: Sequence[bytes]) -> list[bytes]:
    if isinstance(proof, (bytes, bytearray, str)):
        raise ProofError("proof must be a sequence of hashes, not a single byte string")
    return [_check_hash(f"proof element {i}", p) for i, p in enumerate(proof)]


def _shift_to_odd(fn: int, sn: int) -> tuple[int, int]:
    # RFC 9162: "right-shift both fn and sn equally until either LSB(fn) is
    # set or fn is 0".
    while fn and not fn & 1:
        fn >>= 1
        sn >>= 1
    return fn, sn


def _path_steps(fn: int, sn: int) -> int:
    """Number of proof hashes the RFC 9162 walk consumes from (fn, sn)."""
    steps = 0
    while sn:
        if fn & 1 or fn == sn:
            if not fn & 1:
                fn, sn = _shift_to_odd(fn, sn)
        steps += 1
        fn >>= 1
        sn >>= 1
    return steps


def verify_inclusion(
    leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """Check an inclusion proof (RFC 9162 section 2.1.3.2); raise ProofError on failure."""
    leaf = _check_hash("leaf hash", leaf_hash)
    expected_root = _check_hash("root", root)
    index = _check_count("leaf index", index)
    size = _check_count("tree size", size)
    path = _check_proof(proof)
    if index >= size:
        raise ProofError(f"leaf index {index} is out of range for tree size {size}")
    fn, sn = index, size - 1
    # The walk below would also reject a wrong length, but saying so up front
    # gives a clearer message than "wrong root".
    want = _path_steps(fn, sn)
    if len(path) != want:
        raise ProofError(
            f"inclusion proof has {len(path)} hashes, expected {want} for leaf {index} of {size}"
        )
    r = leaf
    for p in path:
        if sn == 0:
            raise ProofError("inclusion proof is longer than the path to the root")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                fn, sn = _shift_to_odd(fn, sn)
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("inclusion proof is shorter than the path to the root")
    if not hmac.compare_digest(r, expected_root):
        raise ProofError("inclusion proof does not lead to the expected root")


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> None:
    """Check a consistency proof (RFC 9162 section 2.1.4.2); raise ProofError on failure."""
    old_size = _check_count("old size", old_size)
    new_size = _check_count("new size", new_size)
    first = _check_hash("old root", old_root)
    second = _check_hash("new root", new_root)
    path = _check_proof(proof)
    if old_size > new_size:
        raise ProofError(f"old size {old_size} is larger than new size {new_size}")
    if old_size == new_size:
        if path:
            raise ProofError("trees of equal size need an empty consistency proof")
        if not hmac.compare_digest(first, second):
            raise ProofError("trees of equal size have different roots")
        return
    if old_size == 0:
        # Every tree extends the empty one, so only an empty proof makes sense.
        if path:
            raise ProofError("consistency from the empty tree needs an empty proof")
        if not hmac.compare_digest(first, EMPTY_ROOT):
            raise ProofError("old root of an empty tree must be the empty root")
        return
    if not path:
        raise ProofError("consistency proof is empty")

    # Step 2: when the old tree is a perfect subtree of the new one, its root
    # is the first node of the walk and is not repeated in the proof.
    seeded = old_size & (old_size - 1) == 0
    fn, sn = old_size - 1, new_size - 1
    # Step 4: skip the levels where the old tree's last leaf is a right child.
    while fn & 1:
        fn >>= 1
        sn >>= 1
    want = _path_steps(fn, sn) + (0 if seeded else 1)
    if len(path) != want:
        raise ProofError(
            f"consistency proof has {len(path)} hashes, expected {want} for {old_size} -> {new_size}"
        )
    if seeded:
        path = [first] + path
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError("consistency proof is longer than the path to the root")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                fn, sn = _shift_to_odd(fn, sn)
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("consistency proof is shorter than the path to the root")
    # Both links are checked: skipping the old-root comparison would let a
    # proof for an unrelated old tree pass.
    if not hmac.compare_digest(fr, first):
        raise ProofError("consistency proof does not reproduce the old root")
    if not hmac.compare_digest(sr, second):
        raise ProofError("consistency proof does not reproduce the new root")
