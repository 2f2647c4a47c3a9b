"""Shift monitoring flags: the night pass and the silent weighbridge, per hour."""

from __future__ import annotations

from datetime import datetime, timedelta

from manafidh.domain.clock import IRAQ_TZ
from manafidh.domain.devices.monitoring import NIGHT_PASS, WEIGHBRIDGE_SILENT, Happenings, hours

MIDNIGHT = datetime(2026, 3, 16, tzinfo=IRAQ_TZ)


def at(h: int, m: int = 0) -> datetime:
    return MIDNIGHT + timedelta(hours=h, minutes=m)


def report(**kw):
    base = {"arrivals": [], "weighings": [], "checks": [], "exits": [], "alarms": []}
    return hours(
        Happenings(**(base | kw)),
        day_start=MIDNIGHT,
        tz=IRAQ_TZ,
        lanes_needing_checks=["yellow", "red"],
        has_weighbridge=True,
    )


def test_an_hour_where_red_and_yellow_trucks_left_unchecked_is_a_night_pass():
    rows = report(
        exits=[(at(2, 10), "red", True), (at(2, 20), "yellow", False), (at(2, 30), "green", False)],
        weighings=[at(2)],
    )
    two = rows[2]
    assert (two.exits, two.exits_needing_checks, two.exits_checked) == (3, 2, 1)
    assert two.flags == [NIGHT_PASS]
    assert all(not r.flags for r in rows if r is not two)


def test_green_exits_and_checked_exits_are_not_flagged():
    rows = report(exits=[(at(14), "green", False), (at(14, 5), "red", True)], weighings=[at(14)])
    assert rows[14].flags == []


def test_trucks_moving_while_the_weighbridge_reports_nothing_is_flagged():
    rows = report(arrivals=[at(23, 40)], exits=[(at(23, 50), "green", False)])
    assert rows[23].flags == [WEIGHBRIDGE_SILENT]
    assert len(rows) == 24
    assert rows[0].start == MIDNIGHT


def test_a_crossing_without_a_weighbridge_is_never_silent():
    rows = hours(
        Happenings([at(1)], [], [], [], []),
        day_start=MIDNIGHT,
        tz=IRAQ_TZ,
        lanes_needing_checks=["red"],
        has_weighbridge=False,
    )
    assert rows[1].flags == []
