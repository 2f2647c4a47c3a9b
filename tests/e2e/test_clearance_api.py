"""The clearance path driven through the HTTP API alone, for each lane."""

from __future__ import annotations

import threading

from sqlalchemy import func, select
from tests.factories import payload

from manafidh.adapters.db import tables as t

PAID_AT = "2026-03-15T09:30:00+03:00"


def _lodge(client, headers, **kw):
    r = client.post("/api/v1/declarations", json=payload(**kw), headers=headers)
    assert r.status_code == 201, r.text
    return r.json()


def _pay(client, bank_confirm, headers, ref, tx=None):
    orders = client.get(f"/api/v1/declarations/{ref}/payment-orders", headers=headers).json()
    order = next(o for o in orders if o["state"] == "open")
    r = bank_confirm(
        {
            "bank_transaction_id": tx or f"RAFIDAIN-{ref}",
            "payment_reference": order["reference"],
            "amount": order["amount_iqd"],
            "paid_at": PAID_AT,
        }
    )
    assert r.status_code == 200, r.text
    return r.json()


def _tobacco():
    return [
        {
            "hs_code": "240220",
            "description": "Cigarettes containing tobacco",
            "origin_country": "IR",
            "quantity": "500",
            "unit": "NAR",
            "net_mass_kg": "2000",
            "gross_mass_kg": "2200",
            "invoice_value": "40000",
        }
    ]


def _cement():
    return [
        {
            "hs_code": "252329",
            "description": "Portland cement",
            "origin_country": "IR",
            "quantity": "30000",
            "unit": "KGM",
            "net_mass_kg": "30000",
            "gross_mass_kg": "30300",
            "invoice_value": "1500",
        }
    ]


def test_green_lane_truck_goes_from_lodging_to_exit(client, auth, bank_confirm):
    trader, officer = auth("trader"), auth("officer", crossings=["SHL"])
    decl = _lodge(client, trader, n_items=5)
    assert decl["state"] == "lane_selected"
    assert decl["lane"] == "green"
    a = client.get(f"/api/v1/declarations/{decl['reference']}/assessment", headers=trader).json()
    assert len(a["lines"]) == 5
    assert a["currency"] == "IQD"
    assert "legal_reference" in a["lines"][0]
    paid = _pay(client, bank_confirm, trader, decl["reference"])
    assert paid["order_state"] == "paid"
    board = client.get("/api/v1/dashboard", headers=officer).json()
    (shl,) = [c for c in board["crossings"] if c["code"] == "SHL"]
    assert shl["duty_assessed_iqd"] == a["duty_iqd"]
    assert shl["duty_collected_iqd"] == paid["paid_iqd"]
    assert shl["by_lane"] == {"green": 1}
    r = client.post(f"/api/v1/declarations/{decl['reference']}/release", headers=officer)
    assert r.json()["state"] == "released"
    r = client.post("/api/v1/crossings/SHL/exits", json={"plate": "IR-12-B-345"}, headers=officer)
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "exited"
    history = client.get(f"/api/v1/declarations/{decl['reference']}/history", headers=trader)
    assert [h["to_state"] for h in history.json()][-3:] == ["paid", "released", "exited"]


def test_lodging_answers_with_the_payment_order_to_pay(client, auth, bank_confirm):
    trader = auth("trader")
    decl = _lodge(client, trader)
    notice = decl["payment_order"]
    orders = client.get(
        f"/api/v1/declarations/{decl['reference']}/payment-orders", headers=trader
    ).json()
    assert orders == [notice]
    assert notice["state"] == "open"
    assert notice["outstanding_iqd"] == notice["amount_iqd"] != "0"
    r = bank_confirm(
        {
            "bank_transaction_id": "TX-NOTICE",
            "payment_reference": notice["reference"],
            "amount": notice["amount_iqd"],
            "paid_at": PAID_AT,
        }
    )
    assert r.json()["order_state"] == "paid"
    draft = client.post("/api/v1/declarations", json=payload(lodge=False), headers=trader)
    assert draft.status_code == 201, draft.text
    assert draft.json()["state"] == "draft"
    assert draft.json()["payment_order"] is None
    lodged = client.post(f"/api/v1/declarations/{draft.json()['reference']}/lodge", headers=trader)
    assert lodged.status_code == 200, lodged.text
    assert lodged.json()["state"] == "lane_selected"
    assert [lodged.json()["payment_order"]] == client.get(
        f"/api/v1/declarations/{draft.json()['reference']}/payment-orders", headers=trader
    ).json()


def test_yellow_lane_needs_the_officers_document_check_before_release(client, auth, bank_confirm):
    trader, officer = auth("trader"), auth("officer", crossings=["SHL"])
    decl = _lodge(client, trader, items=_cement())
    ref = decl["reference"]
    assert decl["lane"] == "yellow"
    _pay(client, bank_confirm, trader, ref)
    assert (
        client.get(f"/api/v1/declarations/{ref}", headers=trader).json()["state"] == "lane_selected"
    )
    r = client.post(f"/api/v1/declarations/{ref}/release", headers=officer)
    assert r.status_code == 409
    r = client.post(
        f"/api/v1/declarations/{ref}/document-check", json={"found": False}, headers=officer
    )
    assert r.json()["state"] == "paid"
    assert (
        client.post(f"/api/v1/declarations/{ref}/release", headers=officer).json()["state"]
        == "released"
    )
    r = client.post(
        "/api/v1/crossings/SHL/exits",
        json={"plate": "IR 12 B 345", "declaration": ref},
        headers=officer,
    )
    assert r.json()["state"] == "exited"


def test_red_lane_finding_holds_the_truck_until_amended_and_paid(client, auth, bank_confirm):
    trader = auth("trader")
    inspector = auth("inspector", crossings=["SHL"])
    supervisor = auth("supervisor", crossings=["SHL"])
    officer = auth("officer", crossings=["SHL"])
    decl = _lodge(client, trader, items=_tobacco())
    ref = decl["reference"]
    assert decl["lane"] == "red"
    r = client.post(
        f"/api/v1/declarations/{ref}/document-check", json={"found": False}, headers=officer
    )
    assert r.status_code == 409, "a red lane needs an inspection, not a document check"
    r = client.post(
        f"/api/v1/declarations/{ref}/inspection",
        json={
            "found": True,
            "fraud_kind": "undervaluation",
            "notes": "invoice shows half the market price",
        },
        headers=inspector,
    )
    assert r.json()["state"] == "held"
    r = client.post(
        f"/api/v1/declarations/{ref}/unhold",
        json={"reason": "supplementary declaration ordered"},
        headers=supervisor,
    )
    assert r.json()["state"] == "inspected"
    content = payload(items=_tobacco())
    del content["crossing_code"]
    content["items"][0]["invoice_value"] = "80000"
    r = client.post(
        f"/api/v1/declarations/{ref}/amend",
        json={"content": content, "reason": "true invoice value"},
        headers=trader,
    )
    assert r.status_code == 200, r.text
    assert r.json()["version"] == 2
    assert r.json()["lane"] == "red"
    orders = client.get(f"/api/v1/declarations/{ref}/payment-orders", headers=trader).json()
    assert [o["state"] for o in orders] == ["superseded", "open"]
    assert r.json()["payment_order"] == orders[1]  # the amendment's answer: what is due now
    _pay(client, bank_confirm, trader, ref)
    assert (
        client.post(f"/api/v1/declarations/{ref}/release", headers=officer).json()["state"]
        == "released"
    )


def test_exit_without_release_is_refused_and_raises_a_critical_alarm(client, auth):
    trader, officer = auth("trader"), auth("officer", crossings=["SHL"])
    _lodge(client, trader)
    r = client.post("/api/v1/crossings/SHL/exits", json={"plate": "IR 12 B 345"}, headers=officer)
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "exit_without_release"
    alarms = client.get("/api/v1/alarms", headers=officer).json()
    assert [(a["kind"], a["severity"]) for a in alarms] == [("exit_without_release", "critical")]


def test_a_duplicated_bank_confirmation_pays_once(client, auth, bank_confirm):
    trader = auth("trader")
    ref = _lodge(client, trader)["reference"]
    order = client.get(f"/api/v1/declarations/{ref}/payment-orders", headers=trader).json()[0]
    body = {
        "bank_transaction_id": "TX-0001",
        "payment_reference": order["reference"],
        "amount": order["amount_iqd"],
        "paid_at": PAID_AT,
    }
    first, second = bank_confirm(body), bank_confirm(body)
    assert first.json()["duplicate"] is False
    assert second.status_code == 200
    assert second.json()["duplicate"] is True
    after = client.get(f"/api/v1/declarations/{ref}/payment-orders", headers=trader).json()[0]
    assert after["paid_iqd"] == order["amount_iqd"]


def test_a_bank_transaction_id_reused_for_another_amount_is_refused(client, auth, bank_confirm):
    trader = auth("trader")
    ref = _lodge(client, trader)["reference"]
    order = client.get(f"/api/v1/declarations/{ref}/payment-orders", headers=trader).json()[0]
    body = {
        "bank_transaction_id": "TX-9",
        "payment_reference": order["reference"],
        "amount": "1000",
        "paid_at": PAID_AT,
    }
    assert bank_confirm(body).status_code == 200
    r = bank_confirm({**body, "amount": "2000"})
    assert r.status_code == 409
    after = client.get(f"/api/v1/declarations/{ref}/payment-orders", headers=trader).json()[0]
    assert after["paid_iqd"] == "1000.000"


def test_a_confirmation_with_a_bad_signature_is_refused_and_stores_nothing(
    client, auth, bank_confirm, container
):
    trader = auth("trader")
    ref = _lodge(client, trader)["reference"]
    order = client.get(f"/api/v1/declarations/{ref}/payment-orders", headers=trader).json()[0]
    body = {
        "bank_transaction_id": "TX-F",
        "payment_reference": order["reference"],
        "amount": order["amount_iqd"],
        "paid_at": PAID_AT,
    }
    r = bank_confirm(body, secret="not-the-banks-secret-at-all")
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "bad_signature"
    assert _count(container, t.payments) == 0


def test_an_officer_of_one_crossing_is_refused_at_another(client, auth, bank_confirm):
    trader, officer_zrb = auth("trader"), auth("officer", crossings=["ZRB"])
    ref = _lodge(client, trader)["reference"]
    _pay(client, bank_confirm, trader, ref)
    r = client.post(f"/api/v1/declarations/{ref}/release", headers=officer_zrb)
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "forbidden"
    r = client.post(
        "/api/v1/crossings/SHL/exits", json={"plate": "IR 12 B 345"}, headers=officer_zrb
    )
    assert r.status_code == 403


def test_a_trader_cannot_see_another_traders_declaration(client, auth):
    alice, bob = auth("trader"), auth("trader")
    ref = _lodge(client, alice)["reference"]
    assert client.get(f"/api/v1/declarations/{ref}", headers=bob).status_code == 404
    assert client.get("/api/v1/declarations", headers=bob).json() == []


def test_malformed_declarations_are_refused_and_nothing_is_stored(client, auth, container):
    trader = auth("trader")
    bad_bodies = [
        payload(items=[{**payload()["items"][0], "hs_code": "999998"}]),  # not in HS 2022
        payload(items=[{**payload()["items"][0], "net_mass_kg": "-5"}]),
        payload(items=[{**payload()["items"][0], "gross_mass_kg": "10"}]),  # below net mass
        payload(items=[]),
        payload(origin_country="XX"),
        payload(invoice_currency="ZZZ"),
        payload(crossing_code="NOPE"),
        {**payload(), "surprise": "field"},
        payload(items=[{**payload()["items"][0], "invoice_value": "NaN"}]),
    ]
    for body in bad_bodies:
        r = client.post("/api/v1/declarations", json=body, headers=trader)
        assert 400 <= r.status_code < 500, (body, r.status_code, r.text)
        assert set(r.json()["error"]) == {"code", "message", "details"}
    r = client.post(
        "/api/v1/declarations",
        content=b"{not json",
        headers={**trader, "Content-Type": "application/json"},
    )
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "malformed_json"
    for table in (
        t.declarations,
        t.declaration_versions,
        t.declaration_items,
        t.assessments,
        t.payment_orders,
    ):
        assert _count(container, table) == 0, table.name


def test_requests_without_a_valid_token_are_refused(client):
    assert client.get("/api/v1/declarations").status_code == 401
    r = client.get("/api/v1/declarations", headers={"Authorization": "Bearer forged"})
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "unauthenticated"


def test_a_trader_may_not_release_or_create_users(client, auth, bank_confirm):
    trader = auth("trader")
    ref = _lodge(client, trader)["reference"]
    _pay(client, bank_confirm, trader, ref)
    assert client.post(f"/api/v1/declarations/{ref}/release", headers=trader).status_code == 403
    r = client.post(
        "/api/v1/users",
        json={"username": "mallory", "full_name": "M", "role": "admin", "password": "x" * 12},
        headers=trader,
    )
    assert r.status_code == 403


def _count(container, table) -> int:
    with container.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def test_a_confirmation_without_a_time_zone_is_refused_and_stores_nothing(
    client, auth, bank_confirm, container
):
    trader = auth("trader")
    ref = _lodge(client, trader)["reference"]
    order = client.get(f"/api/v1/declarations/{ref}/payment-orders", headers=trader).json()[0]
    body = {
        "bank_transaction_id": "TX-NAIVE",
        "payment_reference": order["reference"],
        "amount": order["amount_iqd"],
        "paid_at": "2026-03-15T09:30:00",  # whose 09:30? Baghdad's or the bank's server's?
    }
    r = bank_confirm(body)
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "validation_failed"
    assert _count(container, t.payments) == 0


def test_reading_a_declaration_does_not_wait_for_a_writer(client, auth, container):
    """A read answers while another transaction holds the write lock it would have queued on."""
    trader = auth("trader")
    ref = _lodge(client, trader)["reference"]
    answers: list = []
    with container.engine.connect() as other:
        # Another writer is mid-transaction: on SQLite it holds the database's write lock
        # (BEGIN IMMEDIATE), on PostgreSQL the row lock of this very declaration.
        other.execute(
            t.declarations.update()
            .where(t.declarations.c.reference == ref)
            .values(updated_at=t.declarations.c.updated_at)
        )
        reader = threading.Thread(
            target=lambda: answers.append(client.get(f"/api/v1/declarations/{ref}", headers=trader))
        )
        reader.start()
        reader.join(timeout=10)
        answered_while_locked = bool(answers)
        other.rollback()  # let a blocked reader go, so that a failure cannot hang the suite
    reader.join()
    assert answered_while_locked, "the read waited behind the writer"
    assert answers[0].status_code == 200, answers[0].text
    assert answers[0].json()["reference"] == ref
