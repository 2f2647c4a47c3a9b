"""The shift and night monitoring report of a crossing, hour by hour."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from manafidh.domain.clock import IRAQ_TZ
from manafidh.domain.declarations.model import Lane
from manafidh.domain.devices.monitoring import Hour, hours
from manafidh.domain.devices.registry import DeviceKind, Position
from manafidh.domain.errors import Forbidden, NotFound
from manafidh.domain.identity import Permission, User
from manafidh.services.ports import UnitOfWork


def shift_report(*, uow: UnitOfWork, actor: User, crossing_code: str, day: date) -> list[Hour]:
    """Per hour of ``day`` (Iraq time) at the crossing: arrivals, weighings, checks, exits,
    alarms, and the hours flagged as a night pass or a silent weighbridge."""
    if not (actor.can(Permission.READ_ALL) or actor.can(Permission.READ_CROSSING)):
        raise Forbidden(f"role {actor.role.value} may not read monitoring reports")
    if not actor.works_at(crossing_code) or uow.reference.crossing(crossing_code) is None:
        raise NotFound(f"no crossing {crossing_code}", crossing=crossing_code)
    start = datetime.combine(day, time.min, IRAQ_TZ)
    end = start + timedelta(days=1)
    weighbridge = any(
        d.kind is DeviceKind.WEIGHBRIDGE and d.position is Position.ENTRY and not d.revoked
        for d in uow.devices.all(crossing_code)
    )
    return hours(
        uow.monitoring.happenings(crossing_code, start, end),
        day_start=start,
        tz=IRAQ_TZ,
        lanes_needing_checks=[lane.value for lane in Lane if lane.needs_checks],
        has_weighbridge=weighbridge,
    )
