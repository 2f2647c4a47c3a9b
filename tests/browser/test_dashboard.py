"""The sign-in page and the first dashboard in a real Chromium, in Arabic, Kurdish and English."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect
from tests.conftest import PASSWORD

from manafidh.web.deps import SESSION_COOKIE

pytestmark = pytest.mark.browser

DASHBOARD = re.compile(r"/dashboard$")
SIGNIN = re.compile(r"/signin$")


def sign_in(page: Page, username: str, password: str = PASSWORD, *, lang: str = "") -> None:
    """Fill in and send the sign-in form (in ``lang`` when given)."""
    page.goto(f"/signin?lang={lang}" if lang else "/signin")
    page.locator("#username").fill(username)
    page.locator("#password").fill(password)
    page.locator("form.form button[type=submit]").click()


def row(page: Page, code: str):
    """The dashboard row of crossing ``code``."""
    return page.locator(f'tbody tr[data-crossing="{code}"]')


def counts(page: Page, code: str, kind: str) -> dict[str, str]:
    """The non-zero figures of a row's ``state`` or ``lane`` cells, as shown."""
    cells = row(page, code).locator(f"td[data-{kind}]")
    shown = {
        cells.nth(i).get_attribute(f"data-{kind}"): cells.nth(i).inner_text()
        for i in range(cells.count())
    }
    return {k: v for k, v in shown.items() if v != "0"}


def test_an_officer_signs_in_in_arabic_and_sees_todays_trucks_at_his_crossing(page, screenshot):
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.goto("/")
    expect(page).to_have_url(SIGNIN)
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    expect(page.locator("html")).to_have_attribute("lang", "ar")
    screenshot("signin-ar")
    page.get_by_label("اسم المستخدم").fill("omar.shl")
    page.get_by_label("كلمة المرور").fill(PASSWORD)
    page.get_by_role("button", name="تسجيل الدخول").click()

    expect(page).to_have_url(DASHBOARD)
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    expect(page.get_by_role("heading", level=1)).to_have_text("اليوم في المنافذ")
    expect(page.locator("time")).to_have_text("15 آذار 2026")
    expect(page.locator(".who-name")).to_have_text("عمر حسن")
    expect(page.locator(".who-role")).to_have_text("موظف كمرك")
    expect(row(page, "SHL").locator(".crossing-name")).to_have_text("الشلامجة")
    assert counts(page, "SHL", "state") == {"lane_selected": "2", "released": "1"}
    assert counts(page, "SHL", "lane") == {"green": "1", "yellow": "1", "red": "1"}
    expect(row(page, "SHL").locator('[data-total="trucks"]')).to_have_text("3")
    expect(page.get_by_role("columnheader", name="الشاحنات حسب الحالة")).to_be_visible()
    expect(page.locator('thead [data-lane="red"] .lane')).to_have_text("أحمر")
    screenshot("dashboard-ar")
    assert problems == [], "the pages load without errors (missing files, CSP violations)"


def test_switching_to_english_turns_the_page_left_to_right(page, screenshot, seeded):
    sign_in(page, "omar.shl")
    expect(page).to_have_url(DASHBOARD)
    page.get_by_role("link", name="English").click()

    expect(page.locator("html")).to_have_attribute("dir", "ltr")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", level=1)).to_have_text("Today at the crossings")
    expect(page.get_by_role("columnheader", name="Trucks by state")).to_be_visible()
    expect(page.get_by_role("columnheader", name="Lane selected")).to_be_visible()
    expect(page.locator("thead .lane")).to_have_text(["Green", "Yellow", "Red"])
    expect(row(page, "SHL").locator(".crossing-name")).to_have_text("Al-Shalamcheh")
    expect(page.locator(".who-role")).to_have_text("Customs officer")
    screenshot("dashboard-en")
    collected = seeded.collected_iqd["SHL"]
    assert collected > 0
    expect(row(page, "SHL").locator('[data-duty="collected"]')).to_have_text(f"{collected:,.3f}")

    page.goto("/dashboard")  # the choice is remembered
    expect(page.locator("html")).to_have_attribute("lang", "en")


def test_a_wrong_password_shows_the_error_and_no_dashboard(page, screenshot):
    sign_in(page, "omar.shl", "not the password")

    expect(page.get_by_role("alert")).to_have_text("اسم المستخدم أو كلمة المرور غير صحيحة.")
    expect(page).to_have_url(SIGNIN)
    expect(page.locator("#username")).to_have_value("omar.shl")
    expect(page.locator("#password")).to_have_value("")
    expect(page.locator("table")).to_have_count(0)
    assert SESSION_COOKIE not in {c["name"] for c in page.context.cookies()}
    screenshot("signin-error-ar")
    page.goto("/dashboard")
    expect(page).to_have_url(SIGNIN)


def test_an_officer_sees_only_his_own_crossings_row(page):
    sign_in(page, "zaid.zrb", lang="en")

    rows = page.locator("tbody tr[data-crossing]")
    expect(rows).to_have_count(1)
    expect(rows).to_have_attribute("data-crossing", "ZRB")
    expect(row(page, "ZRB").locator(".crossing-name")).to_have_text("Zurbatiyah")
    expect(row(page, "ZRB").locator('[data-total="trucks"]')).to_have_text("1")
    expect(page.get_by_text("Al-Shalamcheh")).to_have_count(0)
    expect(page.locator("tfoot")).to_have_count(0)


def test_an_analyst_sees_every_crossing_and_the_totals_in_kurdish(page, screenshot):
    sign_in(page, "hawre.hq", lang="ckb")

    expect(page.locator("html")).to_have_attribute("lang", "ckb")
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    expect(page.get_by_role("heading", level=1)).to_have_text("ئەمڕۆ لە دەروازەکان")
    expect(page.locator("tbody tr[data-crossing]")).to_have_count(9)
    expect(row(page, "SHL").locator(".crossing-name")).to_have_text("شەلامچە")
    expect(page.locator('tfoot [data-total="trucks"]')).to_have_text("4")
    expect(page.locator('.totals [data-total="trucks"]')).to_have_text("4")
    screenshot("dashboard-ckb")


def test_the_dashboard_fits_a_phone_screen(page, screenshot):
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, "hawre.hq", lang="ar")
    expect(page).to_have_url(DASHBOARD)

    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    screenshot("dashboard-ar-phone")
    assert overflow <= 0, "the page scrolls sideways; only the table may"
    page.locator(".table-wrap").evaluate("el => el.scrollBy({left: -2000})")  # to the far end
    name = row(page, "SHL").locator(".crossing-name").bounding_box()
    assert name is not None
    assert name["x"] >= 0, "the crossing column stays in view"
    assert name["x"] + name["width"] <= 390, "the crossing column stays in view"


def test_the_table_refreshes_itself_every_30_seconds(page):
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.clock.install()
    sign_in(page, "omar.shl", lang="en")
    expect(page).to_have_url(DASHBOARD)
    assert page.evaluate("window.htmx.version").startswith("2.")
    page.evaluate("document.querySelector('#board').dataset.before = 'yes'")

    with page.expect_response(re.compile(r"/dashboard/table$")) as refresh:
        page.clock.run_for(31_000)
    assert refresh.value.status == 200
    expect(page.locator("#board[data-before]")).to_have_count(0)
    expect(page.locator("#board")).to_have_count(1)
    expect(row(page, "SHL").locator('[data-total="trucks"]')).to_have_text("3")
    assert problems == []


def test_signing_out_ends_the_session(page):
    sign_in(page, "omar.shl", lang="en")
    expect(page).to_have_url(DASHBOARD)
    page.get_by_role("button", name="Sign out").click()

    expect(page).to_have_url(SIGNIN)
    page.goto("/dashboard")
    expect(page).to_have_url(SIGNIN)


def test_a_trader_is_told_plainly_that_the_dashboard_is_not_for_his_role(page):
    sign_in(page, "rafidain", lang="en")
    expect(page).to_have_url(re.compile(r"/my$"))  # a trader's home is his declarations
    page.goto("/dashboard")

    expect(page.get_by_role("heading", level=1)).to_have_text("Not available for your role")
    expect(page.locator("main")).to_contain_text("(Trader or customs broker)")
    expect(page.locator("table")).to_have_count(0)
