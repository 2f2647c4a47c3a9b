"""The device registry: weighbridges, plate cameras and gate barriers, each with its keys.

The server keeps each device's Ed25519 public keys with their validity. Rotating a key closes
the old key's validity (it still verifies events dated inside it) and opens the new one; a
revoked device is refused from then on. Every step keeps who, when and why.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from manafidh.domain.errors import Conflict, ValidationFailed


class DeviceKind(StrEnum):
    """What a device measures or does."""

    WEIGHBRIDGE = "weighbridge"
    ANPR_CAMERA = "anpr_camera"
    GATE_BARRIER = "gate_barrier"


class Position(StrEnum):
    """Where the device stands on the lane: where trucks come in or where they leave."""

    ENTRY = "entry"
    EXIT = "exit"


@dataclass
class DeviceKey:
    """One public key of a device, valid from ``valid_from`` until ``valid_to`` (exclusive)."""

    key_id: str  # SHA-256 of the raw public key, hex
    public_key: bytes  # raw 32-byte Ed25519 public key
    valid_from: datetime
    valid_to: datetime | None
    added_by: str
    reason: str

    def valid_at(self, at: datetime) -> bool:
        """True when the key may sign an event dated ``at``."""
        return self.valid_from <= at and (self.valid_to is None or at < self.valid_to)


@dataclass
class Device:
    """A registered device at a crossing and lane."""

    id: str
    crossing_code: str
    lane: str
    kind: DeviceKind
    position: Position
    registered_at: datetime
    registered_by: str
    keys: list[DeviceKey] = field(default_factory=list)
    revoked_at: datetime | None = None
    revoked_by: str | None = None
    revoke_reason: str | None = None

    @property
    def revoked(self) -> bool:
        """True once the device has been revoked."""
        return self.revoked_at is not None

    def current_key(self) -> DeviceKey | None:
        """The key with an open validity, if any."""
        return next((k for k in self.keys if k.valid_to is None), None)

    def key_at(self, at: datetime) -> DeviceKey | None:
        """The key that was valid at ``at``."""
        return next((k for k in self.keys if k.valid_at(at)), None)

    def rotate(self, key: DeviceKey) -> DeviceKey:
        """Close the current key at ``key.valid_from`` and add ``key``; returns the old key."""
        if self.revoked:
            raise Conflict(f"device {self.id} is revoked", device=self.id)
        if any(k.key_id == key.key_id for k in self.keys):
            raise ValidationFailed("this public key was already used by the device", field="key")
        old = self.current_key()
        if old is None:
            raise Conflict(f"device {self.id} has no current key", device=self.id)
        if key.valid_from <= old.valid_from:
            raise ValidationFailed("a new key must start after the current one", field="at")
        old.valid_to = key.valid_from
        self.keys.append(key)
        return old

    def revoke(self, *, at: datetime, actor: str, reason: str) -> None:
        """Refuse every event from now on; the keys stay for the record."""
        if self.revoked:
            raise Conflict(f"device {self.id} is already revoked", device=self.id)
        if not reason.strip():
            raise ValidationFailed("a revocation needs a reason", field="reason")
        self.revoked_at = at
        self.revoked_by = actor
        self.revoke_reason = reason
        current = self.current_key()
        if current is not None:
            current.valid_to = at
