"""The analyst's and the finance officer's journeys in a real Chromium, in Arabic and English.

An analyst opens revenue by crossing and month from the navigation and downloads it; a finance
officer imports a bank statement and resolves the exception it opened, with a reason. Each page
is checked with axe-core and photographed into test-artifacts/screenshots.
"""

from __future__ import annotations

import csv
import io
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import Page, expect
from tests.browser.conftest import add_user, journey_container, open_page, serving
from tests.browser.test_roles import check_page, sign_in
from tests.conftest import START
from tests.factories import content, item

from manafidh.bootstrap import Container
from manafidh.domain.clock import FixedClock, local_date
from manafidh.domain.identity import Role, User
from manafidh.services import declarations, payments
from manafidh.simulation.statements import Credit, camt053
from manafidh.web import i18n
from manafidh.web.app import create_app

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = pytest.mark.browser
LANGS = ["ar", "en"]


@dataclass
class World:
    """This module's deployment: container, users, base URL, what was collected."""

    container: Container
    base_url: str = ""
    users: dict[str, User] = field(default_factory=dict)
    collected: dict[str, Decimal] = field(default_factory=dict)


def _paid(c: Container, trader: User, at: datetime, value: str, n: int) -> Decimal:
    """A declaration at Al-Shalamcheh lodged and paid in full at ``at``."""
    assert isinstance(c.clock, FixedClock)
    c.clock.set(at)
    goods = content(items=[item(1, invoice_value=Decimal(value))], vehicle_plates=[f"IR {n} Q"])
    with c.uow() as uow:
        decl = declarations.submit(
            uow=uow, actor=trader, crossing_code="SHL", content=goods, rng=random.Random(n)
        )
    with c.uow() as uow:
        order = uow.payments.orders_for(decl.id)[-1]
    with c.uow() as uow:
        payments.confirm_bank_payment(
            uow=uow,
            confirmation=payments.Confirmation(
                f"TX-{order.reference}", order.reference, order.amount_iqd, at
            ),
        )
    amount: Decimal = order.amount_iqd
    return amount


@pytest.fixture(scope="module")
def world(
    sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory, audit_key_file: Path
) -> Iterator[World]:
    """Revenue in March 2025 and March 2026, an analyst and a finance officer, a live server."""
    workdir = tmp_path_factory.mktemp("analyst")
    c = journey_container(sqlite_template, workdir, 5, audit_key_file=audit_key_file)
    w = World(c)
    trader = add_user(c, "dijla", "Dijla Trading Co.", Role.TRADER)
    w.users["analyst"] = add_user(c, "hawre.hq", "Hawre Aziz", Role.ANALYST)
    w.users["finance"] = add_user(c, "layla.fin", "ليلى عبد الله", Role.FINANCE)
    w.collected["2025-03"] = _paid(c, trader, datetime(2025, 3, 9, 7, tzinfo=UTC), "3000", 1)
    w.collected["2026-03"] = _paid(c, trader, datetime(2026, 3, 9, 7, tzinfo=UTC), "8000", 2)
    c.clock.set(START)
    try:
        with serving(create_app(c)) as base_url:
            w.base_url = base_url
            yield w
    finally:
        c.engine.dispose()


@pytest.fixture
def apage(browser: Browser, world: World) -> Iterator[Page]:
    """A fresh browser page on this module's server; no script error allowed."""
    with open_page(browser, world.base_url, accept_downloads=True) as pg:
        yield pg


@pytest.mark.parametrize("lang", LANGS)
def test_an_analyst_opens_revenue_by_crossing_and_month_and_exports_it(apage, world, lang):
    page = apage
    sign_in(page, "hawre.hq", lang)
    page.locator('nav.main-nav a[href="/reports"]').click()
    expect(page).to_have_url(f"{world.base_url}/reports")
    check_page(page, f"analyst-reports-{lang}")
    page.locator("#report-crossing-month").click()
    expect(page.locator("html")).to_have_attribute("dir", "rtl" if lang == "ar" else "ltr")
    expect(page.locator("figure.chart svg")).to_have_attribute("dir", "ltr")
    now, before = world.collected["2026-03"], world.collected["2025-03"]
    march = page.locator("#report-table tbody tr").filter(has_text="2026-03")
    expect(march).to_have_count(1)
    expect(march.locator('td[data-column="collected_iqd"]')).to_have_text(
        i18n.format_money(now, lang)
    )
    expect(march.locator('td[data-column="collected_same_month_last_year_iqd"]')).to_have_text(
        i18n.format_money(before, lang)
    )
    check_page(page, f"analyst-crossing-month-{lang}")

    with page.expect_download() as csv_download:
        page.locator("#download-csv").click()
    assert csv_download.value.suggested_filename.endswith(".csv")
    rows = list(csv.DictReader(io.StringIO(Path(csv_download.value.path()).read_text("utf-8"))))
    assert [(r["crossing"], r["month"], Decimal(r["collected_iqd"])) for r in rows] == [
        ("SHL", "2026-03", now)
    ]
    assert Decimal(rows[0]["collected_same_month_last_year_iqd"]) == before

    with page.expect_download() as xlsx_download:
        page.locator("#download-xlsx").click()
    assert xlsx_download.value.suggested_filename.endswith(".xlsx")
    assert Path(xlsx_download.value.path()).read_bytes()[:2] == b"PK"

    # Another year through the filters: last year's March stands alone, nothing before it.
    page.locator("#f-year").fill("2025")
    page.locator("form.filters button[type=submit]").click()
    expect(page).to_have_url(f"{world.base_url}/reports/crossing-month?year=2025&crossing=")
    expect(page.locator("#report-table tbody tr")).to_have_count(1)


@pytest.mark.parametrize("lang", LANGS)
def test_a_finance_officer_imports_a_statement_and_resolves_its_exception(
    apage, world, lang, tmp_path
):
    page = apage
    day = local_date(world.container.clock.now())
    entry_ref = f"BNK-{lang.upper()}-1"
    statement = tmp_path / f"statement-{lang}.xml"
    statement.write_bytes(
        camt053(
            f"STMT-{lang}",
            day,
            [Credit(entry_ref, Decimal("1250.000"), day, "customs duty, no reference", False)],
        )
    )
    sign_in(page, "layla.fin", lang)
    expect(page).to_have_url(f"{world.base_url}/finance/exceptions")
    page.locator('nav.main-nav a[href="/finance/statements"]').click()
    page.locator("#statement-file").set_input_files(str(statement))
    page.locator("#import").click()
    expect(page.locator("#import-result")).to_be_visible()
    expect(page.locator("#exceptions-opened")).to_have_text("1")
    expect(page.locator("#statements")).to_contain_text(f"STMT-{lang}")
    check_page(page, f"finance-statements-{lang}")

    page.locator("#import-result a[href='/finance/exceptions']").click()
    card = page.locator("section.exception").filter(has_text=entry_ref)
    expect(card).to_have_count(1)
    check_page(page, f"finance-exceptions-{lang}")
    # Without a reason the service refuses, and the choice made is kept.
    card.locator("select[name=resolution]").select_option("accept")
    card.locator("button[type=submit]").click()
    card = page.locator("section.exception").filter(has_text=entry_ref)
    expect(card.locator("[role=alert]")).to_be_visible()
    reason = "رسوم مصرفية أعادها المصرف" if lang == "ar" else "bank charges refunded by the bank"
    card.locator("textarea[name=reason]").fill(reason)
    card.locator("button[type=submit]").click()
    expect(page.locator("#resolved-notice")).to_be_visible()
    expect(page.locator("section.exception").filter(has_text=entry_ref)).to_have_count(0)

    page.goto("/finance/exceptions?state=resolved")
    done = page.locator("section.exception").filter(has_text=entry_ref)
    expect(done.locator(".reason")).to_have_text(reason)
    expect(done).to_contain_text("ليلى عبد الله")
    check_page(page, f"finance-resolved-{lang}")


@pytest.mark.parametrize("lang", LANGS)
def test_every_report_page_passes_axe_and_is_photographed(apage, world, lang):
    from manafidh.web.analyst_pages import SPECS

    page = apage
    sign_in(page, "hawre.hq", lang)
    for key in SPECS:
        page.goto(f"/reports/{key}?since_month=2025-01&since_day=2025-01-01")
        expect(page.locator("#report-table")).to_be_visible()
        check_page(page, f"analyst-report-{key}-{lang}")
