"""E-payment gateways: a signed-callback gateway, and a test gateway that signs its own notices.

The gateway sends ``POST /api/v1/revenue/gateway/notices`` with a JSON body and the header
``X-Gateway-Signature: sha256=<HMAC-SHA256 of the raw body>``; the acquirer later settles the
money to the collection account under the same transaction id, so the bank statement
reconciles it like a bank callback (ADR 0007).
"""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal, InvalidOperation
from urllib.parse import urlencode

from manafidh.adapters import bank
from manafidh.domain.errors import BadSignature, ValidationFailed
from manafidh.domain.payments.gateway import GatewayNotice

SIGNATURE_HEADER = "X-Gateway-Signature"
STATUSES = ("captured", "declined", "pending")


class SignedCallbackGateway:
    """A gateway that redirects the payer to its checkout and notifies by signed callback."""

    def __init__(self, *, name: str, secret: str, checkout_base: str) -> None:
        self.name = name
        self.secret = secret
        self.checkout_base = checkout_base

    def checkout_url(self, *, reference: str, amount_iqd: Decimal, return_url: str) -> str:
        """Where to send the payer to pay ``amount_iqd`` against ``reference``."""
        query = urlencode({"ref": reference, "amount": f"{amount_iqd:.3f}", "return": return_url})
        return f"{self.checkout_base}?{query}"

    def read_notice(self, body: bytes, signature: str | None) -> GatewayNotice:
        """Check the signature, then the fields; refuse anything doubtful."""
        if not bank.verify(self.secret, body, signature):
            raise BadSignature("gateway notice signature is missing or wrong")
        try:
            data = json.loads(body)
            notice = GatewayNotice(
                transaction_id=str(data["transaction_id"]),
                reference=str(data["reference"]),
                amount_iqd=Decimal(str(data["amount"])),
                paid_at=datetime.fromisoformat(str(data["paid_at"])),
                status=str(data["status"]),
            )
        except (ValueError, KeyError, TypeError, InvalidOperation):
            raise ValidationFailed(
                "gateway notice needs transaction_id, reference, amount, paid_at, status"
            ) from None
        if notice.status not in STATUSES:
            raise ValidationFailed(f"unknown gateway status {notice.status!r}", field="status")
        if not notice.transaction_id.strip() or len(notice.transaction_id) > 35:
            raise ValidationFailed("transaction_id: 1 to 35 characters", field="transaction_id")
        return notice


class TestGateway(SignedCallbackGateway):
    """A gateway for tests and demonstrations: it signs notices with its own secret."""

    __test__ = False  # not a pytest test class

    def notice(
        self,
        *,
        transaction_id: str,
        reference: str,
        amount_iqd: Decimal,
        paid_at: datetime,
        status: str = "captured",
    ) -> tuple[bytes, str]:
        """The body and signature header the gateway would send."""
        body = json.dumps(
            {
                "transaction_id": transaction_id,
                "reference": reference,
                "amount": f"{amount_iqd:.3f}",
                "paid_at": paid_at.isoformat(),
                "status": status,
            }
        ).encode()
        return body, bank.sign(self.secret, body)
