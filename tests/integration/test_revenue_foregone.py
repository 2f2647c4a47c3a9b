"""Foregone revenue from exemptions beside collected revenue, by crossing and month."""

from __future__ import annotations

import csv
import io
import random
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select
from tests.factories import content, item

from manafidh.adapters.db import tables as t
from manafidh.adapters.exports import export
from manafidh.domain.tariff.exemptions import BeneficiaryKind, Exemption
from manafidh.services import declarations, exemptions, payments, revenue_reports

EXEMPT = "IQ-100200300"  # the factories' importer, beneficiary of the exemption
OTHER = "IQ-555000111"


def _grant(container) -> None:
    e = Exemption(
        id=0,
        reference="EX-HOUSING",
        beneficiary_kind=BeneficiaryKind.INSTITUTION,
        beneficiary_name="Ministry of Housing",
        beneficiary_tax_id=EXEMPT,
        legal_basis="Customs Law No. 23 of 1984, art. 182 (test)",
        valid_from=date(2025, 1, 1),
        valid_to=None,
        relief_percent=Decimal("50"),
        codes=("69",),
    )
    with container.uow() as uow:
        exemptions.grant(uow=uow, actor=None, exemption=e)


def _traffic(container, make_user) -> None:
    """Exempted and ordinary declarations at two crossings over months; some amended, paid."""
    trader = make_user("trader")
    rng = random.Random(3)
    start = datetime(2026, 1, 10, 7, tzinfo=UTC)
    for n in range(14):
        container.clock.set(start + timedelta(days=rng.randint(0, 150)))
        tax_id = EXEMPT if n % 3 else OTHER
        items = [
            item(k, hs_code=rng.choice(["690721", "392310"]),
                 invoice_value=Decimal(rng.randint(500, 9000)))
            for k in range(1, rng.randint(1, 3) + 1)
        ]  # fmt: skip
        with container.uow() as uow:
            decl = declarations.submit(
                uow=uow, actor=trader, crossing_code=rng.choice(["SHL", "MND"]),
                content=content(items=items, importer_tax_id=tax_id), rng=random.Random(n),
            )  # fmt: skip
        if n % 4 == 0:  # a corrected invoice: the earlier relief is taken back, the new counts
            again = [
                item(i.line_no, hs_code="690721", invoice_value=i.invoice_value * 2) for i in items
            ]
            with container.uow() as uow:
                declarations.amend(
                    uow=uow, actor=trader, declaration_id=decl.id,
                    content=content(items=again, importer_tax_id=tax_id),
                    reason="corrected invoice", rng=random.Random(n),
                )  # fmt: skip
        if n % 2:
            with container.uow() as uow:
                (order,) = [o for o in uow.payments.orders_for(decl.id) if o.state.value == "open"]
            with container.uow() as uow:
                payments.confirm_bank_payment(
                    uow=uow,
                    confirmation=payments.Confirmation(
                        f"TXF{n}", order.reference, order.outstanding_iqd, container.clock.now()
                    ),
                )


def _foregone_from_uses(container) -> dict[tuple[str, str], Decimal]:
    u = t.exemption_uses.c
    out: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    with container.engine.connect() as conn:
        for crossing, day, gone in conn.execute(
            select(u.crossing_code, u.acceptance_date, u.foregone_iqd).where(u.released.is_(False))
        ):
            out[(crossing, f"{day:%Y-%m}")] += gone
    return dict(out)


def test_foregone_revenue_stands_beside_collected_and_agrees_with_the_exempted_lines(
    container, make_user
):
    _grant(container)
    _traffic(container, make_user)
    want = _foregone_from_uses(container)
    assert len(want) >= 3
    assert all(v > 0 for v in want.values())
    with container.uow(readonly=True) as uow:
        plain = revenue_reports.by_crossing_and_month(uow=uow, actor=None, year=2026)
        report = revenue_reports.by_crossing_and_month_with_foregone(uow=uow, actor=None, year=2026)
        by_crossing = exemptions.foregone_report(uow=uow, actor=None, by="crossing")
    assert report.columns[: len(plain.columns)] == plain.columns
    assert report.columns[-2:] == ("foregone_iqd", "foregone_percent_of_due")
    rows = {(r[0], r[1]): r for r in report.rows}
    # The collected and assessed figures are those of the plain report, unchanged.
    assert [rows[(r[0], r[1])][: len(r)] for r in plain.rows] == plain.rows
    got = {k: r[-2] for k, r in rows.items() if r[-2]}
    assert got == want
    assert {c: g for c, g, _, _ in by_crossing} == {
        c: sum(v for (x, _), v in want.items() if x == c) for c in {k[0] for k in want}
    }
    for r in report.rows:
        if r[-2]:
            assert r[-1] == (r[-2] * 100 / (r[2] + r[-2])).quantize(Decimal("0.1"))
    text = export(report, "csv").decode()
    exported = list(csv.reader(io.StringIO(text)))
    assert exported[0][-2:] == ["foregone_iqd", "foregone_percent_of_due"]
    assert {(x[0], x[1]): Decimal(x[-2]) for x in exported[1:] if Decimal(x[-2])} == want


def test_an_amendment_that_ends_the_relief_takes_the_foregone_revenue_back(container, make_user):
    _grant(container)
    trader = make_user("trader")
    with container.uow() as uow:
        decl = declarations.submit(
            uow=uow, actor=trader, crossing_code="SHL", content=content(items=[item(1)]),
            rng=random.Random(1),
        )  # fmt: skip
    month = f"{container.clock.now():%Y-%m}"
    with container.uow(readonly=True) as uow:
        r = revenue_reports.by_crossing_and_month_with_foregone(
            uow=uow, actor=None, year=int(month[:4])
        )
    assert {(x[0], x[1]): x[-2] for x in r.rows}[("SHL", month)] > 0
    with container.uow() as uow:  # corrected to plastics: outside the exemption's chapters
        declarations.amend(
            uow=uow, actor=trader, declaration_id=decl.id,
            content=content(items=[item(1, hs_code="392310")]), reason="wrong heading",
            rng=random.Random(1),
        )  # fmt: skip
    with container.uow(readonly=True) as uow:
        r = revenue_reports.by_crossing_and_month_with_foregone(
            uow=uow, actor=None, year=int(month[:4])
        )
    assert {(x[0], x[1]): x[-2] for x in r.rows}[("SHL", month)] == 0
    assert _foregone_from_uses(container) == {}
