"""Devices under /api/v1/devices: signed events in, the registry and stored events out.

Devices authenticate by their signatures (docs/device-events.md), not by bearer tokens; reading
the registry and the events needs a user who may read the crossing's records.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status
from pydantic import BaseModel, ConfigDict, Field

from manafidh.adapters import device_keys
from manafidh.domain.devices.events import DeviceEvent, SubmittedEvent
from manafidh.domain.devices.registry import Device
from manafidh.domain.errors import Forbidden
from manafidh.domain.identity import Permission, User
from manafidh.services import device_events, devices
from manafidh.web.deps import UowDep, UserDep
from manafidh.web.errors import ERROR_RESPONSES, ErrorDetail

router = APIRouter(prefix="/api/v1/devices", tags=["devices"], responses=ERROR_RESPONSES)
MAX_BATCH = 1000


class DeviceEventIn(BaseModel):
    """A signed event as a device sends it (docs/device-events.md)."""

    model_config = ConfigDict(strict=True, extra="forbid")

    device_id: str = Field(max_length=64)
    sequence: int
    device_time: str = Field(max_length=64)
    kind: str = Field(max_length=32)
    payload: dict[str, Any]
    signature: str = Field(max_length=256, description="Ed25519 signature, 128 hex digits")

    def submitted(self) -> SubmittedEvent:
        """The domain's view of the event."""
        return SubmittedEvent(**self.model_dump())


class DeviceEventOut(BaseModel):
    """A stored event."""

    device_id: str
    sequence: int
    device_time: str
    received_at: datetime
    kind: str
    payload: dict[str, Any]
    crossing_code: str
    lane: str
    digest: str

    @classmethod
    def of(cls, e: DeviceEvent) -> DeviceEventOut:
        """Build from the domain event."""
        return cls(**e.as_json())


class BatchIn(BaseModel):
    """Events sent together (a device resending its buffer after being offline)."""

    model_config = ConfigDict(strict=True, extra="forbid")

    events: list[DeviceEventIn] = Field(min_length=1, max_length=MAX_BATCH)


class EventResult(BaseModel):
    """What became of one event of a batch."""

    index: int
    status: str = Field(description="accepted, duplicate or refused")
    event: DeviceEventOut | None = None
    error: ErrorDetail | None = None


class BatchOut(BaseModel):
    """One result per submitted event, in order."""

    accepted: int
    duplicates: int
    refused: int
    results: list[EventResult]


class DeviceOut(BaseModel):
    """A registered device and its keys."""

    id: str
    crossing_code: str
    lane: str
    kind: str
    position: str
    registered_at: datetime
    revoked_at: datetime | None
    revoke_reason: str | None
    keys: list[dict[str, Any]]

    @classmethod
    def of(cls, d: Device) -> DeviceOut:
        """Build from the domain device."""
        return cls(
            id=d.id,
            crossing_code=d.crossing_code,
            lane=d.lane,
            kind=d.kind.value,
            position=d.position.value,
            registered_at=d.registered_at,
            revoked_at=d.revoked_at,
            revoke_reason=d.revoke_reason,
            keys=[
                {
                    "key_id": k.key_id,
                    "valid_from": k.valid_from,
                    "valid_to": k.valid_to,
                    "added_by": k.added_by,
                    "reason": k.reason,
                }
                for k in d.keys
            ],
        )


@router.post(
    "/events",
    status_code=status.HTTP_201_CREATED,
    responses={200: {"model": DeviceEventOut, "description": "An exact duplicate, stored once"}},
)
def post_event(body: DeviceEventIn, uow: UowDep, response: Response) -> DeviceEventOut:
    """Submit one signed event: 201 when stored, 200 when it was already stored."""
    outcome = device_events.submit_event(uow=uow, event=body.submitted(), verify=device_keys.verify)
    if outcome.status == device_events.DUPLICATE:
        response.status_code = status.HTTP_200_OK
    assert outcome.event is not None
    return DeviceEventOut.of(outcome.event)


@router.post("/events/batch")
def post_batch(body: BatchIn, uow: UowDep) -> BatchOut:
    """Submit up to 1,000 signed events; each is accepted, a duplicate, or refused alone."""
    outcomes = device_events.submit_events(
        uow=uow, events=[e.submitted() for e in body.events], verify=device_keys.verify
    )
    results = [
        EventResult(
            index=i,
            status=o.status,
            event=DeviceEventOut.of(o.event) if o.event else None,
            error=ErrorDetail(code=o.error.code, message=o.error.message, details=o.error.details)
            if o.error
            else None,
        )
        for i, o in enumerate(outcomes)
    ]
    count = {s: sum(r.status == s for r in results) for s in ("accepted", "duplicate", "refused")}
    return BatchOut(
        accepted=count["accepted"],
        duplicates=count["duplicate"],
        refused=count["refused"],
        results=results,
    )


def _reader(user: User) -> None:
    if not (user.can(Permission.READ_CROSSING) or user.can(Permission.READ_ALL)):
        raise Forbidden(f"role {user.role.value} may not read devices")


@router.get("")
def list_devices(
    user: UserDep, uow: UowDep, crossing: Annotated[str | None, Query(max_length=8)] = None
) -> list[DeviceOut]:
    """The registered devices (of the user's crossings, for crossing staff)."""
    _reader(user)
    return [
        DeviceOut.of(d)
        for d in devices.list_devices(uow=uow, crossing_code=crossing)
        if user.works_at(d.crossing_code)
    ]


@router.get("/events")
def list_events(
    user: UserDep,
    uow: UowDep,
    device_id: Annotated[str | None, Query(max_length=32)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[DeviceEventOut]:
    """The latest stored events, newest first."""
    _reader(user)
    return [
        DeviceEventOut.of(e)
        for e in device_events.recent_events(uow=uow, device_id=device_id, limit=limit)
        if user.works_at(e.crossing_code)
    ]
