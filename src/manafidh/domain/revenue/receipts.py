"""Receipts: one per payment, with a number that cannot be guessed from another's."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

# Crockford's base32 without I, L, O, U: nothing to misread on a printed receipt.
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def receipt_number(crossing_code: str, at: datetime) -> str:
    """``SHL-2026-7Q3K9M2XHD``: the crossing, the year and 50 random bits."""
    token = "".join(secrets.choice(ALPHABET) for _ in range(10))
    return f"{crossing_code}-{at.year}-{token}"


def is_receipt_number(text: str) -> bool:
    """True when ``text`` has the shape of a receipt number (checked before any lookup)."""
    parts = text.split("-")
    return (
        len(parts) == 3
        and 2 <= len(parts[0]) <= 8
        and parts[0].isalnum()
        and parts[1].isdigit()
        and len(parts[1]) == 4
        and len(parts[2]) == 10
        and all(c in ALPHABET for c in parts[2])
    )


@dataclass(frozen=True)
class Receipt:
    """Proof of one payment: what, how much, when, where. No personal data."""

    number: str
    bank_transaction_id: str
    order_reference: str
    declaration_reference: str
    crossing_code: str
    amount_iqd: Decimal
    paid_at: datetime
    issued_at: datetime
