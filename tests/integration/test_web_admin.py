"""The administrator's pages over HTTP, on SQLite and PostgreSQL: who may see them, what each form
changes, and that a refused action shows the service's reason and changes nothing."""

from __future__ import annotations

import base64
import json
import random
from datetime import date, timedelta

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from tests.conftest import PASSWORD
from tests.factories import content, item

from manafidh.adapters.db import tables
from manafidh.domain.identity import Role
from manafidh.domain.tariff.exemptions import BeneficiaryKind, Exemption
from manafidh.services import declarations, exemptions
from manafidh.web.app import create_app

PAGES = [
    "/admin/users",
    "/admin/crossings",
    "/admin/devices",
    "/admin/tariff",
    "/admin/exemptions",
    "/admin/exemptions-decree",
    "/admin/rules",
]
TAX_ID = "IQ-100200300"  # the factories' importer


def _client(container, username: str | None = None) -> TestClient:
    client = TestClient(create_app(container), follow_redirects=False)
    if username:
        r = client.post("/signin", data={"username": username, "password": PASSWORD})
        assert r.status_code == 303
    return client


@pytest.fixture
def admin(container, make_user):
    """A signed-in administrator's client."""
    return _client(container, make_user("admin").username)


def _journal_size(container) -> int:
    with container.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(tables.audit_entries)).scalar()


def _pem() -> str:
    key = Ed25519PrivateKey.generate().public_key()
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def _b64() -> str:
    raw = (
        Ed25519PrivateKey.generate()
        .public_key()
        .public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    )
    return base64.b64encode(raw).decode()


# -- who may see the pages --------------------------------------------------------------------
@pytest.mark.parametrize("role", [Role.TRADER, Role.OFFICER, Role.SUPERVISOR, Role.AUDITOR])
def test_every_admin_page_is_a_403_page_for_other_roles(container, make_user, role):
    scoped = role in (Role.OFFICER, Role.SUPERVISOR)
    user = make_user(role.value, crossings=["SHL"] if scoped else None)
    client = _client(container, user.username)
    for path in PAGES:
        r = client.get(path)
        assert r.status_code == 403, path
        assert r.headers["content-type"].startswith("text/html")
    before = _journal_size(container)
    r = client.post(f"/admin/users/{user.username}", data={"role": "admin", "reason": "me"})
    assert r.status_code == 403
    with container.uow(readonly=True) as uow:
        assert uow.users.by_username(user.username).role is role
    assert _journal_size(container) == before


def test_without_a_session_the_admin_pages_send_to_sign_in(container):
    client = _client(container)
    for path in PAGES:
        r = client.get(path)
        assert r.status_code == 303
        assert r.headers["location"].startswith("/signin?next=/admin/")


@pytest.mark.parametrize(("lang", "direction"), [("ar", "rtl"), ("ckb", "rtl"), ("en", "ltr")])
def test_every_admin_page_opens_for_the_administrator_in_the_nav(admin, lang, direction):
    for path in PAGES:
        r = admin.get(f"{path}?lang={lang}")
        assert r.status_code == 200, path
        assert f'<html lang="{lang}" dir="{direction}">' in r.text
        assert 'href="/admin/users" aria-current="page"' in r.text or path != "/admin/users"
        assert 'href="/admin/rules"' in r.text
        assert "Content-Security-Policy" in r.headers


def test_a_post_from_another_site_is_refused_before_it_changes_anything(admin, make_user):
    target = make_user("analyst")
    r = admin.post(
        f"/admin/users/{target.username}",
        data={"role": "auditor", "reason": "promotion", "active": "yes"},
        headers={"Origin": "https://evil.example"},
    )
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "cross_site_request"


# -- users ------------------------------------------------------------------------------------
def test_the_admin_changes_a_users_role_with_a_reason_and_it_is_journalled(
    container, admin, make_user
):
    target = make_user("analyst")
    r = admin.post(
        f"/admin/users/{target.username}",
        data={"role": "auditor", "reason": "moved to internal audit", "active": "yes"},
    )
    assert r.status_code == 303
    assert r.headers["location"] == f"/admin/users/{target.username}?done=changed"
    with container.uow(readonly=True) as uow:
        assert uow.users.by_username(target.username).role is Role.AUDITOR
        entries = uow.audit.entries(
            subject=f"user:{target.id}",
            actor=None,
            action="user.changed",
            since=None,
            until=None,
            limit=10,
            offset=0,
        )
    assert json.loads(entries[-1].payload)["reason"] == "moved to internal audit"
    page = admin.get(r.headers["location"])
    assert 'data-role="auditor"' in page.text


@pytest.mark.parametrize(
    ("form", "status", "shown"),
    [
        ({"role": "auditor", "reason": "", "active": "yes"}, 422, "say why the user is changed"),
        ({"role": "officer", "reason": "posting", "active": "yes"}, 422, "must be posted"),
        ({"role": "wizard", "reason": "x", "active": "yes"}, 422, "choose a role"),
        ({"role": "analyst", "reason": "same", "active": "yes"}, 422, "nothing to change"),
    ],
)
def test_a_refused_user_change_shows_the_reason_and_changes_nothing(
    container, admin, make_user, form, status, shown
):
    target = make_user("analyst")
    before = _journal_size(container)
    r = admin.post(f"/admin/users/{target.username}", data=form)
    assert r.status_code == status
    assert 'role="alert"' in r.text
    assert shown in r.text
    with container.uow(readonly=True) as uow:
        assert uow.users.by_username(target.username).role is Role.ANALYST
    assert _journal_size(container) == before


def test_an_admin_cannot_change_their_own_access(container, make_user):
    me = make_user("admin")
    client = _client(container, me.username)
    r = client.post(
        f"/admin/users/{me.username}", data={"role": "admin", "reason": "x", "active": "no"}
    )
    assert r.status_code == 403
    assert "may not change their own access" in r.text
    assert 'id="change-user"' in r.text  # the page again, not the generic 403 page
    with container.uow(readonly=True) as uow:
        assert uow.users.by_username(me.username).active


def test_the_admin_creates_a_user_and_deactivates_it(container, admin):
    r = admin.post(
        "/admin/users",
        data={
            "username": "Layla.SHL",
            "full_name": "ليلى حسين",
            "role": "officer",
            "password": "a long first password",
            "crossings": ["SHL", "ZRB"],
        },
    )
    assert r.status_code == 303
    with container.uow(readonly=True) as uow:
        made = uow.users.by_username("layla.shl")
    assert made.role is Role.OFFICER
    assert made.crossings == ["SHL", "ZRB"]
    r = admin.post(
        "/admin/users/layla.shl",
        data={"role": "officer", "crossings": ["SHL"], "active": "no", "reason": "left"},
    )
    assert r.status_code == 303
    with container.uow(readonly=True) as uow:
        assert not uow.users.by_username("layla.shl").active
    signin = _client(container).post(
        "/signin", data={"username": "layla.shl", "password": "a long first password"}
    )
    assert signin.status_code == 401


def test_a_refused_creation_keeps_what_was_typed_except_the_password(container, admin):
    r = admin.post(
        "/admin/users",
        data={"username": "short", "full_name": "Typed Name", "role": "analyst", "password": "x"},
    )
    assert r.status_code == 422
    assert "password must have at least 10 characters" in r.text
    assert 'value="Typed Name"' in r.text
    with container.uow(readonly=True) as uow:
        assert uow.users.by_username("short") is None


# -- devices ----------------------------------------------------------------------------------
def test_the_admin_registers_rotates_and_revokes_a_device(container, admin, clock):
    r = admin.post(
        "/admin/devices",
        data={
            "device_id": "shl-wb-9",
            "crossing_code": "SHL",
            "lane": "L1",
            "kind": "weighbridge",
            "position": "entry",
            "public_key": _pem(),
            "reason": "new weighbridge",
        },
    )
    assert r.status_code == 303
    assert r.headers["location"] == "/admin/devices/shl-wb-9?done=registered"
    clock.advance(timedelta(minutes=5))  # the new key starts after the first one
    r = admin.post("/admin/devices/shl-wb-9/rotate", data={"public_key": _b64(), "reason": "x"})
    assert r.status_code == 303
    r = admin.post("/admin/devices/shl-wb-9/revoke", data={"reason": "stolen"})
    assert r.status_code == 303
    with container.uow(readonly=True) as uow:
        device = uow.devices.get("shl-wb-9")
    assert len(device.keys) == 2
    assert device.revoked
    assert device.revoke_reason == "stolen"
    page = admin.get("/admin/crossings")
    assert "shl-wb-9" in page.text


@pytest.mark.parametrize(
    ("key", "shown"),
    [
        ("not a key", "a public key is PEM, or 32 bytes in hex or base64"),
        ("", "paste the device"),
        ("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----", "not a PEM public key"),
    ],
)
def test_a_bad_public_key_is_refused_on_the_page_and_nothing_is_registered(
    container, admin, key, shown
):
    r = admin.post(
        "/admin/devices",
        data={
            "device_id": "shl-cam-7",
            "crossing_code": "SHL",
            "lane": "L1",
            "kind": "anpr_camera",
            "position": "exit",
            "public_key": key,
        },
    )
    assert r.status_code == 422
    assert shown in r.text
    assert 'value="shl-cam-7"' in r.text
    with container.uow(readonly=True) as uow:
        assert uow.devices.get("shl-cam-7") is None


def test_revoking_a_device_without_a_reason_or_twice_is_refused(container, admin):
    admin.post(
        "/admin/devices",
        data={
            "device_id": "zrb-gate-1",
            "crossing_code": "ZRB",
            "lane": "L2",
            "kind": "gate_barrier",
            "position": "exit",
            "public_key": _b64(),
        },
    )
    r = admin.post("/admin/devices/zrb-gate-1/revoke", data={"reason": " "})
    assert r.status_code == 422
    assert "a revocation needs a reason" in r.text
    assert admin.post("/admin/devices/zrb-gate-1/revoke", data={"reason": "broken"}).status_code
    r = admin.post("/admin/devices/zrb-gate-1/revoke", data={"reason": "again"})
    assert r.status_code == 409
    assert "already revoked" in r.text
    assert admin.get("/admin/devices/nope").status_code == 404


# -- tariff -----------------------------------------------------------------------------------
GOOD = (
    "code,measure_type,origin,valid_from,valid_to,legal_reference,expression\n"
    "690721,import_duty,ALL,2026-04-01,,Decision 7 of 2026 (test),15%\n"
)
BAD = GOOD + (
    "123456,import_duty,ALL,2026-04-01,,Decision 7 of 2026 (test),15%\n"
    "690722,import_duty,ALL,2026-04-01,,,15%\n"
)


def test_a_tariff_file_with_bad_lines_is_refused_whole_with_every_bad_line(container, admin):
    r = admin.post("/admin/tariff/import", files={"file": ("april.csv", BAD.encode(), "text/csv")})
    assert r.status_code == 422
    assert 'data-line="3"' in r.text
    assert 'data-line="4"' in r.text
    assert 'data-line="2"' not in r.text
    with container.uow(readonly=True) as uow:
        assert uow.tariff.imports() == []


def test_checking_a_tariff_file_stores_nothing_and_says_what_would_be_imported(container, admin):
    files = {"file": ("april.csv", GOOD.encode(), "text/csv")}
    r = admin.post("/admin/tariff/import", data={"step": "check"}, files=files)
    assert r.status_code == 200
    assert 'id="checked"' in r.text
    refused = admin.post(
        "/admin/tariff/import",
        data={"step": "check"},
        files={"file": ("april.csv", BAD.encode(), "text/csv")},
    )
    assert refused.status_code == 422
    assert 'data-line="3"' in refused.text
    with container.uow(readonly=True) as uow:
        assert uow.tariff.imports() == []


def test_a_tariff_import_is_applied_listed_and_rolled_back_with_a_reason(container, admin):
    r = admin.post("/admin/tariff/import", files={"file": ("april.csv", GOOD.encode(), "text/csv")})
    assert r.status_code == 303
    with container.uow(readonly=True) as uow:
        (done,) = uow.tariff.imports()
    assert done.source == "april.csv"
    assert done.measures == 1
    preview = admin.get(f"/admin/tariff/{done.id}/rollback")
    assert preview.status_code == 200
    assert f'data-import="{done.id}"' in preview.text
    refused = admin.post(f"/admin/tariff/{done.id}/rollback", data={"reason": ""})
    assert refused.status_code == 422
    assert "a rollback needs a reason" in refused.text
    r = admin.post(f"/admin/tariff/{done.id}/rollback", data={"reason": "wrong decree"})
    assert r.status_code == 303
    with container.uow(readonly=True) as uow:
        (undone,) = uow.tariff.imports()
    assert undone.rollback_reason == "wrong decree"
    assert "wrong decree" in admin.get("/admin/tariff").text


@pytest.mark.parametrize(
    ("name", "body", "shown"),
    [
        ("rates.xlsx", b"PK", "a tariff file is .csv or .json"),
        ("rates.csv", b"\xff\xfe\x00", "is not UTF-8 text"),
        ("rates.csv", b"hs,rate\n1,2\n", "needs a header with"),
    ],
)
def test_a_file_that_is_not_a_tariff_file_is_refused(container, admin, name, body, shown):
    r = admin.post("/admin/tariff/import", files={"file": (name, body, "text/plain")})
    assert r.status_code == 422
    assert shown in r.text
    with container.uow(readonly=True) as uow:
        assert uow.tariff.imports() == []


# -- exemptions -------------------------------------------------------------------------------
def _grant(container, reference: str, kind: BeneficiaryKind) -> None:
    with container.uow() as uow:
        exemptions.grant(
            uow=uow,
            actor=None,
            exemption=Exemption(
                id=0,
                reference=reference,
                beneficiary_kind=kind,
                beneficiary_name="Ministry of Housing",
                beneficiary_tax_id=TAX_ID,
                legal_basis="Customs Law No. 23 of 1984, art. 182 (test)",
                valid_from=date(2026, 1, 1),
                valid_to=None,
            ),
        )


def test_an_exemption_is_suspended_and_reinstated_with_reason_and_legal_reference(container, admin):
    _grant(container, "EX-7", BeneficiaryKind.INSTITUTION)
    refused = admin.post(
        "/admin/exemptions/EX-7",
        data={"action": "suspend", "reason": "audit", "legal_reference": ""},
    )
    assert refused.status_code == 422
    assert "needs a reason and a legal reference" in refused.text
    r = admin.post(
        "/admin/exemptions/EX-7",
        data={"action": "suspend", "reason": "audit", "legal_reference": "Letter 5/2026"},
    )
    assert r.status_code == 303
    page = admin.get("/admin/exemptions/EX-7")
    assert 'data-state="suspended"' in page.text
    assert "Letter 5/2026" in page.text
    again = admin.post(
        "/admin/exemptions/EX-7",
        data={"action": "suspend", "reason": "audit", "legal_reference": "Letter 5/2026"},
    )
    assert again.status_code == 409


def test_a_decree_is_previewed_with_the_foregone_revenue_then_applied(container, admin, make_user):
    _grant(container, "EX-INST", BeneficiaryKind.INSTITUTION)
    _grant(container, "EX-IMP", BeneficiaryKind.IMPORTER)
    trader = make_user("trader")
    with container.uow() as uow:  # one exempted line: foregone revenue through EX-INST
        declarations.submit(
            uow=uow,
            actor=trader,
            crossing_code="SHL",
            content=content(items=[item(1, hs_code="690721")], importer_tax_id=TAX_ID),
            rng=random.Random(1),
        )
    form = {"kinds": ["institution"], "as_of": "2026-03-15", "decree": "Decree 9", "reason": "end"}
    preview = admin.post("/admin/exemptions-decree", data=form)
    assert preview.status_code == 200
    assert 'data-exemption="EX-INST"' in preview.text
    assert 'data-exemption="EX-IMP"' not in preview.text
    total = preview.text.split('id="foregone-total">')[1].split("<")[0]
    assert total not in ("0.000", "")
    with container.uow(readonly=True) as uow:
        assert {e.state.value for e in uow.exemptions.all()} == {"active"}
    r = admin.post("/admin/exemptions-decree", data=form | {"confirm": "yes"})
    assert r.status_code == 303
    with container.uow(readonly=True) as uow:
        states = {e.reference: e.state.value for e in uow.exemptions.all()}
    assert states == {"EX-INST": "revoked", "EX-IMP": "active"}


def test_a_decree_without_kinds_or_decree_is_refused(container, admin):
    _grant(container, "EX-8", BeneficiaryKind.INSTITUTION)
    r = admin.post(
        "/admin/exemptions-decree",
        data={"as_of": "2026-03-15", "decree": "D", "reason": "r", "confirm": "yes"},
    )
    assert r.status_code == 422
    assert "name at least one beneficiary kind" in r.text
    with container.uow(readonly=True) as uow:
        assert uow.exemptions.get("EX-8").state.value == "active"


# -- lane rules -------------------------------------------------------------------------------
def test_a_rule_is_tried_against_history_then_enabled_then_disabled(container, admin):
    rule = {"name": "tiles", "lane": "yellow", "hs_prefix": "6907", "reason": "tiles fraud"}
    tried = admin.post(
        "/admin/rules", data=rule | {"step": "try", "since": "2026-01-01", "until": "2026-03-15"}
    )
    assert tried.status_code == 200
    assert 'id="backtest"' in tried.text
    with container.uow(readonly=True) as uow:
        before = len(uow.reference.lane_rules())
    r = admin.post("/admin/rules", data=rule | {"step": "add", "valid_from": "2026-03-16"})
    assert r.status_code == 303
    with container.uow(readonly=True) as uow:
        rules = uow.reference.lane_rules()
    assert len(rules) == before + 1
    added = rules[-1]
    refused = admin.post(f"/admin/rules/{added.id}/end", data={"end_reason": ""})
    assert refused.status_code == 422
    r = admin.post(f"/admin/rules/{added.id}/end", data={"end_reason": "no longer needed"})
    assert r.status_code == 303
    with container.uow(readonly=True) as uow:
        ended = next(x for x in uow.reference.lane_rules() if x.id == added.id)
    assert ended.valid_to == date(2026, 3, 15)


@pytest.mark.parametrize(
    ("form", "shown"),
    [
        ({"name": "nothing", "lane": "red", "step": "add", "reason": "r"}, "has no condition"),
        (
            {
                "name": "past",
                "lane": "red",
                "hs_prefix": "24",
                "valid_from": "2026-01-01",
                "step": "add",
                "reason": "r",
            },
            "cannot start in the past",
        ),
        ({"name": "x", "lane": "red", "hs_prefix": "24", "step": "add"}, "say why the rule"),
        ({"name": "x", "lane": "red", "min_customs_value_iqd": "lots", "step": "try"}, "a number"),
    ],
)
def test_a_refused_rule_shows_the_reason_and_adds_nothing(container, admin, form, shown):
    with container.uow(readonly=True) as uow:
        before = len(uow.reference.lane_rules())
    r = admin.post("/admin/rules", data=form)
    assert r.status_code == 422
    assert shown in r.text
    with container.uow(readonly=True) as uow:
        assert len(uow.reference.lane_rules()) == before
