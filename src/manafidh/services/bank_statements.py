"""The bank statements already imported, as the finance officer's list shows them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from manafidh.domain.errors import ValidationFailed
from manafidh.domain.identity import Permission, User
from manafidh.services.ports import UnitOfWork


@dataclass(frozen=True)
class StatementRow:
    """One imported statement: who imported it and when, how many entries, credits in IQD."""

    statement_id: str
    account: str
    format: str
    imported_at: datetime
    imported_by: str
    entries: int
    credits_iqd: Decimal


def recent(*, uow: UnitOfWork, actor: User | None, limit: int = 100) -> list[StatementRow]:
    """Statements newest import first (finance, analysts and auditors read them)."""
    if actor is not None:
        actor.require(Permission.READ_REVENUE)
    if not 1 <= limit <= 1000:
        raise ValidationFailed("limit is between 1 and 1000", field="limit")
    return [StatementRow(*r) for r in uow.reconciliation.statements(limit=limit)]
