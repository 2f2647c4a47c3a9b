"""Each role's main journey in a real Chromium, in Arabic and in English (issue #8).

The journeys run against their own server and database (seeded at Al-Shib, SHB), so that the
dashboard tests' counts at Al-Shalamcheh and Zurbatiyah stay what they expect. Every page a journey
visits is checked with axe-core (no serious or critical violations) and photographed into
test-artifacts/screenshots for a person to look at.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest
from playwright.sync_api import Page, expect
from tests.browser.conftest import SCREENSHOTS, add_user, journey_container, open_page, serving
from tests.conftest import PASSWORD
from tests.factories import content, item

from manafidh.adapters import bank
from manafidh.bootstrap import Container
from manafidh.domain.errors import ExitWithoutRelease
from manafidh.domain.identity import Role, User
from manafidh.services import clearance, declarations, identity
from manafidh.web.app import create_app
from manafidh.web.deps import SESSION_COOKIE

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = pytest.mark.browser
CROSSING = "SHB"
LANGS = ["ar", "en"]


@dataclass
class World:
    """The journeys' own deployment: container, users, base URL."""

    container: Container
    base_url: str = ""
    users: dict[str, User] = field(default_factory=dict)
    plates: Iterator[int] = field(default_factory=lambda: iter(range(100, 999)))

    def plate(self) -> str:
        """A fresh truck plate."""
        return f"IR {next(self.plates)} K 55"


@pytest.fixture(scope="module")
def world(
    sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory, audit_key_file: Path
) -> Iterator[World]:
    """A seeded database behind a live uvicorn server, for this module only."""
    workdir = tmp_path_factory.mktemp("roles")
    c = journey_container(sqlite_template, workdir, 11, audit_key_file=audit_key_file)
    w = World(c)
    w.users["trader"] = add_user(c, "tajir", "Dijla Trading Co.", Role.TRADER, [])
    w.users["officer"] = add_user(c, "ali.shb", "علي كاظم", Role.OFFICER, [CROSSING])
    w.users["inspector"] = add_user(c, "sara.shb", "سارة جاسم", Role.INSPECTOR, [CROSSING])
    w.users["supervisor"] = add_user(c, "kawa.shb", "Kawa Rashid", Role.SUPERVISOR, [CROSSING])
    w.users["auditor"] = add_user(c, "noor.audit", "نور الهدى", Role.AUDITOR, [])
    w.users["officer_shl"] = add_user(c, "omar.other", "Omar", Role.OFFICER, ["SHL"])
    try:
        with serving(create_app(c)) as base_url:
            w.base_url = base_url
            yield w
    finally:
        c.engine.dispose()


@pytest.fixture
def rpage(browser: Browser, world: World) -> Iterator[Page]:
    """A fresh browser page on the journeys' server."""
    with open_page(browser, world.base_url) as pg:
        yield pg


# -- helpers ----------------------------------------------------------------------------------
def sign_in(page: Page, username: str, lang: str) -> None:
    """Sign in through the form, in ``lang``."""
    page.goto(f"/signin?lang={lang}")
    page.locator("#username").fill(username)
    page.locator("#password").fill(PASSWORD)
    page.locator("form.form button[type=submit]").click()
    page.wait_for_load_state()


def check_page(page: Page, name: str) -> None:
    """No serious or critical axe-core violation; a full-page screenshot for people."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    bad = [
        (v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert bad == [], f"{name}: {bad}"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def declare(w: World, hs_code: str, *, pay: bool = False) -> str:
    """Submit a one-item declaration at SHB as the trader; returns its reference."""
    goods = content(items=[item(1, hs_code=hs_code)], vehicle_plates=[w.plate()])
    c = w.container
    with c.uow() as uow:
        decl = declarations.submit(
            uow=uow, actor=w.users["trader"], crossing_code=CROSSING, content=goods, rng=c.rng
        )
    if pay:
        bank_pays(w, decl.reference)
    return decl.reference


def bank_pays(w: World, reference: str) -> dict[str, object]:
    """The bank confirms the open payment order through the real signed HTTP endpoint."""
    with w.container.uow(readonly=True) as uow:
        decl = uow.declarations.get_by_reference(reference)
        order = [o for o in uow.payments.orders_for(decl.id) if o.state.value == "open"][-1]
    body = json.dumps(
        {
            "bank_transaction_id": f"RAF-{order.reference}",
            "payment_reference": order.reference,
            "amount": str(order.amount_iqd),
            "paid_at": datetime(2026, 3, 15, 6, 30, tzinfo=UTC).isoformat(),
        }
    ).encode()
    signature = bank.sign(w.container.settings.bank_hmac_secret, body)
    r = httpx.post(
        f"{w.base_url}/api/v1/bank/confirmations",
        content=body,
        headers={"Content-Type": "application/json", bank.SIGNATURE_HEADER: signature},
    )
    assert r.status_code == 200, r.text
    return r.json()


def state_of(w: World, reference: str) -> str:
    """The declaration's state in the database."""
    with w.container.uow(readonly=True) as uow:
        return uow.declarations.get_by_reference(reference).state.value


def lane_of(w: World, reference: str) -> str:
    """The declaration's lane in the database."""
    with w.container.uow(readonly=True) as uow:
        return uow.declarations.get_by_reference(reference).lane.value


def fill_declaration(page: Page, plate: str, *, hs_code: str = "690721") -> None:
    """Type a one-item declaration into the form, as a trader would."""
    page.locator("#f-crossing_code").select_option(CROSSING)
    page.locator("#f-importer_tax_id").fill("IQ-555000111")
    page.locator("#f-vehicle_plate").fill(plate)
    page.locator("#f-driver_name").fill("Hossein Karimi")
    page.locator("#f-driver_document").fill("P12345678")
    page.locator("#f-dispatch_country").fill("IR")
    page.locator("#f-origin_country").fill("IR")
    page.locator("#f-freight").fill("200")
    page.locator("#f-item-1-hs_code").fill(hs_code)
    page.locator("#f-item-1-description").fill("Ceramic floor tiles, glazed")
    page.locator("#f-item-1-origin_country").fill("IR")
    page.locator("#f-item-1-quantity").fill("30000")
    page.locator("#f-item-1-net_mass_kg").fill("30000")
    page.locator("#f-item-1-gross_mass_kg").fill("30300")
    page.locator("#f-item-1-invoice_value").fill("1500.00")


TEXT = {
    "ar": {
        "lodge": "تقديم التصريحة",
        "paid": "مدفوعة",
        "order_paid": "مدفوعة",
        "release": "الإفراج عن البضاعة",
        "released": "مُفرَج عنها",
        "record": "تسجيل النتيجة",
        "found": "وُجدت مخالفة",
        "held": "محجوزة",
        "unhold": "رفع الحجز",
        "dismiss": "ردّ المخالفة",
        "verify": "التحقق من السجل كاملًا",
        "checkpoint": "توقيع رأس شجرة الآن",
        "denied": "غير متاح لدورك",
        "illegal": "هذه الخطوة غير مسموحة في الحالة الحالية للتصريحة.",
    },
    "en": {
        "lodge": "Lodge the declaration",
        "paid": "Paid",
        "order_paid": "Paid",
        "release": "Release the goods",
        "released": "Released",
        "record": "Record the result",
        "found": "Irregularity found",
        "held": "Held",
        "unhold": "Lift the hold",
        "dismiss": "Dismiss the finding",
        "verify": "Verify the whole log",
        "checkpoint": "Sign a tree head now",
        "denied": "Not available for your role",
        "illegal": "This step is not allowed in the declaration's current state.",
    },
}


# -- the trader -------------------------------------------------------------------------------
@pytest.mark.parametrize("lang", LANGS)
def test_a_trader_lodges_a_declaration_sees_its_assessment_and_the_bank_pays_it(
    rpage: Page, world: World, lang: str
):
    t = TEXT[lang]
    sign_in(rpage, "tajir", lang)
    expect(rpage).to_have_url(re.compile(r"/my$"))
    check_page(rpage, f"trader-mine-{lang}")
    rpage.goto("/declare")
    expect(rpage.locator("html")).to_have_attribute("dir", "rtl" if lang == "ar" else "ltr")
    plate = world.plate()
    fill_declaration(rpage, plate, hs_code="6907")
    # The HS search proposes the nomenclature's subheadings for what was typed.
    expect(rpage.locator("#hs-1 option").first).to_have_attribute("value", re.compile("^6907"))
    rpage.locator("#f-item-1-hs_code").fill("690721")
    check_page(rpage, f"trader-declare-{lang}")
    rpage.get_by_role("button", name=t["lodge"]).click()

    expect(rpage).to_have_url(re.compile(r"/declarations/SHB-2026-\d{6}\?saved=new$"))
    reference = re.search(r"SHB-2026-\d{6}", rpage.url).group(0)
    expect(rpage.locator("#payment-reference")).to_have_text(re.compile(r"^RF\d\d"))
    expect(rpage.locator("tr[data-line='1']")).to_contain_text("690721")
    expect(rpage.locator("#total-due")).to_have_text(re.compile(r"^[\d,]+\.\d{3}$"))
    check_page(rpage, f"trader-declaration-{lang}")

    confirmation = bank_pays(world, reference)
    assert confirmation["order_state"] == "paid"
    rpage.reload()
    expect(rpage.locator("#payment-status")).to_have_text(t["order_paid"])
    if lane_of(world, reference) == "green":
        expect(rpage.locator(".page-head .state")).to_have_text(t["paid"])
    check_page(rpage, f"trader-paid-{lang}")


def test_a_session_that_ends_in_the_middle_of_a_declaration_loses_nothing_typed(
    rpage: Page, world: World
):
    sign_in(rpage, "tajir", "en")
    rpage.goto("/declare")
    plate = world.plate()
    fill_declaration(rpage, plate)
    rpage.get_by_role("button", name="Add an item").click()
    rpage.locator("#f-item-2-hs_code").fill("252329")
    rpage.locator("#f-item-2-description").fill("Portland cement, grey")
    rpage.locator("#f-item-2-origin_country").fill("IR")
    rpage.locator("#f-item-2-quantity").fill("25000")
    rpage.locator("#f-item-2-net_mass_kg").fill("25000")
    rpage.locator("#f-item-2-gross_mass_kg").fill("25100")
    rpage.locator("#f-item-2-invoice_value").fill("900.00")
    # The session ends on the server while the trader is still typing.
    token = next(c["value"] for c in rpage.context.cookies() if c["name"] == SESSION_COOKIE)
    with world.container.uow() as uow:
        identity.sign_out(uow=uow, token=token)
    rpage.get_by_role("button", name="Lodge the declaration").click()

    expect(rpage).to_have_url(re.compile(r"/signin\?next=/declare$"))
    rpage.locator("#username").fill("tajir")
    rpage.locator("#password").fill(PASSWORD)
    rpage.locator("form.form button[type=submit]").click()

    expect(rpage).to_have_url(re.compile(r"/declare$"))
    expect(rpage.locator("#draft-status")).to_contain_text("restored")
    expect(rpage.locator("#f-vehicle_plate")).to_have_value(plate)
    expect(rpage.locator("#f-crossing_code")).to_have_value(CROSSING)
    expect(rpage.locator("#f-item-2-description")).to_have_value("Portland cement, grey")
    expect(rpage.locator("#f-item-2-invoice_value")).to_have_value("900.00")
    rpage.get_by_role("button", name="Lodge the declaration").click()

    expect(rpage).to_have_url(re.compile(r"/declarations/SHB-2026-\d{6}\?saved=new$"))
    expect(rpage.locator("tr[data-line='2']")).to_contain_text("252329")
    key = "manafidh:draft:tajir:new"
    assert rpage.evaluate(f"localStorage.getItem('{key}')") is None


def test_the_service_layer_refusals_are_shown_on_the_fields_they_concern(rpage: Page, world: World):
    sign_in(rpage, "tajir", "en")
    rpage.goto("/declare")
    fill_declaration(rpage, world.plate(), hs_code="123456")
    rpage.locator("#f-item-1-gross_mass_kg").fill("100")
    rpage.get_by_role("button", name="Lodge the declaration").click()

    expect(rpage.locator("#f-item-1-gross_mass_kg")).to_have_attribute("aria-invalid", "true")
    expect(rpage.locator("#err-item-1-gross_mass_kg")).to_contain_text("gross mass")
    rpage.locator("#f-item-1-gross_mass_kg").fill("30300")
    rpage.get_by_role("button", name="Lodge the declaration").click()
    expect(rpage.locator("#f-item-1-hs_code")).to_have_attribute("aria-invalid", "true")
    expect(rpage.locator("#err-item-1-hs_code")).to_contain_text("not in the nomenclature")
    # In the nomenclature but without a tariff rate: the assessment's refusal, on the same field.
    rpage.locator("#f-item-1-hs_code").fill("999999")
    rpage.get_by_role("button", name="Lodge the declaration").click()
    expect(rpage.locator("#err-item-1-hs_code")).to_contain_text("no tariff rate in force")
    check_page(rpage, "trader-declare-errors-en")


def test_a_trader_amends_a_lodged_declaration_with_a_new_version(rpage: Page, world: World):
    reference = declare(world, "690721")
    sign_in(rpage, "tajir", "ar")
    rpage.goto(f"/declarations/{reference}")
    rpage.get_by_role("link", name="تعديل (نسخة جديدة)").click()
    expect(rpage.locator("#f-item-1-invoice_value")).to_have_value(re.compile(r"^1500(\.0+)?$"))
    rpage.locator("#f-item-1-invoice_value").fill("1800.00")
    rpage.locator("#f-reason").fill("تصحيح قيمة الفاتورة")
    check_page(rpage, "trader-amend-ar")
    rpage.get_by_role("button", name="حفظ النسخة الجديدة").click()
    expect(rpage).to_have_url(re.compile(rf"/declarations/{reference}\?saved="))
    expect(rpage.locator("#version")).to_have_text("2")
    expect(rpage.locator("table.history")).to_contain_text("عُدّلت (نسخة جديدة)")


# -- the officer ------------------------------------------------------------------------------
@pytest.mark.parametrize("lang", LANGS)
def test_an_officer_checks_the_documents_of_a_yellow_truck_and_releases_it(
    rpage: Page, world: World, lang: str
):
    t = TEXT[lang]
    reference = declare(world, "252329", pay=True)  # cement: yellow lane by rule
    assert lane_of(world, reference) == "yellow"
    sign_in(rpage, "ali.shb", lang)
    rpage.goto("/queue")
    row = rpage.locator(f"tr[data-reference='{reference}']")
    expect(row).to_be_visible()
    expect(row.locator("[data-waiting]")).to_have_attribute("data-waiting", "check_documents")
    check_page(rpage, f"officer-queue-{lang}")
    row.get_by_role("link").click()
    # Release is not offered before the document check.
    expect(rpage.get_by_role("button", name=t["release"])).to_have_count(0)
    check_page(rpage, f"officer-declaration-{lang}")
    rpage.get_by_role("button", name=t["record"]).click()
    expect(rpage.get_by_role("button", name=t["release"])).to_be_visible()
    rpage.get_by_role("button", name=t["release"]).click()
    expect(rpage.locator(".page-head .state")).to_have_text(t["released"])
    assert state_of(world, reference) == "released"


@pytest.mark.parametrize("lang", LANGS)
def test_a_refused_action_shows_the_services_reason(rpage: Page, world: World, lang: str):
    reference = declare(world, "252329")  # yellow, unpaid: not releasable
    sign_in(rpage, "ali.shb", lang)
    rpage.goto(f"/declarations/{reference}")
    # The button is not there; a stale page or a crafted form still gets a clear answer.
    response = rpage.request.post(f"/declarations/{reference}/do/release")
    assert response.status == 409
    rpage.set_content(response.text())
    expect(rpage.locator("#action-error")).to_contain_text(TEXT[lang]["illegal"])
    expect(rpage.locator("#action-error")).to_contain_text("cannot release")


# -- the inspector and the supervisor ---------------------------------------------------------
@pytest.mark.parametrize("lang", LANGS)
def test_an_inspector_records_a_finding_and_a_supervisor_handles_it(
    rpage: Page, browser: Browser, world: World, lang: str
):
    t = TEXT[lang]
    reference = declare(world, "240220", pay=True)  # tobacco: red lane by rule
    assert lane_of(world, reference) == "red"
    sign_in(rpage, "sara.shb", lang)
    rpage.goto("/queue")
    waiting = rpage.locator(f"tr[data-reference='{reference}'] [data-waiting]")
    expect(waiting).to_have_attribute("data-waiting", "inspection")
    check_page(rpage, f"inspector-queue-{lang}")
    rpage.goto(f"/declarations/{reference}")
    rpage.locator("#found-yes").check()
    rpage.locator("#fraud_kind").select_option("undervaluation")
    rpage.locator("#notes").fill("Invoice value far below market price")
    check_page(rpage, f"inspector-form-{lang}")
    rpage.get_by_role("button", name=t["record"]).click()
    expect(rpage.locator(".page-head .state")).to_have_text(t["held"])
    assert state_of(world, reference) == "held"

    supervisor = browser.new_context(
        base_url=world.base_url, viewport={"width": 1366, "height": 900}
    )
    page = supervisor.new_page()
    try:
        sign_in(page, "kawa.shb", lang)
        page.goto("/held")
        expect(page.locator(f"tr[data-reference='{reference}']")).to_be_visible()
        check_page(page, f"supervisor-held-{lang}")
        page.goto(f"/declarations/{reference}")
        page.locator("#reason-unhold").fill("Reviewed the inspector's report")
        page.get_by_role("button", name=t["unhold"]).click()
        expect(page.locator("#reason-dismiss_finding")).to_be_visible()
        page.locator("#reason-dismiss_finding").fill("Market price evidence accepted")
        check_page(page, f"supervisor-declaration-{lang}")
        page.get_by_role("button", name=t["dismiss"]).click()
        expect(page.locator(".page-head .state")).to_have_text(t["paid"])
        plate = world.plate()
        with world.container.uow() as uow, pytest.raises(ExitWithoutRelease):
            clearance.record_exit(
                uow=uow,
                actor=world.users["officer"],
                crossing_code=CROSSING,
                plate=plate,
                declaration_ref=None,
            )
        page.goto("/alarms")
        expect(page.locator("tbody tr", has_text=plate.replace(" ", ""))).to_have_count(1)
        check_page(page, f"supervisor-alarms-{lang}")
    finally:
        supervisor.close()
    assert state_of(world, reference) == "paid"


# -- the auditor ------------------------------------------------------------------------------
@pytest.mark.parametrize("lang", LANGS)
def test_an_auditor_signs_a_tree_head_verifies_the_log_and_proves_an_entry(
    rpage: Page, world: World, lang: str
):
    t = TEXT[lang]
    declare(world, "690721")
    sign_in(rpage, "noor.audit", lang)
    expect(rpage).to_have_url(re.compile(r"/audit$"))
    rpage.get_by_role("button", name=t["checkpoint"]).click()
    expect(rpage.locator("tbody tr[data-index]").first).to_be_visible()
    check_page(rpage, f"auditor-log-{lang}")
    rpage.get_by_role("button", name=t["verify"]).click()
    expect(rpage.locator("#verify-result")).to_have_attribute("data-ok", "true")
    check_page(rpage, f"auditor-verify-{lang}")
    rpage.goto("/audit/proof/0")
    expect(rpage.locator("#proof-result")).to_be_visible()
    check_page(rpage, f"auditor-proof-{lang}")
    subject = rpage.locator(".proof dd").nth(1).inner_text()
    rpage.goto(f"/audit?subject={subject}")
    expect(rpage.locator("tbody tr[data-index='0']")).to_be_visible()


# -- the frame --------------------------------------------------------------------------------
def test_pages_are_refused_by_role_and_crossing_with_a_403_page_not_a_500(
    rpage: Page, world: World
):
    reference = declare(world, "690721")
    sign_in(rpage, "tajir", "en")
    for path in ("/queue", "/held", "/alarms", "/audit"):
        response = rpage.goto(path)
        assert response.status == 403, path
        expect(rpage.get_by_role("heading", level=1)).to_have_text("Not available for your role")
    check_page(rpage, "denied-en")
    rpage.context.clear_cookies()
    sign_in(rpage, "omar.other", "en")  # an officer posted at another crossing
    assert rpage.goto(f"/declarations/{reference}").status == 403
    assert rpage.goto("/queue?crossing=SHB").status == 403
    assert rpage.goto("/declare").status == 403


def test_another_traders_declaration_does_not_exist_for_a_trader(rpage: Page, world: World):
    add_user(world.container, "other.trader", "Other Trader", Role.TRADER, [])
    reference = declare(world, "690721")
    sign_in(rpage, "other.trader", "en")
    assert rpage.goto(f"/declarations/{reference}").status == 404


def test_the_language_choice_persists_and_arabic_really_mirrors(rpage: Page, world: World):
    sign_in(rpage, "kawa.shb", "ar")
    rpage.goto("/queue")
    expect(rpage.locator("html")).to_have_attribute("dir", "rtl")
    items = rpage.locator(".main-nav a")
    first, second = items.nth(0).bounding_box(), items.nth(1).bounding_box()
    assert first["x"] > second["x"]  # the first link is on the right in Arabic
    rpage.get_by_role("link", name="English").click()
    rpage.goto("/alarms")
    expect(rpage.locator("html")).to_have_attribute("lang", "en")
    first, second = items.nth(0).bounding_box(), items.nth(1).bounding_box()
    assert first["x"] < second["x"]
    rpage.get_by_role("link", name="کوردی").click()
    expect(rpage.locator("html")).to_have_attribute("lang", "ckb")
    check_page(rpage, "supervisor-alarms-ckb")


def test_every_input_has_a_label_and_the_form_is_usable_with_the_keyboard(
    rpage: Page, world: World
):
    sign_in(rpage, "tajir", "en")
    rpage.goto("/declare")
    unlabelled = rpage.evaluate(
        """() => [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
              .filter(el => !el.labels || el.labels.length === 0).map(el => el.name)"""
    )
    assert unlabelled == []
    rpage.keyboard.press("Tab")
    expect(rpage.locator(".skip-link")).to_be_focused()
    rpage.keyboard.press("Enter")
    rpage.locator("#f-crossing_code").focus()
    rpage.keyboard.press("Tab")
    expect(rpage.locator("#f-regime")).to_be_focused()
