"""Use cases of the device registry: register, rotate a key, revoke, list."""

from __future__ import annotations

import hashlib

from manafidh.domain.devices.events import DEVICE_ID as DEVICE_ID_PATTERN
from manafidh.domain.devices.events import KINDS_OF, MalformedEvent
from manafidh.domain.devices.registry import Device, DeviceKey, DeviceKind, Position
from manafidh.domain.errors import Conflict, NotFound, ValidationFailed
from manafidh.domain.identity import Permission, User
from manafidh.services import journal
from manafidh.services.ports import UnitOfWork


def key_id(public_key: bytes) -> str:
    """The name of a public key: SHA-256 of its raw bytes, hex."""
    return hashlib.sha256(public_key).hexdigest()


def _who(actor: User | None) -> tuple[str, str]:
    if actor is not None:
        actor.require(Permission.MANAGE_REFERENCE)
    return journal.by(actor)


def _key_payload(key: DeviceKey) -> dict[str, object]:
    return {
        "key_id": key.key_id,
        "public_key": key.public_key.hex(),
        "valid_from": key.valid_from,
        "reason": key.reason,
    }


def register_device(
    *,
    uow: UnitOfWork,
    actor: User | None,
    device_id: str,
    crossing_code: str,
    lane: str,
    kind: DeviceKind,
    position: Position,
    public_key: bytes,
    reason: str,
) -> Device:
    """Register a device at a crossing and lane with its first public key."""
    who = _who(actor)
    if not DEVICE_ID_PATTERN.fullmatch(device_id):
        raise ValidationFailed("a device id is 1-32 letters, digits, . _ -", field="device_id")
    if uow.reference.crossing(crossing_code) is None:
        raise NotFound(f"no crossing {crossing_code}", crossing=crossing_code)
    if not lane.strip() or len(lane) > 16:
        raise ValidationFailed("a lane is 1-16 characters", field="lane")
    if kind not in KINDS_OF:
        raise MalformedEvent("unknown device kind", field="kind")
    if uow.devices.get(device_id) is not None:
        raise Conflict(f"device {device_id} is already registered", device=device_id)
    now = uow.clock.now()
    key = DeviceKey(key_id(public_key), public_key, now, None, who[0], reason or "registered")
    device = Device(
        id=device_id,
        crossing_code=crossing_code,
        lane=lane,
        kind=kind,
        position=position,
        registered_at=now,
        registered_by=who[0],
        keys=[key],
    )
    uow.devices.add(device)
    journal.record(
        uow,
        who=who,
        crossing=crossing_code,
        action="device.registered",
        subject=f"device:{device_id}",
        payload={
            "lane": lane,
            "kind": kind.value,
            "position": position.value,
            "key": _key_payload(key),
        },
    )
    uow.commit()
    return device


def rotate_key(
    *, uow: UnitOfWork, actor: User | None, device_id: str, public_key: bytes, reason: str
) -> Device:
    """Replace a device's key: the old one stays valid for events dated before now."""
    who = _who(actor)
    if not reason.strip():
        raise ValidationFailed("a key rotation needs a reason", field="reason")
    device = _get(uow, device_id)
    now = uow.clock.now()
    new = DeviceKey(key_id(public_key), public_key, now, None, who[0], reason)
    old = device.rotate(new)
    uow.devices.save(device)
    journal.record(
        uow,
        who=who,
        crossing=device.crossing_code,
        action="device.key_rotated",
        subject=f"device:{device_id}",
        payload={"old_key_id": old.key_id, "old_valid_to": old.valid_to, "key": _key_payload(new)},
    )
    uow.commit()
    return device


def revoke_device(*, uow: UnitOfWork, actor: User | None, device_id: str, reason: str) -> Device:
    """Revoke a device: every event it sends from now on is refused."""
    who = _who(actor)
    device = _get(uow, device_id)
    device.revoke(at=uow.clock.now(), actor=who[0], reason=reason)
    uow.devices.save(device)
    journal.record(
        uow,
        who=who,
        crossing=device.crossing_code,
        action="device.revoked",
        subject=f"device:{device_id}",
        payload={"reason": reason},
    )
    uow.commit()
    return device


def list_devices(*, uow: UnitOfWork, crossing_code: str | None = None) -> list[Device]:
    """The registered devices, by id."""
    return uow.devices.all(crossing_code)


def _get(uow: UnitOfWork, device_id: str) -> Device:
    device = uow.devices.get(device_id)
    if device is None:
        raise NotFound(f"no device {device_id}", device=device_id)
    return device
