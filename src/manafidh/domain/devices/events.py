"""Signed device events: the canonical encoding, payload rules and the checks before storing.

The encoding is documented for device makers in docs/device-events.md. A device signs
``MESSAGE_PREFIX + canonical_json({"device_id", "sequence", "device_time", "kind",
"payload"})`` with its Ed25519 key; the server rebuilds the same bytes from what it received,
so any change to any field breaks the signature.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from manafidh.domain.audit.canonical import canonical_json
from manafidh.domain.devices.gate import normalise_plate
from manafidh.domain.devices.registry import Device, DeviceKind
from manafidh.domain.errors import BadSignature, Conflict, DomainError, ValidationFailed

MESSAGE_PREFIX = b"manafidh-device-event-v1\n"
# Names of the dated parameters (data/parameters.csv) bounding a device's clock.
MAX_CLOCK_AHEAD = "devices.max_clock_ahead_seconds"
MAX_EVENT_AGE = "devices.max_event_age_seconds"
MAX_SEQUENCE = (1 << 63) - 1
MAX_GROSS_KG = 200_000  # far above any legal road vehicle: a reading beyond is a fault
MAX_AXLES = 12
_HEX64 = re.compile(r"[0-9a-f]{64}")
_SIGNATURE = re.compile(r"[0-9a-f]{128}")
DEVICE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,31}")


class EventKind(StrEnum):
    """What an event reports."""

    WEIGHING = "weighing"
    PLATE_READ = "plate_read"
    GATE = "gate"


class GateAction(StrEnum):
    """What a barrier reports."""

    OPEN = "open"
    CLOSE = "close"
    VEHICLE_PASSED = "vehicle_passed"


# Which device may report which kind of event.
KINDS_OF = {
    DeviceKind.WEIGHBRIDGE: EventKind.WEIGHING,
    DeviceKind.ANPR_CAMERA: EventKind.PLATE_READ,
    DeviceKind.GATE_BARRIER: EventKind.GATE,
}


class MalformedEvent(ValidationFailed):
    """The event does not follow the format (docs/device-events.md)."""

    code = "malformed_event"


class UnknownDevice(DomainError):
    """No device is registered under the id."""

    code = "unknown_device"
    kind = "unauthenticated"


class DeviceRevoked(DomainError):
    """The device was revoked: nothing it sends is accepted."""

    code = "device_revoked"
    kind = "forbidden"


class KeyNotValid(DomainError):
    """No key of the device was valid at the event's time."""

    code = "key_not_valid"
    kind = "unauthenticated"


class ReplayedSequence(Conflict):
    """The sequence number was already used for a different event."""

    code = "replayed_sequence"


class TimestampOutOfRange(ValidationFailed):
    """The device's timestamp is too far ahead of, or too far behind, the server's clock."""

    code = "timestamp_out_of_range"


@dataclass(frozen=True)
class SubmittedEvent:
    """An event as a device sent it, before any check."""

    device_id: str
    sequence: int
    device_time: str
    kind: str
    payload: Mapping[str, Any]
    signature: str  # hex, 128 characters

    def body(self) -> dict[str, Any]:
        """The signed fields."""
        return {
            "device_id": self.device_id,
            "sequence": self.sequence,
            "device_time": self.device_time,
            "kind": self.kind,
            "payload": dict(self.payload),
        }


def signed_message(
    *, device_id: str, sequence: int, device_time: str, kind: str, payload: Mapping[str, Any]
) -> bytes:
    """The exact bytes a device signs."""
    body = {
        "device_id": device_id,
        "sequence": sequence,
        "device_time": device_time,
        "kind": kind,
        "payload": dict(payload),
    }
    return MESSAGE_PREFIX + canonical_json(body).encode("utf-8")


@dataclass(frozen=True)
class Limits:
    """How far a device's clock may be from the server's (dated parameters)."""

    max_ahead: timedelta
    max_age: timedelta


@dataclass(frozen=True)
class DeviceEvent:
    """An accepted event, as stored (append-only)."""

    device_id: str
    sequence: int
    device_time: datetime
    device_time_text: str
    received_at: datetime
    kind: EventKind
    payload: dict[str, Any]
    plate: str | None
    crossing_code: str
    lane: str
    position: str
    key_id: str
    digest: bytes  # SHA-256 of the signed message
    signature: bytes

    def as_json(self) -> dict[str, Any]:
        """The event as the API returns it."""
        return {
            "device_id": self.device_id,
            "sequence": self.sequence,
            "device_time": self.device_time_text,
            "received_at": self.received_at,
            "kind": self.kind.value,
            "payload": self.payload,
            "crossing_code": self.crossing_code,
            "lane": self.lane,
            "digest": self.digest.hex(),
        }


Verify = Callable[[bytes, bytes, bytes], bool]  # (public key, signature, message) -> valid


def parse_time(text: str) -> datetime:
    """An RFC 3339 instant with its offset (``2026-03-15T06:00:00.250Z``)."""
    if not isinstance(text, str) or not 20 <= len(text) <= 35 or text[10] not in "Tt":
        raise MalformedEvent("device_time must be an RFC 3339 instant", field="device_time")
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise MalformedEvent(
            "device_time must be an RFC 3339 instant", field="device_time"
        ) from None
    if at.tzinfo is None:
        raise MalformedEvent("device_time needs a UTC offset or Z", field="device_time")
    return at


def _int(value: Any, name: str, low: int, high: int) -> int:
    if type(value) is not int or not low <= value <= high:
        raise MalformedEvent(f"{name} must be a whole number from {low} to {high}", field=name)
    return value


def _plate(value: Any, name: str = "plate") -> str:
    if not isinstance(value, str) or not 1 <= len(normalise_plate(value)) <= 20:
        raise MalformedEvent("plate must be text of 1 to 20 characters", field=name)
    return normalise_plate(value)


def _only(payload: Mapping[str, Any], allowed: set[str], required: set[str]) -> None:
    extra = set(payload) - allowed
    if extra:
        raise MalformedEvent(f"unknown payload fields: {sorted(extra)}", field="payload")
    missing = required - set(payload)
    if missing:
        raise MalformedEvent(f"missing payload fields: {sorted(missing)}", field="payload")


def check_payload(kind: EventKind, payload: Any) -> str | None:
    """Check a payload against its kind's format; returns the normalised plate it names."""
    if not isinstance(payload, Mapping):
        raise MalformedEvent("payload must be an object", field="payload")
    if kind is EventKind.WEIGHING:
        _only(payload, {"plate", "gross_kg", "axle_kg"}, {"plate", "gross_kg"})
        _int(payload["gross_kg"], "gross_kg", 1, MAX_GROSS_KG)
        axles = payload.get("axle_kg")
        if axles is not None:
            if not isinstance(axles, list) or not 1 <= len(axles) <= MAX_AXLES:
                raise MalformedEvent(f"axle_kg must list 1 to {MAX_AXLES} axles", field="axle_kg")
            for a in axles:
                _int(a, "axle_kg", 1, MAX_GROSS_KG)
        return _plate(payload["plate"])
    if kind is EventKind.PLATE_READ:
        _only(
            payload,
            {"plate", "confidence_permille", "image_sha256"},
            {"plate", "confidence_permille", "image_sha256"},
        )
        _int(payload["confidence_permille"], "confidence_permille", 0, 1000)
        digest = payload["image_sha256"]
        if not isinstance(digest, str) or not _HEX64.fullmatch(digest):
            raise MalformedEvent("image_sha256 must be 64 lower-case hex digits", field="image")
        return _plate(payload["plate"])
    _only(payload, {"action", "plate"}, {"action"})
    if payload["action"] not in {a.value for a in GateAction}:
        raise MalformedEvent(
            f"action must be one of {[a.value for a in GateAction]}", field="action"
        )
    return _plate(payload["plate"]) if payload.get("plate") is not None else None


@dataclass(frozen=True)
class Checked:
    """An event that passed the format checks: its signed bytes and what they say."""

    event: SubmittedEvent
    kind: EventKind
    at: datetime
    plate: str | None
    message: bytes
    digest: bytes
    signature: bytes


def check_format(event: SubmittedEvent) -> Checked:
    """Everything that can be checked without the registry: fields, payload, encoding."""
    if not isinstance(event.device_id, str) or not DEVICE_ID.fullmatch(event.device_id):
        raise MalformedEvent("device_id must be 1-32 letters, digits, . _ -", field="device_id")
    _int(event.sequence, "sequence", 1, MAX_SEQUENCE)
    at = parse_time(event.device_time)
    try:
        kind = EventKind(event.kind)
    except ValueError:
        raise MalformedEvent(
            f"kind must be one of {[k.value for k in EventKind]}", field="kind"
        ) from None
    plate = check_payload(kind, event.payload)
    if not isinstance(event.signature, str) or not _SIGNATURE.fullmatch(event.signature):
        raise MalformedEvent("signature must be 128 lower-case hex digits", field="signature")
    try:
        message = signed_message(**event.body())
    except (TypeError, ValueError) as exc:  # a float or another value with no canonical form
        raise MalformedEvent(f"payload has no canonical form: {exc}", field="payload") from None
    return Checked(
        event=event,
        kind=kind,
        at=at,
        plate=plate,
        message=message,
        digest=hashlib.sha256(message).digest(),
        signature=bytes.fromhex(event.signature),
    )


def check_device(checked: Checked, device: Device | None) -> Device:
    """The device is registered, not revoked, and sends the kind of event it is made for."""
    e = checked.event
    if device is None:
        raise UnknownDevice(f"no device {e.device_id} is registered", device_id=e.device_id)
    if device.revoked:
        raise DeviceRevoked(f"device {device.id} is revoked", device_id=device.id)
    if KINDS_OF[device.kind] is not checked.kind:
        raise MalformedEvent(
            f"a {device.kind.value} does not send {checked.kind.value} events", field="kind"
        )
    return device


def check_signature(checked: Checked, device: Device, verify: Verify) -> str:
    """The key valid at the event's time signed it; returns that key's id."""
    key = device.key_at(checked.at)
    if key is None:
        raise KeyNotValid(
            f"device {device.id} had no valid key at {checked.event.device_time}",
            device_id=device.id,
        )
    if not verify(key.public_key, checked.signature, checked.message):
        raise BadSignature("the event's signature does not verify", device_id=device.id)
    return key.key_id


def check_origin(checked: Checked, device: Device | None, verify: Verify) -> str:
    """check_device then check_signature: returns the id of the key that verified."""
    return check_signature(checked, check_device(checked, device), verify)


def check_time(checked: Checked, now: datetime, limits: Limits) -> None:
    """The device's clock agrees with the server's, within the dated limits."""
    if checked.at > now + limits.max_ahead:
        raise TimestampOutOfRange(
            "device_time is ahead of the server's clock by more than "
            f"{int(limits.max_ahead.total_seconds())} s",
            device_time=checked.event.device_time,
        )
    if checked.at < now - limits.max_age:
        raise TimestampOutOfRange(
            "device_time is older than the oldest event accepted "
            f"({int(limits.max_age.total_seconds())} s)",
            device_time=checked.event.device_time,
        )


def accepted(checked: Checked, device: Device, key_id: str, now: datetime) -> DeviceEvent:
    """The event to store."""
    e = checked.event
    return DeviceEvent(
        device_id=device.id,
        sequence=e.sequence,
        device_time=checked.at,
        device_time_text=e.device_time,
        received_at=now,
        kind=checked.kind,
        payload=dict(e.payload),
        plate=checked.plate,
        crossing_code=device.crossing_code,
        lane=device.lane,
        position=device.position.value,
        key_id=key_id,
        digest=checked.digest,
        signature=checked.signature,
    )
