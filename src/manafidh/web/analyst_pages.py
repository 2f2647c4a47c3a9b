"""The headquarters analyst's pages: revenue, foregone revenue, lagging projects, risk.

Each report is one page with its filters in the query string, a chart drawn on the server
where people would rather look than read, the full table, and the same rows as CSV or XLSX
(``?format=csv`` / ``?format=xlsx``). The services decide who may read what.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response

from manafidh.adapters.exports import FORMATS, export
from manafidh.domain.clock import local_date
from manafidh.domain.errors import DomainError, Forbidden, NotFound, ValidationFailed
from manafidh.domain.identity import Permission, User
from manafidh.services import analyst_reports
from manafidh.services.ports import UnitOfWork
from manafidh.services.revenue_reports import Report
from manafidh.web import charts, ui

router = APIRouter(include_in_schema=False)
DOWNLOADS = ("csv", "xlsx")


@dataclass(frozen=True)
class Filters:
    """A report's filters, read from the query string (defaults from today's date)."""

    year: int
    crossing: str
    since_month: str
    until_month: str
    day: date
    since_day: date
    until_day: date
    by: str
    as_of: date

    def query(self, names: tuple[str, ...]) -> dict[str, str]:
        """The filters ``names`` as query-string values (for links and downloads)."""
        values = {
            "year": str(self.year),
            "crossing": self.crossing,
            "since_month": self.since_month,
            "until_month": self.until_month,
            "day": self.day.isoformat(),
            "since_day": self.since_day.isoformat(),
            "until_day": self.until_day.isoformat(),
            "by": self.by,
            "as_of": self.as_of.isoformat(),
        }
        return {n: values[n] for n in names}


Build = Callable[[UnitOfWork, User, Filters], Report]


@dataclass(frozen=True)
class Spec:
    """A report page: its filters, how to build it, its chart and whether totals add up."""

    key: str
    filters: tuple[str, ...]
    build: Build
    chart: str | None = None  # "months" (this year beside last) or "bars" (largest values)
    value_column: str = ""  # the column the bars show
    totals: bool = False


def _dimension(dimension: str) -> Build:
    return lambda uow, user, f: analyst_reports.by_dimension(
        uow=uow,
        actor=user,
        dimension=dimension,
        since=f.since_month,
        until=f.until_month,
        crossing_code=f.crossing or None,
    )


def _risk(table: str) -> Build:
    return lambda uow, user, f: analyst_reports.risk(
        uow=uow,
        actor=user,
        table=table,
        since=f.since_day,
        until=f.until_day,
        crossing_code=f.crossing or None,
    )


MONTHS = ("since_month", "until_month", "crossing")
DAYS = ("since_day", "until_day")
SPECS: dict[str, Spec] = {
    s.key: s
    for s in (
        Spec(
            "crossing-month",
            ("year", "crossing"),
            lambda uow, user, f: analyst_reports.crossing_month(
                uow=uow, actor=user, year=f.year, crossing_code=f.crossing or None
            ),
            chart="months",
            totals=True,
        ),
        Spec("chapter", MONTHS, _dimension("chapter"), "bars", "duty_iqd", totals=True),
        Spec("origin", MONTHS, _dimension("origin"), "bars", "duty_iqd", totals=True),
        Spec("trader", MONTHS, _dimension("trader"), "bars", "duty_iqd", totals=True),
        Spec(
            "daily-close",
            ("day", "crossing"),
            lambda uow, user, f: analyst_reports.daily_close(
                uow=uow, actor=user, day=f.day, crossing_code=f.crossing or None
            ),
            totals=True,
        ),
        Spec(
            "foregone",
            ("by",),
            lambda uow, user, f: analyst_reports.foregone(uow=uow, actor=user, by=f.by),
            "bars",
            "foregone_iqd",
            totals=True,
        ),
        Spec(
            "lagging",
            ("as_of",),
            lambda uow, user, f: analyst_reports.lagging(uow=uow, actor=user, as_of=f.as_of),
            "bars",
            "rate_percent",
        ),
        Spec("risk-lane", DAYS, _risk("lane"), "bars", "hit_rate"),
        Spec("risk-rule", DAYS, _risk("rule"), "bars", "hit_rate"),
        Spec("risk-crossing-month", (*DAYS, "crossing"), _risk("crossing_month")),
    )
}
# Grouped as on the index page.
GROUPS = (
    ("revenue", ("crossing-month", "daily-close", "chapter", "origin", "trader")),
    ("exemptions", ("foregone", "lagging")),
    ("risk", ("risk-lane", "risk-rule", "risk-crossing-month")),
)


# -- filters ----------------------------------------------------------------------------------
def _month(text: str, field: str) -> str:
    try:
        date.fromisoformat(text + "-01")
    except ValueError:
        raise ValidationFailed(f"not a month (YYYY-MM): {text[:20]}", field=field) from None
    return text


def _day(text: str, field: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValidationFailed(f"not a date: {text[:20]}", field=field) from None


def defaults(today: date) -> Filters:
    """The filters when none is given: this year, this month, today."""
    return Filters(
        year=today.year,
        crossing="",
        since_month=f"{today.year}-01",
        until_month=today.strftime("%Y-%m"),
        day=today,
        since_day=date(today.year, 1, 1),
        until_day=today,
        by="beneficiary",
        as_of=today,
    )


def read_filters(query: dict[str, str], today: date, crossings: set[str]) -> Filters:
    """The filters of the query string; a bad value raises ValidationFailed."""
    d = defaults(today)
    year_text = query.get("year", "") or str(d.year)
    if not year_text.isdigit() or not 2000 <= int(year_text) <= 2100:
        raise ValidationFailed("the year is between 2000 and 2100", field="year")
    crossing = query.get("crossing", "")
    if crossing and crossing not in crossings:
        raise Forbidden(f"no crossing {crossing[:8]} among yours", crossing=crossing[:8])
    by = query.get("by", "") or d.by
    if by not in analyst_reports.FOREGONE_BY:
        raise ValidationFailed("unknown grouping", field="by")
    since_day = _day(query.get("since_day", "") or d.since_day.isoformat(), "since_day")
    until_day = _day(query.get("until_day", "") or d.until_day.isoformat(), "until_day")
    if until_day < since_day:
        raise ValidationFailed("the last day is before the first", field="until_day")
    return Filters(
        year=int(year_text),
        crossing=crossing,
        since_month=_month(query.get("since_month", "") or d.since_month, "since_month"),
        until_month=_month(query.get("until_month", "") or d.until_month, "until_month"),
        day=_day(query.get("day", "") or d.day.isoformat(), "day"),
        since_day=since_day,
        until_day=until_day,
        by=by,
        as_of=_day(query.get("as_of", "") or d.as_of.isoformat(), "as_of"),
    )


# -- what the template shows ------------------------------------------------------------------
MONEY_SUFFIX = "_iqd"
PERCENT_COLUMNS = {"change_percent", "rate_percent", "threshold_percent"}
LTR_COLUMNS = {
    "month",
    "day",
    "licence",
    "tax_id",
    "exemption",
    "window_to",
    "chapter",
    "origin",
    "trader",
    "rule",
}


def kind_of(column: str) -> str:
    """How a column's values are shown: money, percent, rate, crossing, lane, code or text."""
    if column.endswith(MONEY_SUFFIX):
        return "money"
    if column in PERCENT_COLUMNS:
        return "percent"
    if column == "hit_rate":
        return "rate"
    if column in ("crossing", "lane"):
        return column
    if column in LTR_COLUMNS:
        return "code"
    return "text"


def column_totals(report: Report, kinds: list[str]) -> list[object]:
    """Sums of the money and count columns (None where a sum means nothing)."""
    out: list[object] = []
    for i, kind in enumerate(kinds):
        values = [r[i] for r in report.rows]
        if kind == "money":
            out.append(sum((v for v in values if isinstance(v, Decimal)), Decimal("0.000")))
        elif kind == "text" and values and all(type(v) is int for v in values):
            out.append(sum(v for v in values if isinstance(v, int)))
        else:
            out.append(None)
    return out


def _chart(spec: Spec, report: Report, f: Filters) -> dict[str, Any]:
    if spec.chart == "months":
        months = [f"{f.year}-{m:02d}" for m in range(1, 13)]
        now: dict[str, Decimal] = {}
        before: dict[str, Decimal] = {}
        for row in report.rows:
            month = f"{row[1]}"
            now[month] = now.get(month, Decimal(0)) + Decimal(str(row[3]))
            before[month] = before.get(month, Decimal(0)) + Decimal(str(row[4]))
        return {"pairs": charts.month_pairs(months, now, before), "width": 20 + 44 * 12}
    if spec.chart == "bars" and report.rows:
        i = report.columns.index(spec.value_column)
        key = report.columns.index("project") if "project" in report.columns else 0
        items = [(r[key], Decimal(str(r[i] or 0))) for r in report.rows]
        bars = charts.hbars(items)
        return {"bars": bars, "height": charts.hbars_height(bars), "column": spec.value_column}
    return {}


def _download(report: Report, fmt: str, f: Filters, spec: Spec) -> Response:
    stamp = "-".join(v for v in f.query(spec.filters).values() if v)
    name = f"{report.name}-{stamp}" if stamp else report.name
    return Response(
        export(report, fmt),
        media_type=FORMATS[fmt],
        headers={"Content-Disposition": f'attachment; filename="{name}.{fmt}"'},
    )


def _report_page(request: Request, user: User, key: str) -> Response:
    spec = SPECS.get(key)
    if spec is None:
        raise NotFound(f"no report {key[:40]}", report=key[:40])
    user.require(Permission.READ_REVENUE)
    c = ui.container(request)
    today = local_date(c.clock.now())
    with c.uow(readonly=True) as uow:
        crossings = [x for x in uow.reference.crossings() if user.works_at(x.code)]
    lang = ui.language(request)
    names = {x.code: x.name(lang) for x in crossings}
    query = {k: v for k, v in request.query_params.items() if isinstance(v, str)}
    fmt = query.pop("format", "")
    error: DomainError | None = None
    report: Report | None = None
    try:
        f = read_filters(query, today, set(names))
        with c.uow(readonly=True) as uow:
            report = spec.build(uow, user, f)
    except ValidationFailed as refusal:
        error, f = refusal, defaults(today)
    if report is not None and fmt in DOWNLOADS:
        return ui.finish(request, _download(report, fmt, f, spec))
    kinds = [kind_of(col) for col in report.columns] if report else []
    return ui.page(
        request,
        "report.html",
        status=ui.status_of(error) if error else 200,
        user=user,
        spec=spec,
        report=report,
        kinds=kinds,
        totals=column_totals(report, kinds) if report and spec.totals and report.rows else [],
        filters=f,
        shown=query,
        crossings=crossings,
        crossing_names=names,
        foregone_by=analyst_reports.FOREGONE_BY,
        chart=_chart(spec, report, f) if report else {},
        download=urlencode(f.query(spec.filters)),
        error=error,
        path="/reports",
    )


# -- routes -----------------------------------------------------------------------------------
@router.get("/reports")
def reports_index(request: Request) -> Response:
    """The analyst's reports, grouped: revenue, exemptions, risk."""

    def build(user: User) -> Response:
        ui.require(user, Permission.READ_REVENUE)
        return ui.page(request, "reports.html", user=user, groups=GROUPS)

    return ui.guarded(request, build)


@router.get("/reports/{key}")
def report_page(request: Request, key: str) -> Response:
    """One report: filters, chart, table, and its CSV/XLSX download (``?format=``)."""
    return ui.guarded(request, lambda user: _report_page(request, user, key))
