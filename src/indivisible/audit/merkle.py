"""Merkle trees in the manner of Certificate Transparency (RFC 9162, section 2.1): the tree
hash of a list of leaves, inclusion proofs (a leaf is in a tree) and consistency proofs (a
smaller tree is a prefix of a larger one), and the checks a member runs on them with nothing
but the hashes.

Leaf and interior hashes are domain-separated (0x00 and 0x01 prefixes) so that a leaf can
never be passed off as an interior node. Hashes are raw 32-byte SHA-256 digests here; the
log stores and serves them in hex.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


EMPTY_ROOT = hashlib.sha256(b"").digest()


def _split(n: int) -> int:
    """The largest power of two smaller than ``n`` (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def root(leaves: Sequence[bytes]) -> bytes:
    """MTH(D[n]) over leaf hashes (already hashed with ``leaf_hash``)."""
    if not leaves:
        return EMPTY_ROOT
    return _subtree(leaves, 0, len(leaves))


def _subtree(leaves: Sequence[bytes], start: int, end: int) -> bytes:
    if end - start == 1:
        return leaves[start]
    k = _split(end - start)
    return node_hash(_subtree(leaves, start, start + k), _subtree(leaves, start + k, end))


class Frontier:
    """The roots of the perfect subtrees a growing log is made of, largest first: enough to
    append a leaf and compute the tree hash without reading the earlier leaves again."""

    def __init__(self, size: int = 0, hashes: Sequence[bytes] = ()) -> None:
        if len(hashes) != size.bit_count():
            raise ValueError("a frontier has one hash per set bit of the tree size")
        self.size = size
        self.hashes = list(hashes)

    def append(self, leaf: bytes) -> None:
        self.hashes.append(leaf)
        self.size += 1
        # Each trailing set bit before the increment is a pair of equal subtrees to merge.
        merges = (self.size ^ (self.size - 1)).bit_length() - 1
        for _ in range(merges):
            right = self.hashes.pop()
            left = self.hashes.pop()
            self.hashes.append(node_hash(left, right))

    def root(self) -> bytes:
        if not self.hashes:
            return EMPTY_ROOT
        current = self.hashes[-1]
        for subtree in reversed(self.hashes[:-1]):
            current = node_hash(subtree, current)
        return current


def inclusion_proof(leaves: Sequence[bytes], index: int) -> list[bytes]:
    """PATH(m, D[n]) for leaf ``index`` in the tree of all ``leaves``."""
    if not 0 <= index < len(leaves):
        raise ValueError("leaf index outside the tree")
    return _path(leaves, index, 0, len(leaves))


def _path(leaves: Sequence[bytes], m: int, start: int, end: int) -> list[bytes]:
    n = end - start
    if n == 1:
        return []
    k = _split(n)
    if m < k:
        return [*_path(leaves, m, start, start + k), _subtree(leaves, start + k, end)]
    return [*_path(leaves, m - k, start + k, end), _subtree(leaves, start, start + k)]


def consistency_proof(leaves: Sequence[bytes], first: int) -> list[bytes]:
    """PROOF(m, D[n]): that the tree of the first ``first`` leaves is a prefix of the tree of
    all ``leaves``."""
    if not 0 <= first <= len(leaves):
        raise ValueError("first tree size outside the log")
    if first in (0, len(leaves)):
        return []
    return _subproof(leaves, first, 0, len(leaves), complete=True)


def _subproof(
    leaves: Sequence[bytes], m: int, start: int, end: int, *, complete: bool
) -> list[bytes]:
    n = end - start
    if m == n:
        return [] if complete else [_subtree(leaves, start, end)]
    k = _split(n)
    if m <= k:
        return [
            *_subproof(leaves, m, start, start + k, complete=complete),
            _subtree(leaves, start + k, end),
        ]
    return [
        *_subproof(leaves, m - k, start + k, end, complete=False),
        _subtree(leaves, start, start + k),
    ]


def verify_inclusion(
    leaf: bytes, index: int, tree_size: int, path: Sequence[bytes], root_hash: bytes
) -> bool:
    """RFC 9162, 2.1.3.2."""
    if index >= tree_size or index < 0:
        return False
    fn, sn, r = index, tree_size - 1, leaf
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root_hash


def verify_consistency(
    first: int, second: int, first_hash: bytes, second_hash: bytes, path: Sequence[bytes]
) -> bool:
    """RFC 9162, 2.1.4.2, with the two trivial cases (an empty first tree, equal sizes)."""
    if first < 0 or first > second:
        return False
    if first == second:
        return not path and first_hash == second_hash
    if first == 0:
        return not path
    if not path:
        return False
    proof = list(path)
    if first & (first - 1) == 0:
        proof.insert(0, first_hash)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = proof[0]
    for c in proof[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == first_hash and sr == second_hash and sn == 0
