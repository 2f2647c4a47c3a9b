"""Verifying the log from its rows: leaves, MACs, Merkle roots, and naming what changed.

The log is read in chunks of 2**16 indices. Each chunk is checked on its own (so chunks can be
checked in parallel): every row's leaf is recomputed from its content and its MAC checked, and
the chunk's leaves are folded into a Merkle frontier. Because chunks are aligned on a power of
two, a complete chunk is a complete subtree, and the root at any size is the fold of the chunk
roots before it and the frontier of the chunk it falls in.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from json.encoder import encode_basestring

from manafidh.domain.audit import frontier as fr
from manafidh.domain.audit.entry import AuditEntry, envelope, payload_digest
from manafidh.domain.audit.findings import Finding, Kind
from manafidh.domain.audit.mac import mac_function, pads
from manafidh.domain.audit.merkle import leaf_hash

CHUNK_BITS = 14  # 16,384 entries: enough chunks to share among processes
CHUNK_SIZE = 1 << CHUNK_BITS
# How many candidate positions to try, per failing row, to find where an entry came from.
MAX_CANDIDATES = 2_000
_NEVER = 1 << 62

# (index, at, actor, role, crossing, action, subject, payload (text or its UTF-8), leaf, mac)
StoredRow = tuple[int, str, str, str, str, str, str, str | bytes, bytes, bytes]


def row_entry(row: StoredRow, index: int | None = None) -> AuditEntry:
    """The entry a stored row holds (optionally as if it were at another index)."""
    payload = row[7] if isinstance(row[7], str) else bytes(row[7]).decode()
    return AuditEntry(row[0] if index is None else index, *row[1:7], payload)


class _Escaped(dict[str, str]):
    """JSON string escapes, computed once per distinct value."""

    def __missing__(self, key: str) -> str:
        value = self[key] = encode_basestring(key)
        return value


@dataclass
class ChunkResult:
    """What one chunk of the log holds and how its rows checked."""

    start: int
    count: int = 0
    runs: list[tuple[int, int]] = field(default_factory=list)  # present indices [a, b)
    failing: list[tuple[StoredRow, str]] = field(default_factory=list)  # (row, "mac"|"leaf")
    frontier: list[bytes] = field(default_factory=list)
    prefixes: dict[int, list[bytes]] = field(default_factory=dict)  # size -> frontier below it


def check_chunk(
    rows: Iterable[StoredRow],
    *,
    start: int,
    mac_key: bytes,
    sizes: Sequence[int],
    mac_from: int = 0,
) -> ChunkResult:
    """Check the rows of the chunk starting at ``start`` (rows in index order).

    Every row's leaf is recomputed and compared with the stored one; its MAC is checked when
    its index is ``mac_from`` or more (entries below are covered by a signed root, checked by
    the caller: a matching root vouches for every leaf under it).
    """
    targets = sorted(s for s in set(sizes) if start < s < start + CHUNK_SIZE)
    out = ChunkResult(start)
    inner, outer = pads(mac_key)
    icopy, ocopy = inner.copy, outer.copy
    sha = hashlib.sha256
    enc = encode_basestring
    # actor, role, crossing and action take few values: escape each value once
    escaped = _Escaped()
    template = (
        '{"action":%s,"actor":%s,"at":%s,"crossing":%s,"index":%d,'
        '"payload_digest":"%s","role":%s,"subject":%s,"v":1}'
    )
    front = out.frontier
    failing = out.failing
    runs = out.runs
    t = 0
    next_target = targets[0] if targets else _NEVER
    run_start = run_end = -1
    n = 0
    for row in rows:
        idx, at, actor, role, crossing, action, subject, payload, leaf_stored, mac = row
        while idx >= next_target:
            out.prefixes[next_target] = list(front)
            t += 1
            next_target = targets[t] if t < len(targets) else _NEVER
        if idx != run_end:
            if run_end >= 0:
                runs.append((run_start, run_end))
            run_start = idx
        run_end = idx + 1
        env = template % (
            escaped[action],
            escaped[actor],
            enc(at),
            escaped[crossing],
            idx,
            sha(payload.encode() if isinstance(payload, str) else payload).hexdigest(),
            escaped[role],
            enc(subject),
        )
        leaf = sha(b"\x00" + env.encode()).digest()
        if idx >= mac_from:
            i = icopy()
            i.update(leaf)
            o = ocopy()
            o.update(i.digest())
            if o.digest() != mac:
                failing.append((row, "mac"))
            elif leaf != leaf_stored:
                failing.append((row, "leaf"))
        elif leaf != leaf_stored:
            failing.append((row, "leaf"))
        node, s = leaf, n
        while s & 1:
            node = sha(b"\x01" + front.pop() + node).digest()
            s >>= 1
        front.append(node)
        n += 1
    if run_end >= 0:
        runs.append((run_start, run_end))
    while t < len(targets):
        out.prefixes[targets[t]] = list(front)
        t += 1
    out.count = n
    return out


@dataclass
class LogScan:
    """Chunk results folded together, in order: gaps, failing rows and roots at given sizes."""

    sizes: Sequence[int]
    entries: int = 0
    next_index: int = 0  # one past the last index present
    gaps: list[tuple[int, int]] = field(default_factory=list)
    failing: list[tuple[StoredRow, str]] = field(default_factory=list)
    roots: dict[int, bytes] = field(default_factory=dict)
    _chunk_frontier: list[bytes] = field(default_factory=list)
    _chunks: int = 0

    def add(self, chunk: ChunkResult) -> None:
        """Fold in the next chunk (chunks must come in order, none skipped)."""
        if chunk.start != self._chunks * CHUNK_SIZE:
            raise ValueError(f"chunk {chunk.start} out of order")
        if chunk.start in self.sizes:
            self.roots[chunk.start] = fr.root(self._chunk_frontier)
        for a, b in chunk.runs:
            if a > self.next_index:
                self.gaps.append((self.next_index, a))
            self.next_index = b
        for size, prefix in chunk.prefixes.items():
            self.roots[size] = fr.root(self._chunk_frontier + prefix)
        fr.append(self._chunk_frontier, self._chunks, fr.root(chunk.frontier))
        self._chunks += 1
        self.entries += chunk.count
        self.failing.extend(chunk.failing)

    def finish(self) -> None:
        """Compute the root at a size that ends exactly where the last chunk ended."""
        end = self._chunks * CHUNK_SIZE
        if end in self.sizes:
            self.roots[end] = fr.root(self._chunk_frontier)
        if 0 in self.sizes:
            self.roots[0] = fr.root([])


def scan(
    rows: Iterable[StoredRow], *, mac_key: bytes, sizes: Sequence[int], mac_from: int = 0
) -> LogScan:
    """Check rows in index order in one process (the adapter may check chunks in parallel)."""
    result = LogScan(sizes)
    batch: list[StoredRow] = []
    chunk_start = 0
    for row in rows:
        while row[0] >= chunk_start + CHUNK_SIZE:
            result.add(
                check_chunk(
                    batch, start=chunk_start, mac_key=mac_key, sizes=sizes, mac_from=mac_from
                )
            )
            batch = []
            chunk_start += CHUNK_SIZE
        batch.append(row)
    result.add(
        check_chunk(batch, start=chunk_start, mac_key=mac_key, sizes=sizes, mac_from=mac_from)
    )
    result.finish()
    return result


def authenticates(row: StoredRow, index: int, mac_key: bytes) -> bool:
    """True when the row's content, placed at ``index``, carries the row's MAC."""
    entry = row_entry(row, index)
    leaf = leaf_hash(
        envelope(
            index,
            entry.at,
            entry.actor,
            entry.role,
            entry.crossing,
            entry.action,
            entry.subject,
            payload_digest(entry.payload).hex(),
        )
    )
    return mac_function(mac_key)(leaf) == row[9]


def classify(scan_result: LogScan, *, mac_key: bytes, tree_size: int, source: str) -> list[Finding]:
    """Name what happened to each failing row and each missing index."""
    failing = scan_result.failing
    gaps = scan_result.gaps
    positions = sorted(row[0] for row, _ in failing)
    gap_total = sum(b - a for a, b in gaps)
    gap_indices = [i for a, b in gaps for i in range(a, b)] if gap_total <= MAX_CANDIDATES else []
    origin: dict[int, int] = {}
    for row, reason in failing:
        if reason != "mac":
            continue
        p = row[0]
        candidates = dict.fromkeys([*gap_indices, *positions, p - 1, p + 1])
        tried = 0
        for c in candidates:
            if c == p or c < 0:
                continue
            if authenticates(row, c, mac_key):
                origin[p] = c
                break
            tried += 1
            if tried >= MAX_CANDIDATES:
                break
    moved = set(origin.values())
    findings: list[Finding] = []
    for row, reason in failing:
        p, what = row[0], f"{row[5]} on {row[6]} at {row[1]}"
        if reason == "leaf":
            findings.append(
                Finding(Kind.ALTERED, f"the stored leaf hash was changed ({what})", index=p)
            )
        elif p in origin:
            findings.append(
                Finding(
                    Kind.REORDERED,
                    f"entry {origin[p]} ({what}) is stored at position {p}",
                    index=origin[p],
                )
            )
        elif p in moved or p >= tree_size:
            findings.append(
                Finding(Kind.INSERTED, f"position {p} holds a forged entry ({what})", index=p)
            )
        else:
            findings.append(
                Finding(Kind.ALTERED, f"entry {p} fails its MAC: its content changed ({what})", p)
            )
    for a, b in gaps:
        for lo, hi in _runs(i for i in range(a, b) if i not in moved):
            span = f"entry {lo} is" if hi == lo + 1 else f"entries {lo} to {hi - 1} are"
            findings.append(Finding(Kind.DELETED, f"{span} missing from the log", index=lo))
    if scan_result.next_index < tree_size:
        lo = scan_result.next_index
        findings.append(
            Finding(
                Kind.TRUNCATED,
                f"the log ends at {lo} entries but {source} has {tree_size}: "
                f"entries {lo} to {tree_size - 1} were cut",
                index=lo,
            )
        )
    if failing and len(failing) == scan_result.entries:
        findings.append(
            Finding(
                Kind.KEY,
                "no entry carries a valid MAC: the key file is not the key that wrote this log",
            )
        )
    return sorted(findings, key=lambda f: (f.index if f.index is not None else -1, f.kind))


def _runs(indices: Iterable[int]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for i in indices:
        if out and out[-1][1] == i:
            out[-1] = (out[-1][0], i + 1)
        else:
            out.append((i, i + 1))
    return out
