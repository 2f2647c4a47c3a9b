"""The audit format (docs/audit-format.md): canonical JSON, envelope, MAC, frontier, scan."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from enum import StrEnum

import pytest
from hypothesis import given
from hypothesis import strategies as st

from manafidh.domain.audit import frontier as fr
from manafidh.domain.audit import verify
from manafidh.domain.audit.canonical import canonical_json, decimal_text, instant_text
from manafidh.domain.audit.entry import AuditEntry, slow_encode
from manafidh.domain.audit.findings import Kind
from manafidh.domain.audit.mac import mac_function
from manafidh.domain.audit.merkle import leaf_hash, root
from manafidh.domain.audit.tree_head import sth_message

KEY = b"k" * 32


class Colour(StrEnum):
    RED = "red"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Decimal("1500.00"), "1500"),
        (Decimal("0.50"), "0.5"),
        (Decimal("-0"), "0"),
        (Decimal("1E+3"), "1000"),
        (Decimal("2620000.000"), "2620000"),
        (Decimal("12345678901234567890123456789.5"), "12345678901234567890123456789.5"),
    ],
)
def test_a_decimal_is_written_in_plain_notation_without_trailing_zeros(value, text):
    assert decimal_text(value) == text


def test_canonical_json_sorts_keys_drops_whitespace_and_keeps_arabic_as_utf8():
    payload = {
        "b": [1, True, None],
        "a": {"z": Decimal("1.10"), "y": Colour.RED},
        "at": datetime(2026, 3, 15, 9, 0, tzinfo=timezone(timedelta(hours=3))),
        "day": date(2026, 3, 15),
        "name": 'منفذ "الشلامجة"\n',
    }
    assert canonical_json(payload) == (
        '{"a":{"y":"red","z":"1.1"},"at":"2026-03-15T06:00:00.000000Z","b":[1,true,null],'
        '"day":"2026-03-15","name":"منفذ \\"الشلامجة\\"\\n"}'
    )


def test_control_characters_are_escaped_as_rfc_8785_does():
    assert canonical_json({"s": "\x00\x1f\t\u2028/"}) == '{"s":"\\u0000\\u001f\\t\u2028/"}'


NAIVE = datetime(2026, 1, 1)  # noqa: DTZ001 - the point: a naive time is refused


@pytest.mark.parametrize("bad", [1.5, float("nan"), {1: "x"}, object(), NAIVE])
def test_values_without_a_canonical_form_are_refused(bad):
    with pytest.raises((TypeError, ValueError)):
        canonical_json({"v": bad})


@given(
    st.text(),
    st.text(max_size=40),
    st.integers(min_value=0, max_value=2**62),
    st.dictionaries(st.text(max_size=5), st.text(max_size=10), max_size=4),
)
def test_the_fast_envelope_is_the_canonical_json_of_the_envelope(actor, subject, index, payload):
    entry = AuditEntry(
        index, instant_text(datetime.now(UTC)), actor, "officer", "SHL", "x.y", subject,
        canonical_json(payload),
    )  # fmt: skip
    assert entry.encode() == slow_encode(entry)


def test_the_mac_is_hmac_sha256():
    mac = mac_function(KEY)
    for message in (b"", b"abc", bytes(range(256)) * 3):
        assert mac(message) == hmac.digest(KEY, message, "sha256")
    assert mac_function(b"x" * 100)(b"m") == hmac.digest(b"x" * 100, b"m", "sha256")


def test_the_tree_head_message_is_four_lines():
    assert sth_message(3, bytes(32), "2026-03-15T06:00:00.000000Z") == (
        b"manafidh-sth-v1\n3\n" + b"0" * 64 + b"\n2026-03-15T06:00:00.000000Z\n"
    )


@given(st.integers(min_value=0, max_value=70))
def test_the_frontier_gives_the_rfc_9162_root_at_every_size(n):
    leaves = [leaf_hash(bytes([i])) for i in range(n)]
    front: list[bytes] = []
    for i, leaf in enumerate(leaves):
        fr.append(front, i, leaf)
    assert fr.root(front) == root(leaves)
    assert fr.unpack(fr.pack(front), n) == front


# -- the chunked scan, with small chunks -------------------------------------------------------
def _rows(n: int, key: bytes = KEY) -> list[verify.StoredRow]:
    mac = mac_function(key)
    out = []
    for i in range(n):
        e = AuditEntry(
            i, f"2026-03-15T06:00:{i % 60:02d}.000000Z", f"user{i % 3}", "officer", "SHL",
            "declaration.release", f"declaration:{i}", canonical_json({"n": i}),
        )  # fmt: skip
        leaf = e.leaf()
        out.append((i, e.at, e.actor, e.role, e.crossing, e.action, e.subject,
                    e.payload.encode(), leaf, mac(leaf)))  # fmt: skip
    return out


@pytest.fixture
def small_chunks(monkeypatch):
    monkeypatch.setattr(verify, "CHUNK_SIZE", 8)


def test_roots_across_chunks_equal_the_rfc_9162_roots(small_chunks):
    rows = _rows(37)
    sizes = [0, 1, 5, 8, 9, 16, 17, 24, 37]
    scan = verify.scan(rows, mac_key=KEY, sizes=sizes)
    leaves = [r[8] for r in rows]
    assert {s: scan.roots[s] for s in sizes} == {s: root(leaves[:s]) for s in sizes}
    assert (scan.entries, scan.next_index, scan.failing, scan.gaps) == (37, 37, [], [])


def _findings(rows, tree_size=None):
    scan = verify.scan(rows, mac_key=KEY, sizes=[])
    size = tree_size if tree_size is not None else scan.next_index
    return [
        (f.kind, f.index)
        for f in verify.classify(scan, mac_key=KEY, tree_size=size, source="the state")
    ]


def test_it_names_an_altered_a_deleted_and_two_swapped_entries(small_chunks):
    rows = _rows(30)
    rows[3] = (*rows[3][:7], b'{"n":333}', *rows[3][8:])
    del rows[10]
    a, b = 20, 25  # swapped: each position holds the other's content and MAC
    rows[a - 1], rows[b - 1] = (a, *rows[b - 1][1:]), (b, *rows[a - 1][1:])
    assert _findings(rows) == [
        (Kind.ALTERED, 3),
        (Kind.DELETED, 10),
        (Kind.REORDERED, 20),
        (Kind.REORDERED, 25),
    ]


def test_it_names_a_forged_entry_and_a_cut_tail(small_chunks):
    rows = _rows(12)
    forged = (12, *rows[11][1:8], b"\0" * 32, b"\0" * 32)
    assert _findings([*rows, forged], tree_size=12) == [(Kind.INSERTED, 12)]
    assert _findings(rows[:9], tree_size=12) == [(Kind.TRUNCATED, 9)]


def test_a_log_written_with_another_key_is_blamed_on_the_key(small_chunks):
    kinds = {k for k, _ in _findings(_rows(5, key=b"other" * 8))}
    assert kinds == {Kind.ALTERED, Kind.KEY}


def test_the_leaf_hash_is_sha256_of_zero_and_the_envelope():
    row = _rows(1)[0]
    entry = verify.row_entry(row)
    assert entry.leaf() == hashlib.sha256(b"\x00" + slow_encode(entry)).digest() == row[8]
