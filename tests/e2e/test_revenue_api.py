"""The revenue API over HTTP: statements in, the queue worked, the books read."""

from __future__ import annotations

from decimal import Decimal

from tests.factories import payload

from manafidh.simulation.statements import Credit, camt053, csv_statement


def _order(client, auth):
    trader = auth("trader")
    r = client.post("/api/v1/declarations", json=payload(), headers=trader)
    assert r.status_code == 201, r.text
    ref = r.json()["reference"]
    order = client.get(f"/api/v1/declarations/{ref}/payment-orders", headers=trader).json()[-1]
    return order["reference"], Decimal(order["amount_iqd"])


def test_a_finance_officer_imports_a_statement_and_works_the_queue(client, auth, container):
    reference, amount = _order(client, auth)
    day = container.clock.now().date()
    raw = camt053(
        "S-API-1",
        day,
        [
            Credit("B1", amount, day, reference, True),
            Credit("B2", Decimal("50000.000"), day, "no reference given", False),
        ],
    )
    finance = auth("finance")
    xml = {**finance, "Content-Type": "application/xml"}
    r = client.post("/api/v1/revenue/statements", content=raw, headers=xml)
    assert r.status_code == 201, r.text
    assert r.json()["outcomes"] == {"matched": 1, "unmatched": 1}
    again = client.post("/api/v1/revenue/statements", content=raw, headers=xml)
    assert again.json()["changed"] is False
    [x] = client.get("/api/v1/revenue/exceptions", headers=finance).json()
    assert (x["kind"], x["held_iqd"]) == ("unmatched", "50000.000")
    r = client.post(
        f"/api/v1/revenue/exceptions/{x['id']}/resolve",
        json={"resolution": "return", "reason": "payer unknown; returned to the sending bank"},
        headers=finance,
    )
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "resolved"
    again = client.post(
        f"/api/v1/revenue/exceptions/{x['id']}/resolve",
        json={"resolution": "accept", "reason": "again"},
        headers=finance,
    )
    assert again.status_code == 409
    tb = client.get("/api/v1/revenue/trial-balance", headers=auth("auditor")).json()
    assert tb["balanced"] is True
    assert Decimal(tb["balances"]["assets:bank"]) == amount
    s = client.get("/api/v1/revenue/reconciliation", headers=auth("analyst")).json()
    assert s["open_exceptions"] == 0


def test_bad_statements_and_wrong_roles_are_refused_with_the_error_shape(client, auth, container):
    finance = auth("finance")
    r = client.post(
        "/api/v1/revenue/statements",
        content=b"<Document><Stmt>",
        headers={**finance, "Content-Type": "application/xml"},
    )
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "validation_failed"
    day = container.clock.now().date()
    csv = csv_statement("S-CSV", [Credit("B9", Decimal("1.000"), day, "x", False)])
    r = client.post(
        "/api/v1/revenue/statements",
        content=csv,
        headers={**auth("trader"), "Content-Type": "text/csv"},
    )
    assert r.status_code == 403
    assert (
        client.get(
            "/api/v1/revenue/trial-balance", headers=auth("officer", crossings=["SHL"])
        ).status_code
        == 403
    )
    r = client.post(
        "/api/v1/revenue/exceptions/5/resolve",
        json={"resolution": "accept", "reason": "x"},
        headers=finance,
    )
    assert r.status_code == 404


def test_reports_come_as_json_and_as_files(client, auth, container):
    _, amount = _order(client, auth)
    analyst = auth("analyst")
    year = container.clock.now().year
    r = client.get(f"/api/v1/revenue/reports/crossing-month?year={year}", headers=analyst)
    assert r.status_code == 200, r.text
    assert r.json()["rows"][0][:3] == ["SHL", f"{year}-03", str(amount)]
    r = client.get(
        f"/api/v1/revenue/reports/by/chapter?since={year}-01&until={year}-12&format=csv",
        headers=analyst,
    )
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv")
    assert r.text.splitlines()[0] == "chapter,duty_iqd,customs_value_iqd,items"
    for fmt in ("xlsx", "parquet"):
        r = client.get(
            f"/api/v1/revenue/reports/daily-close?day={container.clock.now().date()}&format={fmt}",
            headers=analyst,
        )
        assert r.status_code == 200
        assert r.content[:4] in (b"PK\x03\x04", b"PAR1")
    assert (
        client.get(
            f"/api/v1/revenue/reports/crossing-month?year={year}", headers=auth("trader")
        ).status_code
        == 403
    )


def _gateway(container):
    from manafidh.adapters.gateway import TestGateway

    secret = container.settings.gateway_hmac_secret
    return TestGateway(name="test", secret=secret, checkout_base="http://127.0.0.1/pay")


def test_a_gateway_payment_settles_the_order_once_and_a_forged_one_changes_nothing(
    client, auth, container
):
    reference, amount = _order(client, auth)
    gw = _gateway(container)
    assert "ref=" + reference in gw.checkout_url(
        reference=reference, amount_iqd=amount, return_url="/"
    )
    now = container.clock.now()
    body, sig = gw.notice(
        transaction_id="GW-1", reference=reference, amount_iqd=amount, paid_at=now
    )
    url = "/api/v1/revenue/gateway/notices"
    headers = {"Content-Type": "application/json"}
    forged = client.post(url, content=body, headers={**headers, "X-Gateway-Signature": "sha256=00"})
    assert forged.status_code == 401
    declined, dsig = gw.notice(
        transaction_id="GW-0",
        reference=reference,
        amount_iqd=amount,
        paid_at=now,
        status="declined",
    )
    r = client.post(url, content=declined, headers={**headers, "X-Gateway-Signature": dsig})
    assert r.json() == {
        "applied": False,
        "duplicate": False,
        "payment_reference": None,
        "order_state": None,
    }
    r = client.post(url, content=body, headers={**headers, "X-Gateway-Signature": sig})
    assert r.status_code == 200, r.text
    assert (r.json()["applied"], r.json()["order_state"]) == (True, "paid")
    again = client.post(url, content=body, headers={**headers, "X-Gateway-Signature": sig})
    assert again.json()["duplicate"] is True
    with container.uow(readonly=True) as uow:
        assert uow.receipts.of_payment("GW-1") is not None
        assert uow.receipts.of_payment("GW-0") is None
        assert len(uow.ledger.postings(order_id=uow.payments.order_by_reference(reference).id)) == 2


def test_a_refund_without_a_reduced_assessment_or_a_second_person_is_refused(client, auth):
    trader = auth("trader")
    ref = client.post("/api/v1/declarations", json=payload(), headers=trader).json()["reference"]
    finance = auth("finance")
    r = client.post(
        "/api/v1/revenue/refunds", json={"declaration": ref, "reason": "x"}, headers=finance
    )
    assert r.status_code == 422
    assert "nothing to refund" in r.json()["error"]["message"]
    r = client.post("/api/v1/revenue/refunds/nope/approve", json={"reason": "x"}, headers=finance)
    assert r.status_code == 404
    r = client.post(
        "/api/v1/revenue/refunds", json={"declaration": ref, "reason": "x"}, headers=trader
    )
    assert r.status_code == 403
