"""RFC 9162 Merkle hashing and proofs, checked against Certificate Transparency's vectors."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from manafidh.domain.audit.merkle import (
    EMPTY_ROOT,
    consistency_path,
    inclusion_path,
    leaf_hash,
    root,
    verify_consistency,
    verify_inclusion,
)

# RFC 6962 / 9162 reference data as published with Certificate Transparency implementations
# (transparency-dev/merkle testonly constants; certificate-transparency merkle_tree_test).
ENTRIES = [
    bytes.fromhex(h)
    for h in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
]
ROOTS = [
    bytes.fromhex(h)
    for h in (
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    )
]
LEAVES = [leaf_hash(e) for e in ENTRIES]
H = bytes.fromhex
INCLUSION = [
    (
        0,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        5,
        8,
        [
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
]
CONSISTENCY = [
    (
        2,
        8,
        [
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        6,
        8,
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        5,
        [
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
]


def test_roots_match_the_reference_tree_heads_for_every_size():
    assert root([]) == EMPTY_ROOT
    for n in range(len(LEAVES) + 1):
        assert root(LEAVES[:n]) == ROOTS[n], n


@pytest.mark.parametrize(("index", "size", "expected"), INCLUSION)
def test_inclusion_paths_match_the_reference(index, size, expected):
    path = inclusion_path(LEAVES[:size], index)
    assert path == [H(h) for h in expected]
    assert verify_inclusion(LEAVES[index], index, size, path, ROOTS[size])


@pytest.mark.parametrize(("first", "second", "expected"), CONSISTENCY)
def test_consistency_paths_match_the_reference(first, second, expected):
    path = consistency_path(LEAVES[:second], first)
    assert path == [H(h) for h in expected]
    assert verify_consistency(first, second, ROOTS[first], ROOTS[second], path)


many = st.integers(1, 70).map(lambda n: [leaf_hash(bytes([i % 256, i // 256])) for i in range(n)])


@given(many, st.data())
def test_every_inclusion_proof_verifies_and_a_tampered_one_does_not(leaves, data):
    n = len(leaves)
    i = data.draw(st.integers(0, n - 1))
    path = inclusion_path(leaves, i)
    head = root(leaves)
    assert verify_inclusion(leaves[i], i, n, path, head)
    assert not verify_inclusion(leaf_hash(b"forged"), i, n, path, head)
    if n > 1:
        assert not verify_inclusion(leaves[i], (i + 1) % n, n, path, head)
    if path:
        j = data.draw(st.integers(0, len(path) - 1))
        bad = [*path[:j], bytes(32), *path[j + 1 :]]
        assert not verify_inclusion(leaves[i], i, n, bad, head)


@given(many, st.data())
def test_every_consistency_proof_verifies_and_a_rewritten_history_does_not(leaves, data):
    n = len(leaves)
    m = data.draw(st.integers(1, n))
    path = consistency_path(leaves, m)
    assert verify_consistency(m, n, root(leaves[:m]), root(leaves), path)
    if m < n:
        rewritten = [*leaves[: m - 1], leaf_hash(b"rewritten"), *leaves[m:]]
        assert not verify_consistency(m, n, root(leaves[:m]), root(rewritten), path)
        assert not verify_consistency(m, n, root(rewritten[:m]), root(leaves), path)
