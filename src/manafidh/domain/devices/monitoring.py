"""Shift and night monitoring: per crossing and hour, what happened and what looks wrong.

Two patterns are flagged: the "night pass" (trucks leaving with fewer checks than their lanes
demanded, or leaving without clearance at all) and device silence (trucks arriving or leaving
while the entry weighbridge reports nothing).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo

NIGHT_PASS = "night_pass"
WEIGHBRIDGE_SILENT = "weighbridge_silent"
EXIT_KINDS = frozenset({"exit_without_release"})


@dataclass(frozen=True)
class Happenings:
    """The raw instants of one crossing's day, as the records hold them."""

    arrivals: list[datetime]  # entry plate reads
    weighings: list[datetime]  # entry weighings
    checks: list[datetime]  # document checks and inspections recorded
    exits: list[tuple[datetime, str | None, bool]]  # (when, lane, a check was recorded)
    alarms: list[tuple[datetime, str]]  # (when, kind)


@dataclass
class Hour:
    """One hour of one crossing."""

    start: datetime
    arrivals: int = 0
    weighings: int = 0
    checks: int = 0
    exits: int = 0
    exits_needing_checks: int = 0
    exits_checked: int = 0
    alarms: int = 0
    exits_without_clearance: int = 0
    flags: list[str] = field(default_factory=list)


def _hour(at: datetime, tz: tzinfo) -> datetime:
    return at.astimezone(tz).replace(minute=0, second=0, microsecond=0)


def hours(
    happened: Happenings,
    *,
    day_start: datetime,
    tz: tzinfo,
    lanes_needing_checks: Iterable[str],
    has_weighbridge: bool,
) -> list[Hour]:
    """The 24 hours from ``day_start`` (local midnight) with their counts and flags."""
    needing = set(lanes_needing_checks)
    rows = {
        _hour(day_start + timedelta(hours=h), tz): Hour(_hour(day_start + timedelta(hours=h), tz))
        for h in range(24)
    }

    def row(at: datetime) -> Hour | None:
        return rows.get(_hour(at, tz))

    for at in happened.arrivals:
        if (r := row(at)) is not None:
            r.arrivals += 1
    for at in happened.weighings:
        if (r := row(at)) is not None:
            r.weighings += 1
    for at in happened.checks:
        if (r := row(at)) is not None:
            r.checks += 1
    for at, lane, checked in happened.exits:
        if (r := row(at)) is not None:
            r.exits += 1
            if lane in needing:
                r.exits_needing_checks += 1
                r.exits_checked += checked
    for at, kind in happened.alarms:
        if (r := row(at)) is not None:
            r.alarms += 1
            r.exits_without_clearance += kind in EXIT_KINDS
    for r in rows.values():
        if r.exits_checked < r.exits_needing_checks or r.exits_without_clearance:
            r.flags.append(NIGHT_PASS)
        if has_weighbridge and r.weighings == 0 and (r.arrivals or r.exits):
            r.flags.append(WEIGHBRIDGE_SILENT)
    return [rows[k] for k in sorted(rows)]
