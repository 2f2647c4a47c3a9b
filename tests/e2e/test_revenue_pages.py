"""Receipts with a QR code, their public verification, and the public transparency page."""

from __future__ import annotations

from decimal import Decimal

from tests.factories import payload

from manafidh.domain.revenue.receipts import is_receipt_number


def _paid(client, auth, bank_confirm, container):
    trader = auth("trader")
    ref = client.post("/api/v1/declarations", json=payload(), headers=trader).json()["reference"]
    order = client.get(f"/api/v1/declarations/{ref}/payment-orders", headers=trader).json()[-1]
    r = bank_confirm(
        {
            "bank_transaction_id": "RAFIDAIN-77",
            "payment_reference": order["reference"],
            "amount": order["amount_iqd"],
            "paid_at": container.clock.now().isoformat(),
        }
    )
    assert r.status_code == 200, r.text
    with container.uow(readonly=True) as uow:
        return uow.receipts.of_payment("RAFIDAIN-77"), Decimal(order["amount_iqd"])


def test_each_payment_has_a_printable_receipt_whose_qr_code_verifies_it(
    client, auth, bank_confirm, container
):
    receipt, amount = _paid(client, auth, bank_confirm, container)
    assert is_receipt_number(receipt.number)
    assert receipt.amount_iqd == amount
    page = client.get(f"/receipts/{receipt.number}?lang=en")
    assert page.status_code == 200
    assert "<svg" in page.text  # the QR code, drawn on the server
    assert f"/verify/{receipt.number}" in page.text
    verify = client.get(f"/verify/{receipt.number}?lang=en")
    assert verify.status_code == 200
    assert 'data-verified="true"' in verify.text
    assert f"{amount:,.3f}" in verify.text
    assert "Shalamcheh" in verify.text or "SHL" in verify.text
    # No personal data: neither the importer nor the driver appears.
    for personal in ("Al-Rafidain Building Materials", "Hossein", "IQ-100200300"):
        assert personal not in verify.text
    arabic = client.get(f"/verify/{receipt.number}?lang=ar")
    assert 'dir="rtl"' in arabic.text
    assert "التحقق من الإيصال" in arabic.text


def test_an_unknown_or_malformed_receipt_number_is_not_verified(client):
    for number in ("SHL-2026-0000000000", "nonsense", "SHL-2026-%3Cscript%3E"):
        r = client.get(f"/verify/{number}?lang=en")
        assert r.status_code == 404
        assert 'data-verified="false"' in r.text
        assert "<script>" not in r.text


def test_the_transparency_page_shows_revenue_per_crossing_without_sign_in(
    client, auth, bank_confirm, container
):
    _, amount = _paid(client, auth, bank_confirm, container)
    page = client.get("/transparency?lang=en")
    assert page.status_code == 200
    assert "<svg" in page.text
    assert f"{amount:,.3f}" in page.text
    assert "Content-Security-Policy" in page.headers
    assert "Al-Rafidain" not in page.text
    kurdish = client.get("/transparency?lang=ckb")
    assert 'dir="rtl"' in kurdish.text
    assert "داهاتی دەروازە سنوورییەکان" in kurdish.text
