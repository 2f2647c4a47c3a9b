"""Revenue reports, read from rollups kept up to date in the transactions that move money.

Revenue by crossing and month and the daily close read the ledger's daily movements; revenue
by HS chapter, origin and trader reads the assessment rollup (the latest assessment of each
declaration, by month of acceptance). None of them scans declarations, items or postings.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from manafidh.domain.declarations.model import Declaration
from manafidh.domain.errors import ValidationFailed
from manafidh.domain.identity import Permission, User
from manafidh.domain.revenue.ledger import ZERO, Account, Kind, is_revenue
from manafidh.domain.tariff.assessment import Assessment
from manafidh.services.ports import Delta, UnitOfWork

DIMENSIONS = ("chapter", "origin", "trader")
ALL_CROSSINGS = "*"  # the rollup's crossing code for trader rows summed over every crossing
Row = tuple[object, ...]


@dataclass(frozen=True)
class Report:
    """A table: a name, column names and rows (amounts in IQD as Decimal)."""

    name: str
    columns: tuple[str, ...]
    rows: list[Row]


# -- keeping the assessment rollup up to date (called inside lodging and amending) ------------
def _shares(decl: Declaration, a: Assessment, sign: int) -> list[Delta]:
    version = next(v for v in decl.versions if v.number == a.version_number)
    origin = {i.line_no: i.origin_country for i in version.content.items}
    trader = version.content.importer_tax_id
    out: list[Delta] = []
    totals: dict[tuple[str, str], tuple[Decimal, Decimal, int]] = {}
    for line in a.lines:
        for dim, key in (
            ("chapter", line.hs_code[:2]),
            ("origin", origin.get(line.line_no, "")),
            ("trader", trader),
        ):
            d, v, n = totals.get((dim, key), (ZERO, ZERO, 0))
            totals[(dim, key)] = (d + line.duty_iqd, v + line.customs_value_iqd, n + 1)
    for (dim, key), (d, v, n) in totals.items():
        out.append((dim, key, sign * d, sign * v, sign * n))
    return out


def assessment_recorded(uow: UnitOfWork, decl: Declaration, assessment: Assessment) -> None:
    """Move the rollup from the declaration's previous assessment (if any) to this one."""
    deltas = _shares(decl, assessment, 1)
    if assessment.version_number > 1:
        previous = uow.declarations.latest_assessment(decl.id)
        if previous is not None:
            deltas += _shares(decl, previous, -1)
    month = assessment.acceptance_date.strftime("%Y-%m")
    merged: dict[tuple[str, str], tuple[Decimal, Decimal, int]] = {}
    for dim, key, d, v, n in deltas:
        d0, v0, n0 = merged.get((dim, key), (ZERO, ZERO, 0))
        merged[(dim, key)] = (d0 + d, v0 + v, n0 + n)
    changes = [(dim, key, d, v, n) for (dim, key), (d, v, n) in merged.items() if d or v or n]
    uow.revenue_rollup.bump(decl.crossing_code, month, changes)
    # Traders are many: a national report by trader reads rows summed over the crossings
    # already (one row per trader and month), not one per trader, crossing and month.
    uow.revenue_rollup.bump(ALL_CROSSINGS, month, [c for c in changes if c[0] == "trader"])


# -- keeping the foregone-revenue rollup up to date (called where exemptions are applied) ----
FOREGONE = "foregone"  # the rollup's dimension for duty relieved by exemptions, keyed by chapter
# An exempted line: (crossing, acceptance date, HS code, customs value, duty foregone).
ForegoneLine = tuple[str, date, str, Decimal, Decimal]


def foregone_changed(uow: UnitOfWork, lines: Sequence[ForegoneLine], sign: int) -> None:
    """Add (sign 1) or take back (sign -1) exempted lines in the foregone rollup (no commit)."""
    grouped: dict[tuple[str, str], dict[str, list[Decimal]]] = defaultdict(dict)
    for crossing, day, hs_code, value, foregone in lines:
        per = grouped[(crossing, day.strftime("%Y-%m"))]
        d, v, n = per.get(hs_code[:2], [ZERO, ZERO, ZERO])
        per[hs_code[:2]] = [d + foregone, v + value, n + 1]
    for (crossing, month), per in sorted(grouped.items()):
        uow.revenue_rollup.bump(
            crossing,
            month,
            [(FOREGONE, k, sign * d, sign * v, sign * int(n)) for k, (d, v, n) in per.items()],
        )


# -- the reports ----------------------------------------------------------------------------
def _require(actor: User | None) -> None:
    if actor is not None:
        actor.require(Permission.READ_REVENUE)


def _month(text: str, name: str) -> str:
    try:
        date.fromisoformat(text + "-01")
    except ValueError:
        raise ValidationFailed(f"{name} must be a month YYYY-MM", field=name) from None
    return text


def _pct(now: Decimal, before: Decimal) -> Decimal | None:
    if before == 0:
        return None
    return ((now - before) * 100 / before).quantize(Decimal("0.1"))


def _split(account: str, kind: str, amount: Decimal) -> tuple[Decimal, Decimal]:
    """(assessed, collected) contributions of one rollup row, both positive for revenue."""
    # Approved refunds (a contra-revenue account) reduce what was assessed.
    assessed = -amount if is_revenue(account) or account == Account.REFUNDS else ZERO
    collected = (
        -amount
        if account == Account.RECEIVABLE and kind in (Kind.COLLECTED, Kind.ALLOCATED)
        else ZERO
    )
    return assessed, collected


def _monthly(
    uow: UnitOfWork, since: date, until_year: int
) -> list[tuple[str, str, str, str, Decimal]]:
    """Monthly movements of the accounts revenue reports read (revenue and receivables)."""
    return uow.ledger.monthly(
        since=since,
        until=date(until_year, 12, 31),
        accounts=[Account.RECEIVABLE],
        account_prefix="revenue:",
    )


def by_crossing_and_month(*, uow: UnitOfWork, actor: User | None, year: int) -> Report:
    """Assessed and collected revenue per crossing and month of ``year``, with the change of
    collections on the same month of the previous year."""
    _require(actor)
    if not 2000 <= year <= 2100:
        raise ValidationFailed("year out of range", field="year")
    totals: dict[tuple[str, int, int], list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
    for account, crossing, month, kind, amount in _monthly(uow, date(year - 1, 1, 1), year):
        a, c = _split(account, kind, amount)
        if a or c:
            t = totals[(crossing, int(month[:4]), int(month[5:7]))]
            t[0] += a
            t[1] += c
    rows: list[Row] = []
    for crossing, y, m in sorted(k for k in totals if k[1] == year):
        assessed, collected = totals[(crossing, y, m)]
        before = totals.get((crossing, y - 1, m), [ZERO, ZERO])[1]
        rows.append(
            (crossing, f"{y}-{m:02d}", assessed, collected, before, _pct(collected, before))
        )
    return Report(
        "revenue_by_crossing_month",
        (
            "crossing",
            "month",
            "assessed_iqd",
            "collected_iqd",
            "collected_same_month_last_year_iqd",
            "change_percent",
        ),
        rows,
    )


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
    """Assessed duty and customs value by HS chapter, origin or trader, largest duty first."""
    _require(actor)
    if dimension not in DIMENSIONS:
        raise ValidationFailed(f"dimension is one of {', '.join(DIMENSIONS)}", field="dimension")
    if crossing_code == ALL_CROSSINGS:
        raise ValidationFailed("unknown crossing", field="crossing")
    if crossing_code is None and dimension == "trader":
        crossing_code = ALL_CROSSINGS
    rows = uow.revenue_rollup.by_dimension(
        dimension,
        since=_month(since, "since"),
        until=_month(until, "until"),
        crossing_code=crossing_code,
    )
    rows.sort(key=lambda r: (-r[1], r[0]))
    return Report(
        f"revenue_by_{dimension}",
        (dimension, "duty_iqd", "customs_value_iqd", "items"),
        [tuple(r) for r in rows[:limit]],
    )


def daily_close(
    *, uow: UnitOfWork, actor: User | None, day: date, crossing_code: str | None = None
) -> Report:
    """What moved at each crossing on one day: assessed, withdrawn, collected (by statement or
    callback), reconciled, held for payers, and the change in what is still owed."""
    _require(actor)
    cols = ("assessed", "withdrawn", "collected", "reconciled", "held_for_payers", "receivable")
    per: dict[str, dict[str, Decimal]] = defaultdict(lambda: dict.fromkeys(cols, ZERO))
    for account, crossing, _, kind, amount in uow.ledger.daily(
        since=day, until=day, crossing_code=crossing_code
    ):
        r = per[crossing]
        if is_revenue(account) and kind == Kind.ASSESSED:
            r["assessed"] -= amount
        if is_revenue(account) and kind == Kind.REVERSED:
            r["withdrawn"] += amount
        if account == Account.RECEIVABLE:
            r["receivable"] += amount
            if kind in (Kind.COLLECTED, Kind.ALLOCATED):
                r["collected"] -= amount
        if account == Account.BANK and kind == Kind.RECONCILED:
            r["reconciled"] += amount
        if account in (Account.SUSPENSE, Account.OVERPAYMENTS):
            r["held_for_payers"] -= amount
    return Report(
        "daily_close",
        ("crossing", "day", *(f"{c}_iqd" for c in cols)),
        [(c, day.isoformat(), *(per[c][k] for k in cols)) for c in sorted(per)],
    )


def public_monthly(*, uow: UnitOfWork, since: date, until: date) -> dict[str, dict[str, Decimal]]:
    """Collected revenue per crossing and month (for the public page: no personal data)."""
    out: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(lambda: ZERO))
    rows = uow.ledger.monthly(
        since=since, until=until, accounts=[Account.RECEIVABLE], account_prefix="revenue:"
    )
    for account, crossing, month, kind, amount in rows:
        _, c = _split(account, kind, amount)
        if c:
            out[crossing][month] += c
    return {k: dict(v) for k, v in out.items()}


def by_crossing_and_month_with_foregone(
    *, uow: UnitOfWork, actor: User | None, year: int
) -> Report:
    """Revenue per crossing and month of ``year`` (as ``by_crossing_and_month``) with the duty
    foregone through exemptions beside it, and its share of what would have been due."""
    base = by_crossing_and_month(uow=uow, actor=actor, year=year)
    foregone = {
        (crossing, month): duty
        for crossing, month, duty, _, _ in uow.revenue_rollup.by_crossing_month(
            FOREGONE, since=f"{year}-01", until=f"{year}-12"
        )
    }
    rows: dict[tuple[str, str], Row] = {(str(r[0]), str(r[1])): r for r in base.rows}
    for key in foregone:  # a month with exemptions only still shows its foregone revenue
        rows.setdefault(key, (key[0], key[1], ZERO, ZERO, ZERO, None))
    out: list[Row] = []
    for key in sorted(rows):
        row = rows[key]
        gone = foregone.get(key, ZERO)
        assessed = row[2]
        assert isinstance(assessed, Decimal)
        share = (gone * 100 / (assessed + gone)).quantize(Decimal("0.1")) if gone else None
        out.append((*row, gone, share))
    return Report(
        "revenue_and_foregone_by_crossing_month",
        (*base.columns, "foregone_iqd", "foregone_percent_of_due"),
        out,
    )
