"""The revenue-reports benchmark's volume: generated in SQL, rollups equal to the services' own.

PostgreSQL only: the benchmark measures the national volume in PostgreSQL, and its generator is
PostgreSQL SQL (generate_series, hashint8extended, GROUPING SETS).
"""

from __future__ import annotations

import contextlib
import io
import json
from collections import Counter
from decimal import Decimal

import pytest
from bench import reports as bench
from sqlalchemy import delete, select, text

from manafidh.adapters.db import tables as t
from manafidh.services import ledger, revenue_reports

pytestmark = pytest.mark.postgres


def _rollups(container) -> tuple[list[tuple], list[tuple]]:
    with container.engine.connect() as conn:
        daily = sorted(tuple(r) for r in conn.execute(select(t.ledger_daily)))
        rollup = sorted(tuple(r) for r in conn.execute(select(t.revenue_rollup)))
    return daily, rollup


def _pairs(result) -> dict:
    return {r[0]: r[1] for r in result}


@pytest.mark.parametrize("db_backend", ["postgresql"])
def test_bulk_built_rollups_equal_what_the_incremental_posting_path_produces(container):
    counts = bench.build(container.settings.database_url, 3000)
    assert 2500 <= counts["items"] <= 3500
    assert counts["exempted_items"] > 0
    bulk_daily, bulk_rollup = _rollups(container)
    assert {r[0] for r in bulk_rollup} == {"chapter", "origin", "trader", "foregone"}
    with container.uow(readonly=True) as uow:
        postings = uow.ledger.postings()  # domain objects: each one balances, or this fails
    with container.engine.begin() as conn:
        uses = conn.execute(
            select(t.exemption_uses.c.crossing_code, t.exemption_uses.c.acceptance_date,
                   t.exemption_uses.c.hs_code, t.exemption_uses.c.value_iqd,
                   t.exemption_uses.c.foregone_iqd)
        ).all()  # fmt: skip
        ids = list(conn.execute(select(t.declarations.c.id)).scalars())
        for table in (t.ledger_daily, t.revenue_rollup, t.ledger_lines, t.ledger_postings):
            conn.execute(delete(table))
    # Replay the same data through the product's incremental path, in one transaction.
    with container.uow() as uow:
        for p in postings:
            uow.ledger.add(p)
        for did in ids:
            decl = uow.declarations.get(did)
            assessment = uow.declarations.latest_assessment(did)
            assert decl is not None
            assert assessment is not None
            revenue_reports.assessment_recorded(uow, decl, assessment)
        revenue_reports.foregone_changed(uow, [tuple(u) for u in uses], 1)
        uow.commit()
    daily, rollup = _rollups(container)
    assert daily == bulk_daily
    assert rollup == bulk_rollup
    with container.uow(readonly=True) as uow:
        tb = ledger.trial_balance(uow=uow, actor=None)
    assert tb.balanced
    assert tb.balances["assets:receivable"] > 0  # some orders are still (partly) unpaid


@pytest.mark.parametrize("db_backend", ["postgresql"])
def test_the_generated_volume_has_realistic_shapes(container):
    bench.build(container.settings.database_url, 4000)
    with container.engine.connect() as conn:
        crossings = Counter(
            _pairs(
                conn.execute(text("SELECT crossing_code, count(*) FROM declarations GROUP BY 1"))
            )
        )
        months = _pairs(
            conn.execute(
                text("SELECT to_char(acceptance_date, 'YYYY'), count(*) FROM declarations"
                     " GROUP BY 1")
            )
        )  # fmt: skip
        sizes = _pairs(
            conn.execute(text("SELECT version_id, count(*) FROM declaration_items GROUP BY 1"))
        )
        traders = conn.execute(
            text("SELECT importer_tax_id, count(*) FROM declaration_versions GROUP BY 1"
                 " ORDER BY 2 DESC")
        ).all()  # fmt: skip
        states = _pairs(conn.execute(text("SELECT state, count(*) FROM payment_orders GROUP BY 1")))
    assert crossings.most_common(1)[0][0] == "SHL"
    assert len(crossings) == 9
    assert set(months) == {"2025", "2026"}
    assert months["2026"] > months["2025"]  # traffic grows
    assert min(sizes.values()) == 1
    assert max(sizes.values()) >= 10
    assert traders[0][1] > 5 * traders[len(traders) // 2][1]  # a few traders carry much
    assert states["paid"] > 10 * states.get("open", 0) > 0


def test_the_benchmark_command_prints_its_figures_and_a_json_last_line():
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert bench.main(["--items", "1500", "--repeat", "1"]) == 0
    last = json.loads(out.getvalue().strip().splitlines()[-1])
    assert 1000 <= last["items"] <= 2000
    assert 0 < last["report_ms_p50"] <= last["report_ms_max"]
    assert "crossing_month_foregone" in last["reports"]
    assert Decimal(str(last["report_ms_max"])) > 0
