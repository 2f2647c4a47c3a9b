"""Deferred-payment accounts and the foregone-revenue report over HTTP."""

from __future__ import annotations

from decimal import Decimal

from tests.factories import payload

BASE = "/api/v1/revenue/deferred-accounts"
APPROVAL = {
    "trader_tax_id": "IQ-100200300",
    "trader_name": "Al-Rafidain Building Materials Co.",
    "guarantee_reference": "LG-2026-0042",
    "guarantee_bank": "Rafidain Bank",
    "valid_from": "2026-01-01",
    "valid_to": "2026-12-31",
    "reason": "guarantee verified with the issuing bank",
}


def _order(client, trader):
    r = client.post("/api/v1/declarations", json=payload(plate="IR 55 B 101"), headers=trader)
    assert r.status_code == 201, r.text
    ref = r.json()["reference"]
    order = client.get(f"/api/v1/declarations/{ref}/payment-orders", headers=trader).json()[-1]
    return order["reference"], Decimal(order["amount_iqd"])


def test_finance_approves_a_trader_pays_from_the_account_and_the_limit_holds(client, auth):
    finance, trader = auth("finance"), auth("trader")
    reference, amount = _order(client, trader)
    r = client.post(BASE, json={**APPROVAL, "limit_iqd": str(amount)}, headers=finance)
    assert r.status_code == 201, r.text
    number = r.json()["number"]
    assert r.json()["approved_by"]
    r = client.post(f"{BASE}/{number}/payments", json={"payment_reference": reference},
                    headers=trader)  # fmt: skip
    assert r.status_code == 403  # the declarant names the importer; only its holder may charge
    r = client.post(f"{BASE}/{number}/payments", json={"payment_reference": reference},
                    headers=finance)  # fmt: skip
    assert r.status_code == 201, r.text
    assert Decimal(r.json()["amount_iqd"]) == amount
    second, _ = _order(client, trader)
    r = client.post(f"{BASE}/{number}/payments", json={"payment_reference": second},
                    headers=finance)  # fmt: skip
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "deferred_payment_refused"
    assert "limit" in r.json()["error"]["message"]
    acct = client.get(f"{BASE}/{number}", headers=auth("auditor")).json()
    assert Decimal(acct["balance_iqd"]) == amount
    assert Decimal(acct["available_iqd"]) == 0
    assert [e["action"] for e in acct["events"]] == ["approved"]
    r = client.post(f"{BASE}/{number}/suspend", json={"reason": "review"}, headers=finance)
    assert r.json()["state"] == "suspended"
    tb = client.get("/api/v1/revenue/trial-balance", headers=finance).json()
    assert tb["balanced"] is True
    assert Decimal(tb["balances"]["assets:deferred"]) == amount


def test_bad_requests_and_wrong_roles_get_the_error_shape(client, auth):
    finance = auth("finance")
    r = client.post(BASE, json={**APPROVAL, "limit_iqd": "-5"}, headers=finance)
    assert r.status_code == 422
    r = client.post(BASE, json={**APPROVAL, "limit_iqd": "1000"}, headers=auth("trader"))
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "forbidden"
    r = client.post(f"{BASE}/DPANOSUCH/payments", json={"payment_reference": "RF18539007547034"},
                    headers=finance)  # fmt: skip
    assert r.status_code == 404
    r = client.post(f"{BASE}/DPANOSUCH/statements", json={"month": "2026-02"}, headers=finance)
    assert r.status_code == 404
    assert client.get(f"{BASE}", headers=auth("officer", crossings=["SHL"])).status_code == 403


def test_the_foregone_report_comes_beside_collected_as_json_and_files(client, auth, container):
    _order(client, auth("trader"))
    analyst = auth("analyst")
    year = container.clock.now().year
    url = f"/api/v1/revenue/reports/crossing-month-foregone?year={year}"
    r = client.get(url, headers=analyst)
    assert r.status_code == 200, r.text
    assert r.json()["columns"][-2:] == ["foregone_iqd", "foregone_percent_of_due"]
    assert r.json()["rows"][0][0] == "SHL"
    r = client.get(url + "&format=csv", headers=analyst)
    assert r.text.splitlines()[0].endswith("foregone_iqd,foregone_percent_of_due")
    assert client.get(url, headers=auth("trader")).status_code == 403


def test_the_holder_pays_from_its_own_account(client, auth, container):
    from manafidh.domain.identity import Role
    from manafidh.services import identity

    with container.uow() as uow:
        identity.create_user(
            uow=uow, hasher=container.hasher, actor=None, username="holder", full_name="Holder",
            role=Role.TRADER, password="correct horse battery", crossings=[],
            tax_id=APPROVAL["trader_tax_id"],
        )  # fmt: skip
    token = client.post(
        "/api/v1/auth/token", json={"username": "holder", "password": "correct horse battery"}
    ).json()["token"]
    holder = {"Authorization": f"Bearer {token}"}
    reference, amount = _order(client, holder)
    r = client.post(BASE, json={**APPROVAL, "limit_iqd": "1e9"}, headers=auth("finance"))
    number = r.json()["number"]
    r = client.post(f"{BASE}/{number}/payments", json={"payment_reference": reference},
                    headers=holder)  # fmt: skip
    assert r.status_code == 201, r.text
    assert Decimal(client.get(f"{BASE}/{number}", headers=holder).json()["balance_iqd"]) == amount
