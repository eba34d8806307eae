"""The RFC 9162 tree: properties of proofs over random trees, and checks that fail on any
altered hash, index or size."""

from __future__ import annotations

import hashlib

from hypothesis import given
from hypothesis import strategies as st

from indivisible.audit import merkle


def leaves(n: int) -> list[bytes]:
    return [merkle.leaf_hash(str(i).encode()) for i in range(n)]


def test_small_trees_have_the_rfc_shape() -> None:
    a, b, c = leaves(3)
    assert merkle.root([]) == hashlib.sha256(b"").digest()
    assert merkle.root([a]) == a
    assert merkle.root([a, b]) == merkle.node_hash(a, b)
    # Three leaves split at two: the left pair is a perfect subtree, the third stands alone.
    assert merkle.root([a, b, c]) == merkle.node_hash(merkle.node_hash(a, b), c)
    # A leaf hash is not the digest of the data: the 0x00 prefix separates leaves from nodes.
    assert merkle.leaf_hash(b"x") != hashlib.sha256(b"x").digest()


@given(st.integers(min_value=0, max_value=300))
def test_the_frontier_gives_the_root_of_the_whole_tree(n: int) -> None:
    frontier = merkle.Frontier()
    hashes = leaves(n)
    for leaf in hashes:
        frontier.append(leaf)
    assert frontier.size == n
    assert frontier.root() == merkle.root(hashes)
    # A frontier reloaded from its hashes goes on growing the same tree.
    reloaded = merkle.Frontier(n, frontier.hashes)
    extra = merkle.leaf_hash(b"extra")
    reloaded.append(extra)
    assert reloaded.root() == merkle.root([*hashes, extra])


@given(st.data())
def test_every_leaf_is_proven_in_its_tree_and_nowhere_else(data: st.DataObject) -> None:
    n = data.draw(st.integers(min_value=1, max_value=200))
    index = data.draw(st.integers(min_value=0, max_value=n - 1))
    hashes = leaves(n)
    root = merkle.root(hashes)
    path = merkle.inclusion_proof(hashes, index)
    assert merkle.verify_inclusion(hashes[index], index, n, path, root)
    assert not merkle.verify_inclusion(merkle.leaf_hash(b"forged"), index, n, path, root)
    if n > 1:
        other = (index + 1) % n
        assert not merkle.verify_inclusion(hashes[index], other, n, path, root)
    if path:
        bent = list(path)
        position = data.draw(st.integers(min_value=0, max_value=len(path) - 1))
        bent[position] = merkle.leaf_hash(b"bent")
        assert not merkle.verify_inclusion(hashes[index], index, n, bent, root)


@given(st.data())
def test_a_smaller_tree_is_proven_a_prefix_of_a_larger_one(data: st.DataObject) -> None:
    second = data.draw(st.integers(min_value=1, max_value=200))
    first = data.draw(st.integers(min_value=0, max_value=second))
    hashes = leaves(second)
    old, new = merkle.root(hashes[:first]), merkle.root(hashes)
    path = merkle.consistency_proof(hashes, first)
    assert merkle.verify_consistency(first, second, old, new, path)
    if 0 < first < second:
        # The old tree rewritten: one of its leaves changed, so its root differs.
        rewritten = list(hashes)
        rewritten[data.draw(st.integers(min_value=0, max_value=first - 1))] = merkle.leaf_hash(
            b"rewritten"
        )
        assert not merkle.verify_consistency(
            first, second, merkle.root(rewritten[:first]), new, path
        )
        assert not merkle.verify_consistency(first, second, old, merkle.root(rewritten), path)
        bent = list(path)
        position = data.draw(st.integers(min_value=0, max_value=len(path) - 1))
        bent[position] = merkle.leaf_hash(b"bent")
        assert not merkle.verify_consistency(first, second, old, new, bent)
        assert not merkle.verify_consistency(first, second, old, new, [])
