"""The audit log in SQL: appends in the business transaction, tree heads, reads and the scan.

Entries a use case appends are held until the unit of work commits, then written in one go just
before COMMIT: one ``UPDATE audit_state ... RETURNING`` reserves the next indices and locks the
state row (so appenders are serialised and indices have no gaps), one INSERT writes the entries
with their leaf hashes and MACs, one UPDATE stores the new Merkle frontier and its MAC. The lock
is held only from that first UPDATE to COMMIT. A tree head is signed in the same transaction
when ``checkpoint_every`` entries or ``checkpoint_minutes`` have passed since the last one.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, func, insert, select, update

from manafidh.adapters.db import tables as t
from manafidh.adapters.db import write_queue
from manafidh.adapters.db.repositories import _insert_ignore
from manafidh.domain.audit import frontier as fr
from manafidh.domain.audit import verify
from manafidh.domain.audit.canonical import canonical_json, instant_text
from manafidh.domain.audit.entry import AuditEntry, envelope
from manafidh.domain.audit.mac import mac_function, state_mac
from manafidh.domain.audit.merkle import leaf_hash
from manafidh.domain.audit.tree_head import LogState, TreeHead, sth_message
from manafidh.domain.audit.verify import ChunkResult, LogScan, check_chunk
from manafidh.domain.clock import Clock
from manafidh.services.ports import AuditKeys

STATE_ID = 1
_s = t.audit_state.c
# The append path runs in every writing transaction: its statements go to the driver's own
# cursor (a third of the cost of a Core statement), and on PostgreSQL the INSERT and the state
# UPDATE are one statement (a tree head due: one pipeline), so an append costs two round trips.
_PLACEHOLDER = {"sqlite": "?", "postgresql": "%s"}
_RAW = {
    "reserve": "UPDATE audit_state SET size = size + {p} WHERE id = {p} "
    "RETURNING size, frontier, mac, head_size, head_at",
    "insert": "INSERT INTO audit_entries "
    "(idx, at, actor, role, crossing, action, subject, payload, leaf, mac) "
    "VALUES ({p}, {p}, {p}, {p}, {p}, {p}, {p}, {p}, {p}, {p})",
    "state": "UPDATE audit_state SET frontier = {p}, mac = {p} WHERE id = {p}",
    "state_and_head": "UPDATE audit_state SET frontier = {p}, mac = {p}, head_size = {p}, "
    "head_at = {p} WHERE id = {p}",
}
_SQL = {d: {k: v.format(p=p) for k, v in _RAW.items()} for d, p in _PLACEHOLDER.items()}


@functools.lru_cache(maxsize=32)
def _append_sql(count: int) -> str:
    """PostgreSQL: ``count`` entries and the log's new state in one statement (one message,
    one execution), where an INSERT and an UPDATE in a pipeline cost more client CPU."""
    row = "(" + ", ".join(["%s"] * 10) + ")"
    insert = _SQL["postgresql"]["insert"].split(" VALUES ")[0]
    return (
        f"WITH appended AS ({insert} VALUES {', '.join([row] * count)}) "
        + _SQL["postgresql"]["state"]
    )


_SET_HEAD = (
    update(t.audit_state)
    .where(_s.id == STATE_ID)
    .values(head_size=bindparam("hs"), head_at=bindparam("ha"))
)
# SQLite hands the payload over as bytes (it is hashed, never parsed, while checking);
# PostgreSQL sends every column in its binary format, bytea included, and the text as text.
_CHUNK_SQL = {
    dialect: "SELECT idx, at, actor, role, crossing, action, subject, "
    f"{payload}, leaf, mac FROM audit_entries WHERE idx >= {p} AND idx < {p} ORDER BY idx"
    for dialect, payload, p in (
        ("sqlite", "CAST(payload AS BLOB)", "?"),
        ("postgresql", "payload", "%s"),
    )
}


class AuditNotConfigured(RuntimeError):
    """A unit of work without an audit key was asked to write audit entries."""


class AuditStateTampered(RuntimeError):
    """The log state row fails its MAC: nothing is appended or signed until it is repaired."""


class SqlAuditLog:
    """The audit log of one unit of work."""

    def __init__(
        self,
        conn: Connection,
        *,
        clock: Clock,
        keys: AuditKeys | None,
        readonly: bool = False,
        checkpoint_every: int = 0,
        checkpoint_minutes: int = 0,
    ) -> None:
        self.conn = conn
        self.clock = clock
        self.keys = keys
        self.readonly = readonly
        self.checkpoint_every = checkpoint_every
        self.checkpoint_minutes = checkpoint_minutes
        # (at, actor, role, crossing, action, subject, canonical payload) waiting for commit
        self._pending: list[tuple[str, str, str, str, str, str, str]] = []

    # -- writing ----------------------------------------------------------------------------
    def append(
        self,
        *,
        at: datetime,
        actor: str,
        role: str,
        crossing: str,
        action: str,
        subject: str,
        payload: Mapping[str, Any],
    ) -> None:
        """Add an entry to this transaction; it is written when the unit of work commits."""
        if self.readonly:
            raise RuntimeError("a read-only unit of work cannot write the audit log")
        self._pending.append(
            (instant_text(at), actor, role, crossing, action, subject, canonical_json(payload))
        )

    def discard(self) -> None:
        """Forget entries of a transaction that rolls back."""
        self._pending.clear()

    def flush(self) -> None:
        """Write the pending entries (called by the unit of work just before COMMIT)."""
        if not self._pending:
            return
        keys = self._keys()
        pending, self._pending = self._pending, []
        sql = _SQL[self.conn.dialect.name]
        dbapi = self.conn.connection.driver_connection
        cursor = dbapi.cursor()  # type: ignore[union-attr]
        try:
            # The writes the use case queued travel with the reservation: one round trip (its
            # row is read once the pipeline has ended). With none, a plain statement is cheaper.
            if write_queue.has_queued(self.conn):
                with write_queue.pipeline(self.conn):
                    write_queue.send_in_pipeline(self.conn)
                    cursor.execute(sql["reserve"], (len(pending), STATE_ID))
            else:
                cursor.execute(sql["reserve"], (len(pending), STATE_ID))
            size, packed, stored_mac, head_size, head_at = self._reserved(cursor, sql, len(pending))
            first = size - len(pending)
            front = self._checked_frontier(first, packed, stored_mac)
            mac = mac_function(keys.mac_key)
            sha = hashlib.sha256
            rows = []
            for n, (at, actor, role, crossing, action, subject, payload) in enumerate(pending):
                idx = first + n
                digest = sha(payload.encode()).hexdigest()
                leaf = leaf_hash(envelope(idx, at, actor, role, crossing, action, subject, digest))
                fr.append(front, idx, leaf)
                rows.append(
                    (idx, at, actor, role, crossing, action, subject, payload, leaf, mac(leaf))
                )
            packed = fr.pack(front)
            new_mac = state_mac(keys.mac_key, size, packed)
            head = None
            if self._head_due(size, head_size, head_at):
                head = self._sign(LogState(size, tuple(front)))
            if head is None and self.conn.dialect.name == "postgresql" and len(rows) <= 100:
                values = [value for row in rows for value in row]
                cursor.execute(_append_sql(len(rows)), [*values, packed, new_mac, STATE_ID])
            else:
                with write_queue.pipeline(self.conn):
                    cursor.executemany(sql["insert"], rows)
                    if head is None:
                        cursor.execute(sql["state"], (packed, new_mac, STATE_ID))
                    else:
                        cursor.execute(
                            sql["state_and_head"],
                            (packed, new_mac, head.tree_size, head.timestamp, STATE_ID),
                        )
        finally:
            cursor.close()
        if head is not None:
            self.add_tree_head(head)

    def _keys(self) -> AuditKeys:
        if self.keys is None:
            raise AuditNotConfigured("no audit key: the unit of work cannot write the audit log")
        return self.keys

    def _reserved(self, cursor: Any, sql: dict[str, str], count: int) -> tuple[Any, ...]:
        """The indices the reserving UPDATE took: (size after, frontier, MAC, head size, head
        time), the state row locked; makes the state row of an empty log first."""
        row = cursor.fetchone()
        if row is None:
            empty = state_mac(self._keys().mac_key, 0, b"")
            self.conn.execute(
                _insert_ignore(t.audit_state, self.conn).values(
                    id=STATE_ID, size=0, frontier=b"", mac=empty, head_size=0, head_at=None
                )
            )
            cursor.execute(sql["reserve"], (count, STATE_ID))
            row = cursor.fetchone()
        size, packed, mac, head_size, head_at = row
        return int(size), bytes(packed), bytes(mac), int(head_size), head_at

    def _checked_frontier(self, size: int, packed: bytes, mac: bytes) -> list[bytes]:
        keys = self._keys()
        if state_mac(keys.mac_key, size, packed) != mac:
            raise AuditStateTampered(self._why_state_fails(keys))
        return fr.unpack(packed, size)

    def _why_state_fails(self, keys: AuditKeys) -> str:
        c = t.audit_tree_heads.c
        signer = self.conn.execute(select(c.key_id).order_by(c.id.desc()).limit(1)).scalar()
        if signer is not None and signer != keys.key_id:
            return (
                f"the audit key in use ({keys.key_id[:16]}) is not the key that wrote this log "
                f"({signer[:16]}): point MANAFIDH_AUDIT_KEY_FILE at the deployment's key"
            )
        return "the audit log state row fails its MAC: run `manafidh audit verify`"

    def _head_due(self, size: int, head_size: int, head_at: str | None) -> bool:
        if self.checkpoint_every > 0 and size - head_size >= self.checkpoint_every:
            return True
        if self.checkpoint_minutes <= 0:
            return False
        if head_at is None:
            return True
        due = instant_text(self.clock.now() - timedelta(minutes=self.checkpoint_minutes))
        return head_at <= due

    def _sign(self, state: LogState) -> TreeHead:
        keys = self._keys()
        stamp = instant_text(self.clock.now())
        root = state.root()
        signature = keys.sign(sth_message(state.size, root, stamp))
        return TreeHead(state.size, root, stamp, signature, keys.key_id)

    def checkpoint(self) -> TreeHead:
        """Sign a tree head for the log as it stands (locks the state row until commit)."""
        self.flush()
        state = self.state(lock=True)
        keys = self._keys()
        if state.mac and state_mac(keys.mac_key, state.size, state.packed) != state.mac:
            raise AuditStateTampered(self._why_state_fails(keys))
        head = self._sign(state)
        self.add_tree_head(head)
        self.conn.execute(_SET_HEAD, {"hs": head.tree_size, "ha": head.timestamp})
        return head

    def add_tree_head(self, head: TreeHead) -> None:
        """Store a signed tree head."""
        self.conn.execute(
            insert(t.audit_tree_heads).values(
                tree_size=head.tree_size,
                root_hash=head.root_hash,
                timestamp=head.timestamp,
                signature=head.signature,
                key_id=head.key_id,
            )
        )

    # -- reading ----------------------------------------------------------------------------
    def state(self, *, lock: bool = False) -> LogState:
        """The size, frontier and MAC the state row holds (an empty log when there is none)."""
        query = select(_s.size, _s.frontier, _s.mac).where(_s.id == STATE_ID)
        if lock and self.conn.dialect.name == "postgresql":
            query = query.with_for_update()
        row = self.conn.execute(query).first()
        if row is None:
            return LogState(0)
        size = int(row.size)
        packed = bytes(row.frontier)
        try:
            front = tuple(fr.unpack(packed, size))
        except ValueError:
            front = ()
        return LogState(size, front, bytes(row.mac), packed)

    def entry(self, index: int) -> AuditEntry | None:
        """The entry at ``index``."""
        found = self.entries(
            subject=None, actor=None, action=None, since=None, until=None, limit=1, offset=0,
            index=index,
        )  # fmt: skip
        return found[0] if found else None

    def entries(
        self,
        *,
        subject: str | None,
        actor: str | None,
        action: str | None,
        since: datetime | None,
        until: datetime | None,
        limit: int,
        offset: int,
        index: int | None = None,
    ) -> list[AuditEntry]:
        """Entries matching every filter given, oldest first."""
        c = t.audit_entries.c
        q = select(
            c.idx, c.at, c.actor, c.role, c.crossing, c.action, c.subject, c.payload
        ).order_by(c.idx)
        if index is not None:
            q = q.where(c.idx == index)
        if subject is not None:
            q = q.where(c.subject == subject)
        if actor is not None:
            q = q.where(c.actor == actor)
        if action is not None:
            q = q.where(c.action == action)
        if since is not None:
            q = q.where(c.at >= instant_text(since))
        if until is not None:
            q = q.where(c.at < instant_text(until))
        rows = self.conn.execute(q.limit(limit).offset(offset))
        return [AuditEntry(int(r[0]), *r[1:]) for r in rows]

    def payloads(self, actions: Sequence[str]) -> Iterator[tuple[int, str, str, str]]:
        """(index, subject, action, payload text) of the entries with one of ``actions``."""
        c = t.audit_entries.c
        rows = self.conn.execute(
            select(c.idx, c.subject, c.action, c.payload)
            .where(c.action.in_(list(actions)))
            .order_by(c.idx)
        )
        for r in rows:
            yield int(r[0]), r[1], r[2], r[3]

    def leaves(self, size: int) -> list[bytes]:
        """The stored leaf hashes of entries 0 to ``size`` - 1."""
        c = t.audit_entries.c
        rows = self.conn.execute(select(c.leaf).where(c.idx < size).order_by(c.idx))
        return [bytes(r[0]) for r in rows]

    def tree_heads(self) -> list[TreeHead]:
        """Every stored tree head, smallest first."""
        c = t.audit_tree_heads.c
        rows = self.conn.execute(select(t.audit_tree_heads).order_by(c.tree_size, c.id))
        return [
            TreeHead(
                int(r.tree_size), bytes(r.root_hash), r.timestamp, bytes(r.signature), r.key_id
            )
            for r in rows
        ]

    # -- verification -----------------------------------------------------------------------
    def scan(
        self, *, mac_key: bytes, sizes: Sequence[int], workers: int = 1, mac_from: int = 0
    ) -> LogScan:
        """Check every row and compute the roots at ``sizes``, chunk by chunk (in parallel
        processes when ``workers`` > 1); MACs are checked from index ``mac_from`` on."""
        c = t.audit_entries.c
        top = self.conn.execute(select(func.max(c.idx))).scalar()
        starts = list(range(0, (int(top) if top is not None else 0) + 1, verify.CHUNK_SIZE))
        result = LogScan(sorted(set(sizes)))
        jobs = [(s, mac_key, tuple(result.sizes), mac_from) for s in starts]
        if workers > 1 and len(starts) > 1:
            url = self.conn.engine.url.render_as_string(hide_password=False)
            with ProcessPoolExecutor(
                max_workers=min(workers, len(starts)), initializer=_init_worker, initargs=(url,)
            ) as pool:
                for chunk in pool.map(_check_in_worker, jobs):
                    result.add(chunk)
        else:
            for job in jobs:
                result.add(_check(self.conn, *job))
        result.finish()
        return result


def _check(
    conn: Connection, start: int, mac_key: bytes, sizes: Sequence[int], mac_from: int
) -> ChunkResult:
    dbapi: Any = conn.connection.driver_connection
    cursor = dbapi.cursor(binary=True) if conn.dialect.name == "postgresql" else dbapi.cursor()
    try:
        cursor.execute(_CHUNK_SQL[conn.dialect.name], (start, start + verify.CHUNK_SIZE))
        rows = cursor.fetchall()
    finally:
        cursor.close()
    return check_chunk(rows, start=start, mac_key=mac_key, sizes=sizes, mac_from=mac_from)


_worker_engine: Engine | None = None


def _init_worker(url: str) -> None:
    """Open this worker process's own engine (nothing is shared with the parent)."""
    global _worker_engine
    from manafidh.adapters.db.engine import make_engine

    _worker_engine = make_engine(url)


def _check_in_worker(job: tuple[int, bytes, tuple[int, ...], int]) -> ChunkResult:
    assert _worker_engine is not None
    with _worker_engine.connect() as conn:
        return _check(conn, *job)
