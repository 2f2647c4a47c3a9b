"""The payloads of audit entries that fix a record's values (amounts, masses, lanes, totals).

The services build entries with these functions, and the verifier rebuilds the same shapes from
the business tables: a value changed in a table no longer equals the value in its entry.
"""

from __future__ import annotations

import hashlib
from typing import Any

from manafidh.domain.audit.canonical import canonical_json, normalise
from manafidh.domain.declarations.model import ITEM_FIELDS, Content
from manafidh.domain.identity import User
from manafidh.domain.payments.orders import Payment
from manafidh.domain.risk.lanes import LaneDecision
from manafidh.domain.tariff.assessment import Assessment


def content_payload(content: Content) -> dict[str, Any]:
    """Every field of a version's content, as canonical JSON values."""
    value: dict[str, Any] = normalise(
        {
            "regime": content.regime.value,
            "importer_name": content.importer_name,
            "importer_tax_id": content.importer_tax_id,
            "exporter_name": content.exporter_name,
            "vehicle_plates": list(content.vehicle_plates),
            "trailer_plate": content.trailer_plate,
            "driver_name": content.driver_name,
            "driver_document": content.driver_document,
            "dispatch_country": content.dispatch_country,
            "origin_country": content.origin_country,
            "invoice_currency": content.invoice_currency,
            "freight": content.freight,
            "insurance": content.insurance,
            "items": [{f: getattr(i, f) for f in ITEM_FIELDS} for i in content.items],
        }
    )
    return value


def content_digest(content: Content) -> str:
    """SHA-256 (hex) of the canonical content: one value that changes with any field."""
    return hashlib.sha256(canonical_json(content_payload(content)).encode()).hexdigest()


def version_payload(number: int, content: Content) -> dict[str, Any]:
    """A declaration version: its number, content digest and full content."""
    return {
        "version": number,
        "content_digest": content_digest(content),
        "content": content_payload(content),
    }


def assessment_payload(a: Assessment) -> dict[str, Any]:
    """The totals of an assessment and the rate they used."""
    value: dict[str, Any] = normalise(
        {
            "assessment_id": a.id,
            "version": a.version_number,
            "acceptance_date": a.acceptance_date,
            "exchange_rate": a.exchange_rate,
            "customs_value_iqd": a.customs_value_iqd,
            "duty_iqd": a.duty_iqd,
            "total_due_iqd": a.total_due_iqd,
        }
    )
    return value


def lane_payload(d: LaneDecision) -> dict[str, Any]:
    """A lane decision with its random draw and the rules that matched."""
    value: dict[str, Any] = normalise(
        {
            "lane": d.lane.value,
            "random_draw": d.random_draw,
            "random_rate": d.random_rate,
            "random_selected": d.random_selected,
            "matched_rule_ids": list(d.matched_rule_ids),
        }
    )
    return value


def payment_payload(order_reference: str, declaration_id: str, p: Payment) -> dict[str, Any]:
    """A bank payment applied to an order."""
    value: dict[str, Any] = normalise(
        {
            "order": order_reference,
            "declaration_id": declaration_id,
            "bank_transaction_id": p.bank_transaction_id,
            "amount_iqd": p.amount_iqd,
            "paid_at": p.paid_at,
            "channel": p.channel,
        }
    )
    return value


def order_payload(order_reference: str, amount_iqd: Any) -> dict[str, Any]:
    """A payment order issued for an amount."""
    value: dict[str, Any] = normalise({"order": order_reference, "amount_iqd": amount_iqd})
    return value


def check_payload(kind: str, found: bool, fraud_kind: str | None) -> dict[str, Any]:
    """A document check or inspection result."""
    return {"check": kind, "found": found, "fraud_kind": fraud_kind}


def access_payload(user: User) -> dict[str, Any]:
    """What a user may do, as the log records it (and checks the users table against)."""
    return {"role": user.role.value, "crossings": list(user.crossings), "active": user.active}
