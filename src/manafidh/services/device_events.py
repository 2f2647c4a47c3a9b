"""Receiving signed device events: check, store once, journal, act on them.

A batch is checked event by event: a refused event stores nothing and does not stop the
others. Accepted events are written with one statement per batch and journaled with one audit
entry per device (each event's sequence, kind and digest), in the same transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from manafidh.domain.devices import events as ev
from manafidh.domain.devices.events import (
    Checked,
    DeviceEvent,
    Limits,
    ReplayedSequence,
    SubmittedEvent,
    Verify,
)
from manafidh.domain.devices.registry import Device
from manafidh.domain.errors import DomainError
from manafidh.services import gate_control, journal
from manafidh.services.ports import UnitOfWork

ACCEPTED = "accepted"
DUPLICATE = "duplicate"
REFUSED = "refused"


@dataclass(frozen=True)
class Outcome:
    """What became of one submitted event."""

    status: str  # accepted, duplicate or refused
    event: DeviceEvent | None = None
    error: DomainError | None = None


def limits(uow: UnitOfWork, at: datetime) -> Limits:
    """The clock limits in force at ``at``."""
    params = uow.reference.parameters()
    day = at.date()
    return Limits(
        max_ahead=timedelta(seconds=int(params.get(ev.MAX_CLOCK_AHEAD, day).value)),
        max_age=timedelta(seconds=int(params.get(ev.MAX_EVENT_AGE, day).value)),
    )


def submit_events(
    *, uow: UnitOfWork, events: Sequence[SubmittedEvent], verify: Verify
) -> list[Outcome]:
    """Check and store a batch of events; one outcome per event, in order."""
    now = uow.clock.now()
    bounds = limits(uow, now)
    outcomes: list[Outcome | None] = [None] * len(events)
    checked: dict[int, Checked] = {}
    for i, e in enumerate(events):
        try:
            checked[i] = ev.check_format(e)
        except DomainError as exc:
            outcomes[i] = Outcome(REFUSED, error=exc)
    devices = uow.devices.get_many({c.event.device_id for c in checked.values()})
    stored = uow.devices.stored_events(
        (c.event.device_id, c.event.sequence) for c in checked.values()
    )
    fresh: dict[tuple[str, int], DeviceEvent] = {}
    for i, c in checked.items():
        pair = (c.event.device_id, c.event.sequence)
        try:
            outcomes[i] = _one(c, pair, devices, stored, fresh, now, bounds, verify)
        except DomainError as exc:
            outcomes[i] = Outcome(REFUSED, error=exc)
    new = list(fresh.values())
    if new:
        uow.devices.add_events(new)
        _journal(uow, new)
        gate_control.process(uow, new)
        uow.commit()
    return [o for o in outcomes if o is not None]


def _one(
    c: Checked,
    pair: tuple[str, int],
    devices: dict[str, Device],
    stored: dict[tuple[str, int], DeviceEvent],
    fresh: dict[tuple[str, int], DeviceEvent],
    now: datetime,
    bounds: Limits,
    verify: Verify,
) -> Outcome:
    earlier = stored.get(pair) or fresh.get(pair)
    if earlier is not None and earlier.digest == c.digest and earlier.signature == c.signature:
        # The very same signed bytes again (a resend after a lost answer): stored once.
        return Outcome(DUPLICATE, event=earlier)
    device = ev.check_device(c, devices.get(c.event.device_id))
    ev.check_time(c, now, bounds)
    key_id = ev.check_signature(c, device, verify)
    if earlier is not None:
        raise ReplayedSequence(
            f"sequence {c.event.sequence} of device {device.id} was already used",
            device_id=device.id,
            sequence=c.event.sequence,
        )
    event = ev.accepted(c, device, key_id, now)
    fresh[pair] = event
    return Outcome(ACCEPTED, event=event)


def _journal(uow: UnitOfWork, new: Sequence[DeviceEvent]) -> None:
    by_device: dict[str, list[DeviceEvent]] = {}
    for e in new:
        by_device.setdefault(e.device_id, []).append(e)
    for device_id, events in by_device.items():
        journal.record(
            uow,
            who=(device_id, "device"),
            crossing=events[0].crossing_code,
            action="device.events_recorded",
            subject=f"device:{device_id}",
            payload={"events": [[e.sequence, e.kind.value, e.digest.hex()] for e in events]},
        )


def submit_event(*, uow: UnitOfWork, event: SubmittedEvent, verify: Verify) -> Outcome:
    """Check and store one event; a refusal raises its error (nothing is stored)."""
    (outcome,) = submit_events(uow=uow, events=[event], verify=verify)
    if outcome.error is not None:
        raise outcome.error
    return outcome


def recent_events(*, uow: UnitOfWork, device_id: str | None, limit: int = 100) -> list[DeviceEvent]:
    """The latest stored events, newest first."""
    return uow.devices.events(device_id, limit)
