"""Revenue reports read rollups; they agree with totals recomputed from the raw records."""

from __future__ import annotations

import csv
import io
import random
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import select
from tests.factories import content, item

from manafidh.adapters.db import tables as t
from manafidh.adapters.exports import export
from manafidh.domain.clock import local_date
from manafidh.domain.errors import ValidationFailed
from manafidh.services import declarations, payments, revenue_reports

HS = ["690721", "392310", "252329", "720839", "070310", "170199"]
ORIGINS = ["IR", "TR", "CN", "AE"]
TRADERS = ["IQ-100200300", "IQ-555000111", "IQ-777888999"]


def _traffic(container, make_user, rng: random.Random) -> None:
    """Declarations over two years at two crossings; some paid, some amended after payment."""
    trader = make_user("trader")
    start = datetime(2025, 1, 5, 7, tzinfo=UTC)
    for n in range(36):
        container.clock.set(start + timedelta(days=rng.randint(0, 700), hours=rng.randint(0, 8)))
        items = [
            item(
                k,
                hs_code=rng.choice(HS),
                origin_country=rng.choice(ORIGINS),
                invoice_value=Decimal(rng.randint(100, 50_000)),
            )
            for k in range(1, rng.randint(1, 4) + 1)
        ]
        c = content(items=items, importer_tax_id=rng.choice(TRADERS))
        with container.uow() as uow:
            decl = declarations.submit(
                uow=uow,
                actor=trader,
                crossing_code=rng.choice(["SHL", "MND"]),
                content=c,
                rng=random.Random(n),
            )
        if n % 3 == 0:  # a corrected invoice: re-assessed, the rollup follows the latest
            bigger = [
                item(i.line_no, hs_code=i.hs_code, origin_country=i.origin_country,
                     invoice_value=i.invoice_value + 1000)
                for i in items
            ]  # fmt: skip
            with container.uow() as uow:
                declarations.amend(
                    uow=uow, actor=trader, declaration_id=decl.id,
                    content=content(items=bigger, importer_tax_id=c.importer_tax_id),
                    reason="corrected invoice", rng=random.Random(n),
                )  # fmt: skip
        if n % 4 != 1:
            container.clock.advance(timedelta(hours=2))
            with container.uow() as uow:
                order = [o for o in uow.payments.orders_for(decl.id) if o.state.value == "open"]
            for o in order:
                with container.uow() as uow:
                    payments.confirm_bank_payment(
                        uow=uow,
                        confirmation=payments.Confirmation(
                            f"TX{n}-{o.reference}", o.reference, o.outstanding_iqd,
                            container.clock.now(),
                        ),
                    )  # fmt: skip


def _raw(container):
    """Totals from declarations, versions, items, assessments and payments (no rollups)."""
    with container.engine.connect() as conn:
        decls = {r.id: r for r in conn.execute(select(t.declarations))}
        versions = {
            (r.declaration_id, r.number): r for r in conn.execute(select(t.declaration_versions))
        }
        items = {(r.version_id, r.line_no): r for r in conn.execute(select(t.declaration_items))}
        latest = {}
        for a in conn.execute(select(t.assessments)):
            if (
                a.declaration_id not in latest
                or latest[a.declaration_id].version_number < a.version_number
            ):
                latest[a.declaration_id] = a
        lines = defaultdict(list)
        for line in conn.execute(select(t.assessment_lines)):
            lines[line.assessment_id].append(line)
        pays = conn.execute(select(t.payments)).all()
    by_dim: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for did, a in latest.items():
        v = versions[(did, a.version_number)]
        for line in lines[a.id]:
            it = items[(v.id, line.line_no)]
            by_dim["chapter"][line.hs_code[:2]] += line.duty_iqd
            by_dim["origin"][it.origin_country] += line.duty_iqd
            by_dim["trader"][v.importer_tax_id] += line.duty_iqd
    collected: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for p in pays:
        d = local_date(p.received_at)
        collected[(p.crossing_code, f"{d:%Y-%m}")] += p.amount_iqd
    assessed_month: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    return by_dim, collected, decls, assessed_month


@pytest.mark.parametrize("seed", [5])
def test_reports_agree_with_totals_recomputed_from_raw_records(container, make_user, seed):
    _traffic(container, make_user, random.Random(seed))
    by_dim, collected, _, _ = _raw(container)
    with container.uow(readonly=True) as uow:
        for dim in revenue_reports.DIMENSIONS:
            r = revenue_reports.by_dimension(
                uow=uow, actor=None, dimension=dim, since="2020-01", until="2030-12"
            )
            got = {row[0]: row[1] for row in r.rows if row[1]}
            want = {k: v for k, v in by_dim[dim].items() if v}
            assert got == want, dim
        months = {}
        for year in (2025, 2026, 2027):
            r = revenue_reports.by_crossing_and_month(uow=uow, actor=None, year=year)
            for crossing, month, _, coll, before, change in r.rows:
                months[(crossing, month)] = coll
                prev = f"{int(month[:4]) - 1}{month[4:]}"
                assert before == collected.get((crossing, prev), 0)
                if before:
                    assert change == ((coll - before) * 100 / before).quantize(Decimal("0.1"))
        assert {k: v for k, v in months.items() if v} == {k: v for k, v in collected.items() if v}


def test_the_daily_close_shows_what_moved_that_day(container, make_user):
    trader = make_user("trader")
    with container.uow() as uow:
        decl = declarations.submit(
            uow=uow, actor=trader, crossing_code="SHL", content=content(), rng=random.Random(1)
        )
        order = uow.payments.orders_for(decl.id)[0]
    with container.uow() as uow:
        payments.confirm_bank_payment(
            uow=uow,
            confirmation=payments.Confirmation(
                "TXD", order.reference, Decimal(1000), container.clock.now()
            ),
        )
    day = local_date(container.clock.now())
    with container.uow(readonly=True) as uow:
        r = revenue_reports.daily_close(uow=uow, actor=None, day=day)
        empty = revenue_reports.daily_close(uow=uow, actor=None, day=day - timedelta(days=1))
    row = dict(zip(r.columns, r.rows[0], strict=True))
    assert row["crossing"] == "SHL"
    assert row["assessed_iqd"] == order.amount_iqd
    assert row["collected_iqd"] == Decimal(1000)
    assert row["receivable_iqd"] == order.amount_iqd - 1000
    assert empty.rows == []


def test_exports_carry_the_exact_amounts(container):
    report = revenue_reports.Report(
        "t", ("crossing", "amount_iqd", "items", "change"),
        [("SHL", Decimal("1234567.891"), 3, None), ("MND", Decimal("0.001"), 1, Decimal("-2.5"))],
    )  # fmt: skip
    rows = list(csv.reader(io.StringIO(export(report, "csv").decode())))
    assert rows == [
        ["crossing", "amount_iqd", "items", "change"],
        ["SHL", "1234567.891", "3", ""],
        ["MND", "0.001", "1", "-2.5"],
    ]
    table = pq.read_table(pa.BufferReader(export(report, "parquet")))
    assert table.column("amount_iqd").to_pylist() == [Decimal("1234567.891"), Decimal("0.001")]
    assert table.column("items").to_pylist() == [3, 1]
    xlsx = export(report, "xlsx")
    assert xlsx[:2] == b"PK"  # a zip container, as every XLSX
    assert b"xl/worksheets/sheet1.xml" in xlsx


def test_bad_report_parameters_are_refused(container):
    with container.uow(readonly=True) as uow:
        with pytest.raises(ValidationFailed):
            revenue_reports.by_dimension(
                uow=uow, actor=None, dimension="hs", since="2026-01", until="2026-02"
            )
        with pytest.raises(ValidationFailed):
            revenue_reports.by_dimension(
                uow=uow, actor=None, dimension="origin", since="2026-13", until="2026-02"
            )
        with pytest.raises(ValidationFailed):
            revenue_reports.by_crossing_and_month(uow=uow, actor=None, year=1900)
