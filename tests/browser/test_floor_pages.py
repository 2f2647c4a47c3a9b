"""The crossing floor in a real Chromium, in Arabic and in English (issue #8): an inspector
records a finding with a photo on the inspection the system assigned, and a supervisor approves
a manual weight as the second person and resolves an alarm with a reason.

The journeys run against their own server and database (at Al-Shib, SHB), so the other browser
tests' counts stay what they expect. Every page is checked with axe-core (no serious or critical
violation) and photographed into test-artifacts/screenshots.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import Page, expect
from tests.browser.conftest import add_user, journey_container, open_page, serving
from tests.browser.test_roles import check_page, sign_in
from tests.conftest import PASSWORD
from tests.floor_helpers import inspector_of, open_visit, png, raise_weight_alarm, red_declaration

from manafidh.bootstrap import Container
from manafidh.domain.identity import Role, User
from manafidh.services import weights
from manafidh.web.app import create_app

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = pytest.mark.browser
CROSSING = "SHB"
LANGS = ["ar", "en"]
TEXT = {
    "ar": {"record": "تسجيل النتيجة", "approve": "موافقة", "resolve": "معالجة"},
    "en": {"record": "Record the result", "approve": "Approve", "resolve": "Resolve"},
}


@dataclass
class Floor:
    """The journeys' own deployment: container, users, base URL."""

    container: Container
    base_url: str = ""
    users: dict[str, User] = field(default_factory=dict)
    plates: Iterator[int] = field(default_factory=lambda: iter(range(100, 999)))

    def plate(self) -> str:
        """A fresh truck plate."""
        return f"IR {next(self.plates)} F 21"


@pytest.fixture(scope="module")
def world(
    sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory, audit_key_file: Path
) -> Iterator[Floor]:
    """A seeded database and evidence directory behind a live uvicorn server, for this module."""
    base = tmp_path_factory.mktemp("floor")
    c = journey_container(
        sqlite_template, base, 13, audit_key_file=audit_key_file, evidence_dir=base / "evidence"
    )
    w = Floor(c)
    w.users["trader"] = add_user(c, "tajir.floor", "Dijla Trading Co.", Role.TRADER, [CROSSING])
    w.users["inspector"] = add_user(c, "huda.shb", "هدى عباس", Role.INSPECTOR, [CROSSING])
    w.users["supervisor"] = add_user(c, "kawa.floor", "Kawa Rashid", Role.SUPERVISOR, [CROSSING])
    w.users["supervisor2"] = add_user(c, "layla.floor", "ليلى محمود", Role.SUPERVISOR, [CROSSING])
    try:
        with serving(create_app(c)) as base_url:
            w.base_url = base_url
            yield w
    finally:
        c.engine.dispose()


@pytest.fixture
def page(browser: Browser, world: Floor) -> Iterator[Page]:
    """A fresh browser page on this module's server; no script error allowed."""
    with open_page(browser, world.base_url) as pg:
        yield pg


@pytest.mark.parametrize("lang", LANGS)
def test_an_inspector_records_a_finding_with_a_photo_on_the_assigned_inspection(
    page: Page, world: Floor, lang: str
):
    c = world.container
    decl = red_declaration(c, world.users["trader"], CROSSING, world.plate())
    assert inspector_of(c, decl.id) == world.users["inspector"].id  # drawn by the system
    photo = png(48, 32, shade=120)
    try:
        sign_in(page, "huda.shb", lang)
        expect(page).to_have_url(re.compile(r"/inspections$"))  # the inspector's home
        expect(page.locator("html")).to_have_attribute("dir", "rtl" if lang == "ar" else "ltr")
        row = page.locator(f"tr[data-reference='{decl.reference}']")
        expect(row).to_be_visible()
        check_page(page, f"inspector-assigned-{lang}")
        row.get_by_role("link").click()
        expect(page).to_have_url(re.compile(rf"/inspections/{decl.reference}$"))
        page.locator("#found-yes").check()
        page.locator("#fraud_kind").select_option("undeclared_goods")
        page.locator("#extra_duty_iqd").fill("2500000")
        page.locator("#measured-1-quantity").fill("1300")
        page.locator("#measured-1-gross_mass_kg").fill("24100")
        page.locator("#photos").set_input_files(
            [{"name": "crate-open.png", "mimeType": "image/png", "buffer": photo}]
        )
        page.locator("#documents").fill("CMR 55120")
        page.locator("#notes").fill("Two pallets behind the declared cartons")
        check_page(page, f"inspector-inspection-form-{lang}")
        page.get_by_role("button", name=TEXT[lang]["record"]).click()
        expect(page.locator("#recorded")).to_contain_text(decl.reference)
        expect(page.locator(f"tr[data-reference='{decl.reference}']")).to_have_count(0)
        # The declaration's page shows the photo (served back by its SHA-256) with the rest.
        page.goto(f"/declarations/{decl.reference}")
        digest = hashlib.sha256(photo).hexdigest()
        image = page.locator(f"img[src$='{digest}']")
        expect(image).to_be_visible()
        assert page.evaluate("el => el.naturalWidth", image.element_handle()) == 48
        expect(page.locator("#risk-title")).to_be_visible()
        check_page(page, f"inspector-declaration-{lang}")
    finally:
        page.context.close()
    with c.uow(readonly=True) as uow:
        assert uow.declarations.get_by_reference(decl.reference).state.value == "held"
        kept = uow.floor.evidence_of(decl.id)
    assert [(e.kind, e.sha256) for e in kept] == [("photo", digest), ("document", None)]
    assert (c.settings.evidence_dir / digest[:2] / digest[2:4] / digest).read_bytes() == photo


@pytest.mark.parametrize("lang", LANGS)
def test_a_supervisor_approves_a_manual_weight_as_second_person_and_resolves_an_alarm(
    page: Page, world: Floor, lang: str
):
    c = world.container
    plate = world.plate()
    decl = red_declaration(c, world.users["trader"], CROSSING, plate)
    visit = open_visit(c, CROSSING, plate, decl.id)
    with c.uow() as uow:  # the first supervisor enters the weight (the weighbridge is down)
        proposed = weights.propose_manual_weight(
            uow=uow,
            actor=world.users["supervisor"],
            visit_id=visit,
            which="entry",
            kg=41_500,
            reason="weighbridge 1 out of order",
        )
    alarm = raise_weight_alarm(c, decl)
    try:
        sign_in(page, "layla.floor", lang)
        page.goto("/board")
        expect(page.locator("[data-bucket='yard'] .count")).not_to_have_text("0")
        check_page(page, f"supervisor-board-{lang}")
        page.goto("/approvals")
        form = page.locator(f"form[data-weight='{proposed.id}']")
        expect(form).to_be_visible()
        check_page(page, f"supervisor-approvals-{lang}")
        form.locator("input[name=reason]").fill("Checked on the backup scale")
        form.get_by_role("button", name=TEXT[lang]["approve"]).click()
        expect(page.locator("#decided")).to_be_visible()
        expect(page.locator(f"form[data-weight='{proposed.id}']")).to_have_count(0)
        page.goto("/alarms")
        alarm_form = page.locator(f"form[data-alarm='{alarm}']")
        alarm_form.locator("input[name=reason]").fill("Cargo re-weighed; the declarant amends")
        check_page(page, f"supervisor-alarm-actions-{lang}")
        alarm_form.get_by_role("button", name=TEXT[lang]["resolve"]).click()
        expect(page.locator("#alarm-done")).to_be_visible()
        expect(page.locator(f"form[data-alarm='{alarm}']")).to_have_count(0)
        page.goto("/shift")
        expect(page.locator("tbody tr")).to_have_count(24)
        check_page(page, f"supervisor-shift-{lang}")
    finally:
        page.context.close()
    with c.uow(readonly=True) as uow:
        decided = uow.gate_control.manual_weight(proposed.id)
        steps = uow.gate_control.steps(alarm)
        entry = uow.gate_control.visit(visit).entry_gross_kg
    assert (decided.approved, decided.decided_by) == (True, world.users["supervisor2"].id)
    assert entry == 41_500
    assert [(s.step.value, s.reason) for s in steps] == [
        ("resolved", "Cargo re-weighed; the declarant amends")
    ]


def test_a_session_that_ends_in_the_middle_of_an_inspection_loses_nothing_typed(
    page: Page, world: Floor
):
    c = world.container
    decl = red_declaration(c, world.users["trader"], CROSSING, world.plate())
    try:
        sign_in(page, "huda.shb", "en")
        page.goto(f"/inspections/{decl.reference}")
        page.locator("#found-yes").check()
        page.locator("#fraud_kind").select_option("misclassification")
        page.locator("#measured-1-quantity").fill("990")
        page.locator("#notes").fill("HS 2402 goods under a ceramic code")
        page.context.clear_cookies()  # the session ends while the inspector types
        page.get_by_role("button", name=TEXT["en"]["record"]).click()
        expect(page).to_have_url(re.compile(rf"/signin\?next=/inspections/{decl.reference}$"))
        page.locator("#username").fill("huda.shb")
        page.locator("#password").fill(PASSWORD)
        page.locator("form.form button[type=submit]").click()
        expect(page).to_have_url(re.compile(rf"/inspections/{decl.reference}$"))
        expect(page.locator("#kept-note")).to_be_visible()
        expect(page.locator("#found-yes")).to_be_checked()
        expect(page.locator("#fraud_kind")).to_have_value("misclassification")
        expect(page.locator("#measured-1-quantity")).to_have_value("990")
        expect(page.locator("#notes")).to_have_value("HS 2402 goods under a ceramic code")
        page.locator("#record").click()  # the language cookie went with the session: Arabic
        expect(page.locator("#recorded")).to_contain_text(decl.reference)
        # Saved: the copy on this device is gone.
        kept = page.evaluate(
            "k => localStorage.getItem(k)", f"manafidh:inspection:huda.shb:{decl.reference}"
        )
        assert kept is None
    finally:
        page.context.close()
    with c.uow(readonly=True) as uow:
        checks = uow.declarations.checks_of(decl.id)
    assert [(k["fraud_kind"], k["notes"]) for k in checks] == [
        ("misclassification", "HS 2402 goods under a ceramic code")
    ]
