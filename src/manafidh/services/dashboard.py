"""The first dashboard: today's trucks per crossing by state and lane, duty assessed/collected."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from manafidh.domain.clock import IRAQ_TZ
from manafidh.domain.errors import Forbidden
from manafidh.domain.identity import Permission, User
from manafidh.domain.reference import Crossing
from manafidh.services.ports import UnitOfWork


@dataclass
class CrossingToday:
    """One crossing's row on the dashboard."""

    crossing: Crossing
    by_state: dict[str, int] = field(default_factory=dict)
    by_lane: dict[str, int] = field(default_factory=dict)
    duty_assessed_iqd: Decimal = Decimal("0.000")
    duty_collected_iqd: Decimal = Decimal("0.000")

    @property
    def trucks(self) -> int:
        """Trucks (declarations) counted for the day."""
        return sum(self.by_state.values())


@dataclass
class Dashboard:
    """What a user sees on the first page: only the crossings they may see."""

    day: date
    crossings: list[CrossingToday]

    @property
    def total_assessed_iqd(self) -> Decimal:
        """Duty assessed across the listed crossings."""
        return sum((c.duty_assessed_iqd for c in self.crossings), Decimal("0.000"))

    @property
    def total_collected_iqd(self) -> Decimal:
        """Duty collected across the listed crossings."""
        return sum((c.duty_collected_iqd for c in self.crossings), Decimal("0.000"))


def today(*, uow: UnitOfWork, actor: User, day: date | None = None) -> Dashboard:
    """Build the dashboard for ``day`` (Iraq's calendar day; today by default)."""
    if not (actor.can(Permission.READ_ALL) or actor.can(Permission.READ_CROSSING)):
        raise Forbidden("the dashboard is for crossing staff and headquarters")
    now = uow.clock.now()
    day = day or now.astimezone(IRAQ_TZ).date()
    start = datetime.combine(day, time.min, IRAQ_TZ).astimezone(UTC)
    end = start + timedelta(days=1)
    visible = [
        c
        for c in uow.reference.crossings()
        if actor.can(Permission.READ_ALL) or actor.works_at(c.code)
    ]
    rows = {c.code: CrossingToday(c) for c in visible}
    for code, state, lane, count in uow.reports.trucks_by_state_and_lane(start, end):
        row = rows.get(code)
        if row is None:
            continue
        row.by_state[state] = row.by_state.get(state, 0) + count
        if lane:
            row.by_lane[lane] = row.by_lane.get(lane, 0) + count
    for code, amount in uow.reports.duty_assessed(start, end).items():
        if code in rows:
            rows[code].duty_assessed_iqd = amount
    for code, amount in uow.reports.duty_collected(start, end).items():
        if code in rows:
            rows[code].duty_collected_iqd = amount
    return Dashboard(day, list(rows.values()))
