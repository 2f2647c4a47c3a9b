"""The analyst's report pages and the finance officer's pages over HTTP, on SQLite and PostgreSQL:
who may see them, filters in the query string, downloads that hold the rows on the screen,
statement upload and the exceptions queue."""

from __future__ import annotations

import csv
import io
import random
import re
import zipfile
from datetime import UTC, datetime
from decimal import Decimal
from xml.etree.ElementTree import fromstring

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from tests.conftest import PASSWORD
from tests.factories import content, item

from manafidh.adapters.db import tables as t
from manafidh.domain.clock import local_date
from manafidh.domain.identity import Role
from manafidh.services import analyst_reports, declarations, payments
from manafidh.simulation.statements import Credit, camt053, csv_statement
from manafidh.web import i18n
from manafidh.web.analyst_pages import SPECS
from manafidh.web.app import create_app


def _client(container, username: str | None = None) -> TestClient:
    client = TestClient(create_app(container), follow_redirects=False)
    if username:
        r = client.post("/signin", data={"username": username, "password": PASSWORD})
        assert r.status_code == 303
    return client


def _paid(container, trader, crossing: str, at: datetime, value: str, n: int) -> Decimal:
    """Lodge a one-item declaration at ``at`` and pay it in full; returns the amount paid."""
    container.clock.set(at)
    goods = content(items=[item(1, invoice_value=Decimal(value))], vehicle_plates=[f"IR {n}"])
    with container.uow() as uow:
        decl = declarations.submit(
            uow=uow, actor=trader, crossing_code=crossing, content=goods, rng=random.Random(n)
        )
    with container.uow() as uow:
        order = uow.payments.orders_for(decl.id)[-1]
    with container.uow() as uow:
        payments.confirm_bank_payment(
            uow=uow,
            confirmation=payments.Confirmation(
                f"TX-{order.reference}", order.reference, order.amount_iqd, at
            ),
        )
    return order.amount_iqd


@pytest.fixture
def revenue(container, make_user):
    """Payments in March 2025 and March 2026 at Al-Shalamcheh, March 2026 at Zurbatiyah."""
    start = container.clock.now()
    trader = make_user("trader")
    amounts = {
        ("SHL", "2025-03"): _paid(
            container, trader, "SHL", datetime(2025, 3, 10, 7, tzinfo=UTC), "4000", 1
        ),
        ("SHL", "2026-03"): _paid(
            container, trader, "SHL", datetime(2026, 3, 10, 7, tzinfo=UTC), "9000", 2
        ),
        ("ZRB", "2026-03"): _paid(
            container, trader, "ZRB", datetime(2026, 3, 11, 7, tzinfo=UTC), "2500", 3
        ),
    }
    container.clock.set(start)
    return amounts


def _table_rows(html: str) -> list[list[str]]:
    """The body rows of the report table, as the text of their cells."""
    body = html.split('id="report-table"', 1)[1].split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    rows = re.findall(r"<tr>(.*?)</tr>", body, re.DOTALL)
    return [
        [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", r)]
        for r in rows
        if 'class="empty"' not in r
    ]


def _xlsx_rows(raw: bytes) -> list[list[str]]:
    """Read an XLSX back (it is a zip of XML parts): each row's cells as text."""
    ns = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}
    with zipfile.ZipFile(io.BytesIO(raw)) as z:
        shared = []
        if "xl/sharedStrings.xml" in z.namelist():
            root = fromstring(z.read("xl/sharedStrings.xml"))
            shared = ["".join(x.itertext()) for x in root.findall("m:si", ns)]
        sheet = fromstring(z.read("xl/worksheets/sheet1.xml"))
    out = []
    for row in sheet.iterfind(".//m:row", ns):
        cells = []
        for cell in row.findall("m:c", ns):
            v = cell.find("m:v", ns)
            text = "" if v is None else v.text or ""
            cells.append(shared[int(text)] if cell.get("t") == "s" else text)
        out.append(cells)
    return out


# -- the analyst's reports --------------------------------------------------------------------
def test_revenue_by_crossing_and_month_shows_the_change_on_last_year_and_exports_the_same_rows(
    container, make_user, revenue
):
    analyst = make_user("analyst")
    client = _client(container, analyst.username)
    r = client.get("/reports/crossing-month?year=2026&lang=en")
    assert r.status_code == 200
    assert "Revenue by crossing and month" in r.text
    shown = _table_rows(r.text)
    shl = next(row for row in shown if row[1] == "2026-03" and "Shalamcheh" in row[0])
    now, before = revenue[("SHL", "2026-03")], revenue[("SHL", "2025-03")]
    assert shl[3] == i18n.format_money(now, "en")
    assert shl[4] == i18n.format_money(before, "en")
    change = ((now - before) * 100 / before).quantize(Decimal("0.1"))
    assert shl[5] == f"{i18n.format_number(change, 'en')} %"
    assert '<svg role="img"' in r.text
    assert 'dir="ltr"' in r.text  # the chart keeps its direction in Arabic too

    csv_r = client.get("/reports/crossing-month?year=2026&format=csv")
    assert csv_r.status_code == 200
    assert csv_r.headers["content-type"].startswith("text/csv")
    assert "attachment" in csv_r.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(csv_r.text)))
    assert rows[0][:4] == ["crossing", "month", "assessed_iqd", "collected_iqd"]
    assert len(rows) - 1 == len(shown)
    for line, screen in zip(rows[1:], shown, strict=True):
        assert screen[1] == line[1]
        assert screen[3] == i18n.format_money(Decimal(line[3]), "en")
    assert ["SHL", "2026-03", str(now)] in [[r[0], r[1], r[3]] for r in rows[1:]]

    xlsx = client.get("/reports/crossing-month?year=2026&format=xlsx")
    assert xlsx.status_code == 200
    back = _xlsx_rows(xlsx.content)
    assert back[0] == rows[0]
    for line, cells in zip(rows[1:], back[1:], strict=True):
        assert cells[:2] == line[:2]
        assert Decimal(cells[3]).quantize(Decimal("0.001")) == Decimal(line[3])


def test_the_crossing_filter_narrows_the_report_and_its_download(container, make_user, revenue):
    client = _client(container, make_user("analyst").username)
    r = client.get("/reports/crossing-month?year=2026&crossing=ZRB&lang=en")
    assert r.status_code == 200
    assert [row[0] for row in _table_rows(r.text)] == ["Zurbatiyah"]
    assert 'href="/reports/crossing-month?year=2026&amp;crossing=ZRB&amp;format=csv"' in r.text
    rows = list(csv.reader(io.StringIO(client.get(
        "/reports/crossing-month?year=2026&crossing=ZRB&format=csv").text)))  # fmt: skip
    assert [r[0] for r in rows[1:]] == ["ZRB"]
    assert rows[1][3] == str(revenue[("ZRB", "2026-03")])
    last_year = client.get("/reports/crossing-month?year=2025&crossing=ZRB&lang=en")
    assert "Nothing recorded for these filters." in last_year.text


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("year=abc", 422),
        ("year=1999", 422),
        ("crossing=XXX", 403),
    ],
)
def test_a_bad_filter_is_refused_with_a_page_not_a_500(container, make_user, query, status):
    client = _client(container, make_user("analyst").username)
    r = client.get(f"/reports/crossing-month?{query}&lang=en")
    assert r.status_code == status
    assert r.headers["content-type"].startswith("text/html")
    assert (
        client.get(f"/reports/crossing-month?{query}&format=csv")
        .headers["content-type"]
        .startswith("text/html")
    )


def test_every_report_opens_and_downloads_with_its_columns(container, make_user, revenue):
    client = _client(container, make_user("analyst").username)
    for key in SPECS:
        page = client.get(f"/reports/{key}?lang=ar")
        assert page.status_code == 200, key
        assert '<html lang="ar" dir="rtl">' in page.text
        rows = list(csv.reader(io.StringIO(client.get(f"/reports/{key}?format=csv").text)))
        header = re.findall(r'<th scope="col"[^>]*data-column="([^"]+)"', page.text)
        assert rows[0] == header, key
        assert len(rows) - 1 == len(_table_rows(page.text)), key


def test_duty_by_chapter_agrees_with_the_service(container, make_user, revenue):
    analyst = make_user("analyst")
    client = _client(container, analyst.username)
    r = client.get("/reports/chapter?since_month=2025-01&until_month=2026-12&lang=en")
    with container.uow(readonly=True) as uow:
        report = analyst_reports.by_dimension(
            uow=uow, actor=analyst, dimension="chapter", since="2025-01", until="2026-12"
        )
    assert report.rows
    assert [(row[0], row[1]) for row in _table_rows(r.text)] == [
        (str(chapter), i18n.format_money(duty, "en")) for chapter, duty, *_ in report.rows
    ]


@pytest.mark.parametrize(
    ("role", "path"),
    [
        (Role.TRADER, "/reports"),
        (Role.TRADER, "/reports/crossing-month"),
        (Role.OFFICER, "/reports/crossing-month?format=csv"),
        (Role.ADMIN, "/reports/risk-lane"),
        (Role.OFFICER, "/finance/statements"),
        (Role.TRADER, "/finance/exceptions"),
    ],
)
def test_a_report_or_finance_page_outside_the_role_is_refused(container, make_user, role, path):
    user = make_user(role.value, crossings=["SHL"] if role is Role.OFFICER else None)
    r = _client(container, user.username).get(path)
    assert r.status_code in (403, 404)
    assert r.headers["content-type"].startswith("text/html")
    assert "text/csv" not in r.headers["content-type"]


def test_a_visitor_is_sent_to_sign_in_and_an_unknown_report_is_a_404(container, make_user):
    r = _client(container).get("/reports/crossing-month?year=2026")
    assert r.status_code == 303
    assert r.headers["location"].startswith("/signin?next=/reports/crossing-month")
    assert _client(container, make_user("analyst").username).get("/reports/nope").status_code == (
        404
    )


@pytest.mark.parametrize("role", ["analyst", "finance", "auditor"])
def test_analysts_finance_and_auditors_read_the_reports(container, make_user, role):
    r = _client(container, make_user(role).username).get("/reports?lang=en")
    assert r.status_code == 200
    assert 'href="/reports/crossing-month"' in r.text


def test_the_reports_are_in_the_analysts_and_finances_navigation(container, make_user):
    analyst = _client(container, make_user("analyst").username).get("/dashboard?lang=en")
    assert 'href="/reports"' in analyst.text
    finance = _client(container, make_user("finance").username)
    home = finance.get("/", follow_redirects=False)
    assert home.headers["location"] == "/finance/exceptions"
    page = finance.get("/finance/exceptions?lang=en")
    assert 'href="/finance/statements"' in page.text
    assert 'href="/reports"' in page.text


# -- the finance officer ----------------------------------------------------------------------
def _order(container, make_user):
    trader = make_user("trader")
    with container.uow() as uow:
        decl = declarations.submit(
            uow=uow,
            actor=trader,
            crossing_code="SHL",
            content=content(items=[item(1, invoice_value=Decimal("1500.00"))]),
            rng=random.Random(1),
        )
    with container.uow() as uow:
        return uow.payments.orders_for(decl.id)[-1]


def _counts(container) -> tuple[int, ...]:
    with container.engine.connect() as conn:
        return tuple(
            conn.execute(select(func.count()).select_from(tb)).scalar_one()
            for tb in (t.bank_statements, t.statement_entries, t.reconciliation_exceptions)
        )


def test_a_finance_officer_imports_a_statement_and_sees_what_it_did(container, make_user):
    order = _order(container, make_user)
    day = local_date(container.clock.now())
    raw = camt053(
        "STMT-1",
        day,
        [
            Credit("B1", order.amount_iqd, day, order.reference, True),
            Credit("B2", Decimal("777.000"), day, "duty for truck, reference lost", False),
        ],
    )
    finance = make_user("finance")
    client = _client(container, finance.username)
    files = {"file": ("statement.xml", raw, "application/xml")}
    r = client.post("/finance/statements?lang=en", files=files)
    assert r.status_code == 201
    assert "Statement imported" in r.text
    assert re.search(r'id="new-entries">2<', r.text)
    assert re.search(r'id="exceptions-opened">1<', r.text)
    assert "Matched to its order: 1" in r.text
    listing = client.get("/finance/statements?lang=en").text
    assert "STMT-1" in listing
    assert i18n.format_money(order.amount_iqd + Decimal("777.000"), "en") in listing
    assert finance.full_name in listing

    before = _counts(container)
    again = client.post("/finance/statements?lang=en", files=files)
    assert again.status_code == 200
    assert "Already imported: nothing changed" in again.text
    as_csv = csv_statement("STMT-1", [Credit("B1", order.amount_iqd, day, order.reference, True)])
    client.post("/finance/statements", files={"file": ("s.csv", as_csv, "text/csv")})
    assert _counts(container) == before


@pytest.mark.parametrize(
    "raw", [b"<Document><nothing/></Document>", b"not,a,statement\n1,2,3\n", b"   "]
)
def test_a_bad_statement_file_is_refused_and_changes_nothing(container, make_user, raw):
    client = _client(container, make_user("finance").username)
    before = _counts(container)
    r = client.post("/finance/statements?lang=en", files={"file": ("x.xml", raw, "text/xml")})
    assert r.status_code == 422
    assert 'role="alert"' in r.text
    assert _counts(container) == before


def test_only_finance_officers_import_statements(container, make_user):
    raw = camt053("STMT-9", local_date(container.clock.now()), [])
    client = _client(container, make_user("analyst").username)
    r = client.post("/finance/statements", files={"file": ("s.xml", raw, "application/xml")})
    assert r.status_code == 403
    assert _counts(container) == (0, 0, 0)
    assert 'id="upload-form"' not in client.get("/finance/statements").text


def test_an_exception_is_resolved_only_with_a_reason(container, make_user):
    day = local_date(container.clock.now())
    finance = make_user("finance")
    client = _client(container, finance.username)
    raw = camt053("STMT-2", day, [Credit("B9", Decimal("500.000"), day, "no reference", False)])
    client.post("/finance/statements", files={"file": ("s.xml", raw, "application/xml")})
    page = client.get("/finance/exceptions?lang=en")
    [x_id] = [int(n) for n in re.findall(r'id="exception-(\d+)"', page.text)]
    assert "No usable reference" in page.text

    refused = client.post(
        f"/finance/exceptions/{x_id}/resolve?lang=en",
        data={"resolution": "accept", "reason": "   ", "order_reference": "typed-ref"},
    )
    assert refused.status_code == 422
    assert 'role="alert"' in refused.text
    assert 'value="typed-ref"' in refused.text  # what was typed is kept
    analyst = _client(container, make_user("analyst").username)
    assert (
        analyst.post(
            f"/finance/exceptions/{x_id}/resolve", data={"resolution": "accept", "reason": "x"}
        ).status_code
        == 403
    )
    with container.engine.connect() as conn:
        assert conn.execute(select(t.reconciliation_exceptions.c.state)).scalar_one() == "open"

    done = client.post(
        f"/finance/exceptions/{x_id}/resolve",
        data={"resolution": "accept", "reason": "bank fee refund, agreed with the bank"},
    )
    assert done.status_code == 303
    assert done.headers["location"] == f"/finance/exceptions?resolved={x_id}"
    assert f'id="exception-{x_id}"' not in client.get("/finance/exceptions").text
    resolved = client.get("/finance/exceptions?state=resolved&lang=en").text
    assert "bank fee refund, agreed with the bank" in resolved
    assert finance.full_name in resolved
    assert "Accept as it is" in resolved


def test_risk_and_foregone_pages_show_what_inspections_and_exemptions_recorded(
    container, make_user
):
    from manafidh.domain.tariff.exemptions import BeneficiaryKind, Exemption
    from manafidh.services import clearance, exemptions, risk_reports
    from manafidh.services.clearance import FraudKind

    with container.uow() as uow:
        exemptions.grant(
            uow=uow,
            actor=None,
            exemption=Exemption(
                id=0,
                reference="EX-1",
                beneficiary_kind=BeneficiaryKind.INSTITUTION,
                beneficiary_name="Ministry of Housing",
                beneficiary_tax_id="IQ-100200300",  # the factories' importer
                legal_basis="Customs Law No. 23 of 1984, art. 182 (test)",
                valid_from=datetime(2026, 1, 1, tzinfo=UTC).date(),
                valid_to=None,
            ),
        )
    trader, inspector = make_user("trader"), make_user("inspector", crossings=["SHL"])
    goods = content(items=[item(1, hs_code="240220")], vehicle_plates=["IR 7"])  # red by rule
    with container.uow() as uow:
        cigarettes = declarations.submit(
            uow=uow, actor=trader, crossing_code="SHL", content=goods, rng=random.Random(1)
        )
    assert cigarettes.lane is not None
    assert cigarettes.lane.value == "red"
    with container.uow() as uow:
        clearance.record_inspection(
            uow=uow,
            actor=inspector,
            declaration_id=cigarettes.id,
            found=True,
            fraud_kind=FraudKind.UNDERVALUATION,
            notes="invoice below market price",
        )
    with container.uow() as uow:
        risk_reports.record_extra_duty(
            uow=uow,
            actor=inspector,
            declaration_id=cigarettes.id,
            extra_duty_iqd=Decimal("250000.500"),
            notes="supplementary assessment",
        )
    with container.uow() as uow:
        declarations.submit(
            uow=uow,
            actor=trader,
            crossing_code="SHL",
            content=content(items=[item(1)], vehicle_plates=["IR 8"]),
            rng=random.Random(2),
        )
    client = _client(container, make_user("analyst").username)

    lanes = client.get("/reports/risk-lane?lang=en")
    red = next(r for r in _table_rows(lanes.text) if r[0] == "Red")
    assert red[1:4] == ["1", "1", "1"]  # declarations, checked, found
    assert red[4] == "100 %"
    assert red[5] == i18n.format_money(Decimal("250000.500"), "en")
    assert "<svg" in lanes.text
    rows = list(csv.DictReader(io.StringIO(client.get("/reports/risk-lane?format=csv").text)))
    by_lane = {r["lane"]: r for r in rows}
    assert Decimal(by_lane["red"]["hit_rate"]) == 1
    assert Decimal(by_lane["red"]["extra_duty_per_check_iqd"]) == Decimal("250000.500")

    per_month = _table_rows(client.get("/reports/risk-crossing-month?lang=en").text)
    assert [(r[0], r[1], r[3]) for r in per_month] == [("Al-Shalamcheh", "2026-03", "1")]

    foregone = client.get("/reports/foregone?by=beneficiary&lang=en")
    [row] = _table_rows(foregone.text)
    assert row[0] == "institution: Ministry of Housing"
    [line] = list(csv.DictReader(io.StringIO(
        client.get("/reports/foregone?by=beneficiary&format=csv").text)))  # fmt: skip
    assert Decimal(line["foregone_iqd"]) > 0
    assert row[1] == i18n.format_money(Decimal(line["foregone_iqd"]), "en")
    by_month = client.get("/reports/foregone?by=month&format=csv").text
    assert by_month.splitlines()[1].startswith("2026-03,")
