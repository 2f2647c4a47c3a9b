"""The administrator's journey in a real Chromium, in Arabic and in English (issue #8, item 6).

An administrator changes a user's role with a reason, registers a device with a pasted public key
and revokes it, and previews a revocation of exemptions by decree, against its own server and
database. Every page is checked with axe-core (no serious or critical violation) and
photographed into test-artifacts/screenshots for a person to look at.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from playwright.sync_api import Page, expect
from tests.browser.conftest import add_user, journey_container, open_page, serving
from tests.browser.test_roles import check_page, sign_in

from manafidh.bootstrap import Container
from manafidh.domain.identity import Role
from manafidh.domain.tariff.exemptions import BeneficiaryKind, Exemption
from manafidh.services import exemptions
from manafidh.web.app import create_app

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = pytest.mark.browser
LANGS = ["ar", "en"]
TEXT = {
    "ar": {
        "users": "المستخدمون",
        "changed": "غُيّرت صلاحيات المستخدم وسُجّل التغيير.",
        "auditor": "مدقق",
        "registered": "سُجّل الجهاز.",
        "revoked": "أُلغي الجهاز: تُرفض أحداثه من الآن فصاعدًا.",
        "refused": "بعض المعلومات ناقصة أو غير صحيحة.",
    },
    "en": {
        "users": "Users",
        "changed": "The user's access has been changed and the change recorded.",
        "auditor": "Auditor",
        "registered": "The device has been registered.",
        "revoked": "The device has been revoked: its events are refused from now on.",
        "refused": "Some information is missing or not valid.",
    },
}


@dataclass
class AdminWorld:
    """The journey's own deployment: its container and base URL."""

    container: Container
    base_url: str = ""


def _grant(c: Container, reference: str, kind: BeneficiaryKind) -> None:
    with c.uow() as uow:
        exemptions.grant(
            uow=uow,
            actor=None,
            exemption=Exemption(
                id=0,
                reference=reference,
                beneficiary_kind=kind,
                beneficiary_name="وزارة الإعمار والإسكان",
                beneficiary_tax_id="IQ-100200300",
                legal_basis="Customs Law No. 23 of 1984, art. 182",
                valid_from=date(2026, 1, 1),
                valid_to=None,
            ),
        )


@pytest.fixture(scope="module")
def admin_world(
    sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory, audit_key_file: Path
) -> Iterator[AdminWorld]:
    """A database with an administrator, users to manage and exemptions, behind a live server."""
    workdir = tmp_path_factory.mktemp("admin")
    c = journey_container(sqlite_template, workdir, 13, audit_key_file=audit_key_file)
    w = AdminWorld(c)
    add_user(c, "dilan.admin", "Dilan Omer", Role.ADMIN)
    for lang in LANGS:
        add_user(c, f"analyst.{lang}", f"Analyst {lang}", Role.ANALYST)
        _grant(c, f"EX-INST-{lang}", BeneficiaryKind.INSTITUTION)
    try:
        with serving(create_app(c)) as base_url:
            w.base_url = base_url
            yield w
    finally:
        c.engine.dispose()


@pytest.fixture
def apage(browser: Browser, admin_world: AdminWorld) -> Iterator[Page]:
    """A fresh browser page on the journey's server."""
    with open_page(browser, admin_world.base_url) as pg:
        yield pg


def _pem() -> str:
    public = Ed25519PrivateKey.generate().public_key()
    return public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


@pytest.mark.parametrize("lang", LANGS)
def test_an_administrator_changes_a_role_registers_and_revokes_a_device_previews_a_decree(
    apage: Page, admin_world: AdminWorld, lang: str
):
    t = TEXT[lang]
    sign_in(apage, "dilan.admin", lang)
    expect(apage.locator("html")).to_have_attribute("dir", "rtl" if lang == "ar" else "ltr")

    # Users: the role changes only with a reason.
    apage.locator(".main-nav").get_by_role("link", name=t["users"]).click()
    expect(apage).to_have_url(re.compile(r"/admin/users$"))
    check_page(apage, f"admin-users-{lang}")
    apage.locator(f"tr[data-username='analyst.{lang}'] a").click()
    apage.locator("#c-role").select_option("auditor")
    apage.locator("#change-user button[type=submit]").click()
    expect(apage.locator("#action-error")).to_contain_text(t["refused"])
    expect(apage.locator("#current-role")).to_have_attribute("data-role", "analyst")
    check_page(apage, f"admin-user-refused-{lang}")
    apage.locator("#c-reason").fill("نقل إلى التدقيق الداخلي" if lang == "ar" else "moved to audit")
    apage.locator("#change-user button[type=submit]").click()
    expect(apage.locator("#done")).to_have_text(t["changed"])
    expect(apage.locator("#current-role")).to_have_text(t["auditor"])
    with admin_world.container.uow(readonly=True) as uow:
        assert uow.users.by_username(f"analyst.{lang}").role is Role.AUDITOR

    # Devices: register with a pasted PEM key, then revoke with a reason.
    apage.goto("/admin/devices?crossing=SHB")
    device = f"shb-wb-{lang}"
    apage.locator("#r-device_id").fill(device)
    apage.locator("#r-lane").fill("L1")
    apage.locator("#r-kind").select_option("weighbridge")
    apage.locator("#r-position").select_option("entry")
    apage.locator("#r-public_key").fill(_pem())
    apage.locator("#r-reason").fill("new weighbridge")
    check_page(apage, f"admin-devices-{lang}")
    apage.locator("#register-device button[type=submit]").click()
    expect(apage).to_have_url(re.compile(rf"/admin/devices/{device}\?done=registered$"))
    expect(apage.locator("#done")).to_have_text(t["registered"])
    check_page(apage, f"admin-device-{lang}")
    apage.locator("#v-reason").fill("تلف في الحساس" if lang == "ar" else "sensor damaged")
    apage.locator("#revoke-device button[type=submit]").click()
    expect(apage.locator("#done")).to_have_text(t["revoked"])
    expect(apage.locator("#device-status")).to_have_attribute("data-status", "revoked")
    with admin_world.container.uow(readonly=True) as uow:
        assert uow.devices.get(device).revoked

    # Exemptions: a decree is previewed before anything is revoked.
    apage.goto("/admin/exemptions-decree")
    apage.locator("#k-institution").check()
    apage.locator("#d-decree").fill(f"Decree 12/2026 ({lang})")
    apage.locator("#d-reason").fill("إنهاء إعفاءات المؤسسات" if lang == "ar" else "end of scheme")
    apage.locator("#decree button[type=submit]").click()
    expect(apage.locator("#preview-title")).to_contain_text(re.compile(r"\d"))
    expect(apage.locator(f"tr[data-exemption='EX-INST-{lang}']")).to_be_visible()
    expect(apage.locator("#foregone-total")).to_have_text(re.compile(r"^[\d,]+\.\d{3}$"))
    check_page(apage, f"admin-decree-preview-{lang}")
    with admin_world.container.uow(readonly=True) as uow:
        assert uow.exemptions.get(f"EX-INST-{lang}").state.value == "active"


@pytest.mark.parametrize("lang", LANGS)
def test_the_other_administrator_pages_pass_axe_and_mirror(
    apage: Page, admin_world: AdminWorld, lang: str
):
    sign_in(apage, "dilan.admin", lang)
    for name in ("crossings", "tariff", "exemptions", "rules"):
        apage.goto(f"/admin/{name}")
        expect(apage.locator("h1")).to_be_visible()
        check_page(apage, f"admin-{name}-{lang}")
    # The navigation and the tables start on the right in Arabic, on the left in English.
    nav = apage.locator(".main-nav a").first.bounding_box()
    width = apage.viewport_size["width"]
    assert (nav["x"] > width / 2) == (lang == "ar")
    apage.goto("/admin/rules")
    apage.locator("#n-name").fill("tiles")
    apage.locator("#n-hs_prefix").fill("6907")
    apage.locator("#try-rule").click()
    expect(apage.locator("#bt-declarations")).to_be_visible()
    check_page(apage, f"admin-rules-backtest-{lang}")
