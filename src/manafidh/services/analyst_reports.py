"""The headquarters analyst's reports as tables, ready to show and to export.

Each function reads through an existing use case (revenue reports, foregone revenue, lagging
investment projects, risk performance) and returns a ``Report`` (name, columns, rows), so the
page and its CSV/XLSX download are the same rows. Rows of a crossing the actor may not see are
left out (crossing-bound roles see their crossings only).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from manafidh.domain.errors import ValidationFailed
from manafidh.domain.identity import User
from manafidh.services import exemptions, investment, revenue_reports, risk_reports
from manafidh.services.ports import UnitOfWork
from manafidh.services.revenue_reports import Report, Row

FOREGONE_BY = ("beneficiary", "legal_basis", "chapter", "crossing", "month")
RISK_TABLES = ("lane", "rule", "crossing_month")
RATE_COLUMNS = (
    "declarations",
    "checked",
    "found",
    "hit_rate",
    "extra_duty_iqd",
    "extra_duty_per_check_iqd",
)


def _visible(actor: User | None, crossing: object) -> bool:
    return actor is None or not isinstance(crossing, str) or actor.works_at(crossing)


def _scoped(actor: User | None, report: Report, crossing_column: int | None) -> Report:
    if crossing_column is None:
        return report
    rows = [r for r in report.rows if _visible(actor, r[crossing_column])]
    return Report(report.name, report.columns, rows)


def _only(report: Report, crossing_code: str | None) -> Report:
    """Keep the rows of one crossing (column 0), when one is asked for."""
    if not crossing_code:
        return report
    return Report(report.name, report.columns, [r for r in report.rows if r[0] == crossing_code])


def crossing_month(
    *, uow: UnitOfWork, actor: User | None, year: int, crossing_code: str | None = None
) -> Report:
    """Revenue per crossing and month of ``year`` with the change on the same month a year
    before, for one crossing or all the actor may see."""
    report = revenue_reports.by_crossing_and_month(uow=uow, actor=actor, year=year)
    return _scoped(actor, _only(report, crossing_code), 0)


def by_dimension(
    *,
    uow: UnitOfWork,
    actor: User | None,
    dimension: str,
    since: str,
    until: str,
    crossing_code: str | None = None,
    limit: int = 1000,
) -> Report:
    """Assessed duty by HS chapter, origin or trader over months ``since``..``until``."""
    if since > until:
        raise ValidationFailed("the first month is after the last", field="until")
    return revenue_reports.by_dimension(
        uow=uow,
        actor=actor,
        dimension=dimension,
        since=since,
        until=until,
        crossing_code=crossing_code or None,
        limit=limit,
    )


def daily_close(
    *, uow: UnitOfWork, actor: User | None, day: date, crossing_code: str | None = None
) -> Report:
    """What moved at each crossing on ``day``."""
    report = revenue_reports.daily_close(
        uow=uow, actor=actor, day=day, crossing_code=crossing_code or None
    )
    return _scoped(actor, report, 0)


def foregone(*, uow: UnitOfWork, actor: User | None, by: str) -> Report:
    """Revenue foregone through exemptions, grouped ``by`` one of ``FOREGONE_BY``."""
    rows: list[Row] = [tuple(r) for r in exemptions.foregone_report(uow=uow, actor=actor, by=by)]
    report = Report(f"foregone_by_{by}", (by, "foregone_iqd", "customs_value_iqd", "lines"), rows)
    return _scoped(actor, report, 0 if by == "crossing" else None)


def lagging(*, uow: UnitOfWork, actor: User | None, as_of: date) -> Report:
    """Investment projects lagging on ``as_of``: their implementation rate and the threshold."""
    rows: list[Row] = [
        (
            x.project.licence_number,
            x.project.name,
            x.project.tax_id,
            x.exemption_reference,
            x.rate_percent,
            x.threshold,
            x.project.window_to.isoformat(),
        )
        for x in investment.lagging_projects(uow=uow, actor=actor, as_of=as_of)
    ]
    rows.sort(key=lambda r: (Decimal(str(r[4])), str(r[0])))
    return Report(
        "lagging_projects",
        (
            "licence",
            "project",
            "tax_id",
            "exemption",
            "rate_percent",
            "threshold_percent",
            "window_to",
        ),
        rows,
    )


def _rate_cells(rate: dict[str, Any]) -> tuple[object, ...]:
    return tuple(rate[c] for c in RATE_COLUMNS)


def risk(
    *,
    uow: UnitOfWork,
    actor: User | None,
    table: str,
    since: date,
    until: date,
    crossing_code: str | None = None,
) -> Report:
    """Risk performance: hit rate and revenue recovered per inspection by lane, by rule, or per
    crossing and month (``table``)."""
    if table not in RISK_TABLES:
        raise ValidationFailed(f"table is one of {', '.join(RISK_TABLES)}", field="table")
    data = risk_reports.report(uow=uow, actor=actor, since=since, until=until)
    if table == "lane":
        rows: list[Row] = [(k, *_rate_cells(v)) for k, v in data["by_lane"].items()]
        rows.append(("random_control", *_rate_cells(data["random_control"])))
        return Report("risk_by_lane", ("lane", *RATE_COLUMNS), rows)
    if table == "rule":
        rows = [(int(k), *_rate_cells(v)) for k, v in data["by_rule"].items()]
        return Report("risk_by_rule", ("rule", *RATE_COLUMNS), rows)
    rows = [(r["crossing"], r["month"], *_rate_cells(r)) for r in data["by_crossing_month"]]
    report = Report("risk_by_crossing_month", ("crossing", "month", *RATE_COLUMNS), rows)
    return _scoped(actor, _only(report, crossing_code), 0)
