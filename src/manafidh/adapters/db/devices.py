"""Devices, their keys and their signed events in SQL.

Events are written with one ``executemany`` per batch (psycopg pipelines it), and a batch's
already-stored events are read with one query, so a burst of N events costs a handful of
statements, not N round trips.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, bindparam, func, insert, select, tuple_, update

from manafidh.adapters.db import tables as t
from manafidh.domain.devices.events import DeviceEvent, EventKind
from manafidh.domain.devices.registry import Device, DeviceKey, DeviceKind, Position

_d = t.devices.c
_k = t.device_keys.c
_e = t.device_events.c
_INSERT_EVENT = insert(t.device_events)
# Hot statements are built once; the lists travel as expanding bind parameters.
_KEYS_OF = (
    select(t.device_keys)
    .where(_k.device_id.in_(bindparam("ids", expanding=True)))
    .order_by(_k.valid_from)
)
_DEVICES = select(t.devices).where(_d.id.in_(bindparam("ids", expanding=True)))
# Exact (device, sequence) pairs: a batch naming sequence 1 and 2**62 must not read everything
# in between.
_STORED = select(t.device_events).where(
    tuple_(_e.device_id, _e.sequence).in_(bindparam("pairs", expanding=True))
)
_UPDATE_KEY = (
    update(t.device_keys)
    .where(_k.device_id == bindparam("d"), _k.key_id == bindparam("k"))
    .values(valid_to=bindparam("valid_to"))
)


def _device(row: Any, keys: list[DeviceKey]) -> Device:
    return Device(
        id=row.id,
        crossing_code=row.crossing_code,
        lane=row.lane,
        kind=DeviceKind(row.kind),
        position=Position(row.position),
        registered_at=row.registered_at,
        registered_by=row.registered_by,
        keys=keys,
        revoked_at=row.revoked_at,
        revoked_by=row.revoked_by,
        revoke_reason=row.revoke_reason,
    )


def _key(row: Any) -> DeviceKey:
    return DeviceKey(
        key_id=row.key_id,
        public_key=bytes(row.public_key),
        valid_from=row.valid_from,
        valid_to=row.valid_to,
        added_by=row.added_by,
        reason=row.reason,
    )


def _event(row: Any) -> DeviceEvent:
    return DeviceEvent(
        device_id=row.device_id,
        sequence=row.sequence,
        device_time=row.device_time,
        device_time_text=row.device_time_text,
        received_at=row.received_at,
        kind=EventKind(row.kind),
        payload=dict(row.payload),
        plate=row.plate,
        crossing_code=row.crossing_code,
        lane=row.lane,
        position=row.position,
        key_id=row.key_id,
        digest=bytes(row.digest),
        signature=bytes(row.signature),
    )


class SqlDeviceRepository:
    """The device registry and the event store."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(self, device: Device) -> None:
        self.conn.execute(
            insert(t.devices).values(
                id=device.id,
                crossing_code=device.crossing_code,
                lane=device.lane,
                kind=device.kind.value,
                position=device.position.value,
                registered_at=device.registered_at,
                registered_by=device.registered_by,
                revoked_at=device.revoked_at,
                revoked_by=device.revoked_by,
                revoke_reason=device.revoke_reason,
            )
        )
        for key in device.keys:
            self._add_key(device.id, key)

    def _add_key(self, device_id: str, key: DeviceKey) -> None:
        self.conn.execute(insert(t.device_keys).values(device_id=device_id, **vars(key)))

    def get(self, device_id: str) -> Device | None:
        return self.get_many([device_id]).get(device_id)

    def get_many(self, device_ids: Iterable[str]) -> dict[str, Device]:
        ids = list(set(device_ids))
        if not ids:
            return {}
        keys: dict[str, list[DeviceKey]] = defaultdict(list)
        for r in self.conn.execute(_KEYS_OF, {"ids": ids}):
            keys[r.device_id].append(_key(r))
        rows = self.conn.execute(_DEVICES, {"ids": ids})
        return {r.id: _device(r, keys[r.id]) for r in rows}

    def save(self, device: Device) -> None:
        """Store a revocation and key changes (keys are only added or closed, never removed)."""
        self.conn.execute(
            update(t.devices)
            .where(_d.id == device.id)
            .values(
                revoked_at=device.revoked_at,
                revoked_by=device.revoked_by,
                revoke_reason=device.revoke_reason,
            )
        )
        stored = {
            r.key_id for r in self.conn.execute(select(_k.key_id).where(_k.device_id == device.id))
        }
        for key in device.keys:
            if key.key_id in stored:
                self.conn.execute(
                    _UPDATE_KEY, {"d": device.id, "k": key.key_id, "valid_to": key.valid_to}
                )
            else:
                self._add_key(device.id, key)

    def all(self, crossing_code: str | None) -> list[Device]:
        q = select(_d.id)
        if crossing_code is not None:
            q = q.where(_d.crossing_code == crossing_code)
        ids = [r.id for r in self.conn.execute(q)]
        found = self.get_many(ids)
        return [found[i] for i in sorted(found)]

    def stored_events(self, keys: Iterable[tuple[str, int]]) -> dict[tuple[str, int], DeviceEvent]:
        """The events already stored under these (device, sequence) pairs."""
        wanted = list(set(keys))
        if not wanted:
            return {}
        found = {}
        for r in self.conn.execute(_STORED, {"pairs": wanted}):
            found[(r.device_id, r.sequence)] = _event(r)
        return found

    def add_events(self, events: Sequence[DeviceEvent]) -> int:
        if not events:
            return 0
        self.conn.execute(_INSERT_EVENT, [vars(e) | {"kind": e.kind.value} for e in events])
        return len(events)

    def events(self, device_id: str | None, limit: int) -> list[DeviceEvent]:
        q = select(t.device_events)
        if device_id is not None:
            q = q.where(_e.device_id == device_id)
        q = q.order_by(_e.received_at.desc(), _e.device_id, _e.sequence.desc()).limit(limit)
        return [_event(r) for r in self.conn.execute(q)]

    def count_events(self) -> int:
        return int(
            self.conn.execute(select(func.count()).select_from(t.device_events)).scalar_one()
        )
