"""Exemptions, their quotas (the ledger), events and uses (the foregone-revenue record)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from decimal import ROUND_CEILING, Decimal
from typing import Any

from sqlalchemy import Connection, and_, bindparam, func, insert, or_, select, update

from manafidh.adapters.db import tables as t
from manafidh.adapters.db.generation import ReferenceGeneration
from manafidh.domain.tariff.exemptions import (
    BeneficiaryKind,
    Exemption,
    ExemptionEvent,
    ExemptionState,
    ExemptionUse,
    Quota,
)

GRAM = Decimal("0.001")


def grams(kg: Decimal) -> int:
    """Kilograms as whole grams, rounded up (a quota is never charged less than was used)."""
    return int((kg / GRAM).to_integral_value(ROUND_CEILING))


def kg(g: int | None) -> Decimal | None:
    """Whole grams as kilograms."""
    return None if g is None else Decimal(g) * GRAM


_q = t.exemption_quotas.c
_CHARGE = (
    update(t.exemption_quotas)
    .where(
        _q.id == bindparam("quota_id"),
        or_(_q.max_grams.is_(None), _q.used_grams + bindparam("g") <= _q.max_grams),
        or_(
            _q.max_value_iqd.is_(None),
            _q.used_value_iqd + bindparam("v", type_=t.Fils()) <= _q.max_value_iqd,
        ),
    )
    .values(
        used_grams=_q.used_grams + bindparam("g"),
        used_value_iqd=_q.used_value_iqd + bindparam("v", type_=t.Fils()),
    )
)


class SqlExemptionRepository:
    """Exemptions with their quotas; the quota ledger; events; uses."""

    def __init__(self, conn: Connection, generation: ReferenceGeneration | None = None) -> None:
        self.conn = conn
        self.generation = generation or ReferenceGeneration(conn)

    def _load(self, where: Any) -> list[Exemption]:
        rows = list(
            self.conn.execute(select(t.exemptions).where(where).order_by(t.exemptions.c.id))
        )
        if not rows:
            return []
        quotas: dict[int, list[Quota]] = defaultdict(list)
        qrows = self.conn.execute(
            select(t.exemption_quotas)
            .where(_q.exemption_id.in_([r.id for r in rows]))
            .order_by(_q.id)
        )
        for q in qrows:
            quotas[q.exemption_id].append(
                Quota(
                    q.id,
                    q.code,
                    kg(q.max_grams),
                    q.max_value_iqd,
                    kg(q.used_grams) or Decimal(0),
                    q.used_value_iqd,
                )
            )
        return [
            Exemption(
                id=r.id,
                reference=r.reference,
                beneficiary_kind=BeneficiaryKind(r.beneficiary_kind),
                beneficiary_name=r.beneficiary_name,
                beneficiary_tax_id=r.beneficiary_tax_id,
                legal_basis=r.legal_basis,
                valid_from=r.valid_from,
                valid_to=r.valid_to,
                relief_percent=r.relief_percent,
                codes=tuple(r.codes),
                crossings=tuple(r.crossings),
                quotas=tuple(quotas[r.id]),
                state=ExemptionState(r.state),
                project_id=r.project_id,
            )
            for r in rows
        ]

    def for_beneficiary(self, tax_id: str) -> list[Exemption]:
        """The active exemptions granted to ``tax_id``."""
        c = t.exemptions.c
        # Most importers hold no exemption: who does is held per generation, so their lodgings
        # read nothing here. Quota balances are never cached (they are charged by UPDATE).
        holders = self.generation.cached("exemption_holders", self._holders)
        if tax_id not in holders:
            return []
        return self._load(and_(c.beneficiary_tax_id == tax_id, c.state == "active"))

    def _holders(self) -> frozenset[str]:
        c = t.exemptions.c
        rows = self.conn.execute(select(c.beneficiary_tax_id).where(c.state == "active"))
        return frozenset(r[0] for r in rows)

    def get(self, reference: str) -> Exemption | None:
        """One exemption by its reference."""
        found = self._load(t.exemptions.c.reference == reference)
        return found[0] if found else None

    def all(self) -> list[Exemption]:
        """Every exemption."""
        return self._load(t.exemptions.c.id.isnot(None))

    def add(self, e: Exemption) -> Exemption:
        """Store a new exemption and its quotas; returns it with ids."""
        new_id = self.conn.execute(
            insert(t.exemptions)
            .values(
                reference=e.reference,
                beneficiary_kind=e.beneficiary_kind.value,
                beneficiary_name=e.beneficiary_name,
                beneficiary_tax_id=e.beneficiary_tax_id,
                legal_basis=e.legal_basis,
                valid_from=e.valid_from,
                valid_to=e.valid_to,
                relief_percent=e.relief_percent,
                codes=list(e.codes),
                crossings=list(e.crossings),
                state=e.state.value,
                project_id=e.project_id,
            )
            .returning(t.exemptions.c.id)
        ).scalar_one()
        for q in e.quotas:
            self.conn.execute(
                insert(t.exemption_quotas).values(
                    exemption_id=new_id,
                    code=q.code,
                    max_grams=None if q.max_kg is None else grams(q.max_kg),
                    max_value_iqd=q.max_value_iqd,
                    used_grams=0,
                    used_value_iqd=Decimal(0),
                )
            )
        self.generation.bump()
        stored = self._load(t.exemptions.c.id == new_id)
        return stored[0]

    def set_state(self, exemption_id: int, state: ExemptionState) -> None:
        """Record the exemption's new state (its event is added apart)."""
        self.conn.execute(
            update(t.exemptions).where(t.exemptions.c.id == exemption_id).values(state=state.value)
        )
        self.generation.bump()

    def add_event(self, event: ExemptionEvent) -> None:
        """Append a recorded change."""
        self.conn.execute(
            insert(t.exemption_events).values(
                exemption_id=event.exemption_id,
                action=event.action.value,
                at=event.at,
                actor=event.actor,
                reason=event.reason,
                legal_reference=event.legal_reference,
            )
        )

    def events(self, exemption_id: int) -> list[dict[str, Any]]:
        """The recorded changes of an exemption, oldest first."""
        c = t.exemption_events.c
        rows = self.conn.execute(
            select(c.action, c.at, c.actor, c.reason, c.legal_reference)
            .where(c.exemption_id == exemption_id)
            .order_by(c.id)
        )
        return [dict(r._mapping) for r in rows]

    def charge(self, quota_id: int, kg_used: Decimal, value_iqd: Decimal) -> bool:
        """Add to a quota's usage if it fits, atomically; False when it does not fit."""
        done = self.conn.execute(
            _CHARGE, {"quota_id": quota_id, "g": grams(kg_used), "v": value_iqd}
        )
        return done.rowcount == 1

    def release_declaration(self, declaration_id: str) -> int:
        """Give back what a declaration's earlier assessments took from quotas."""
        u = t.exemption_uses.c
        taken = list(
            self.conn.execute(
                select(u.quota_id, func.sum(u.grams), func.sum(u.value_iqd))
                .where(u.declaration_id == declaration_id, u.released.is_(False))
                .where(u.quota_id.isnot(None))
                .group_by(u.quota_id)
            )
        )
        for quota_id, g, value in taken:
            self.conn.execute(
                update(t.exemption_quotas)
                .where(_q.id == quota_id)
                .values(
                    used_grams=_q.used_grams - int(g),
                    used_value_iqd=_q.used_value_iqd - bindparam("v", value, type_=t.Fils()),
                )
            )
        self.conn.execute(
            update(t.exemption_uses)
            .where(u.declaration_id == declaration_id, u.released.is_(False))
            .values(released=True)
        )
        return len(taken)

    def add_uses(
        self,
        *,
        assessment_id: str,
        declaration_id: str,
        crossing_code: str,
        acceptance_date: Any,
        hs_codes: dict[int, str],
        uses: Sequence[ExemptionUse],
    ) -> None:
        """Record exempted lines with the duty they would have paid."""
        if not uses:
            return
        self.conn.execute(
            insert(t.exemption_uses),
            [
                {
                    "assessment_id": assessment_id,
                    "declaration_id": declaration_id,
                    "line_no": u.line_no,
                    "exemption_id": u.exemption.id,
                    "quota_id": u.quota_id,
                    "hs_code": hs_codes[u.line_no],
                    "crossing_code": crossing_code,
                    "acceptance_date": acceptance_date,
                    "grams": grams(u.kg),
                    "value_iqd": u.value_iqd,
                    "duty_before_iqd": u.duty_before_iqd,
                    "foregone_iqd": u.foregone_iqd,
                    "released": False,
                }
                for u in uses
            ],
        )

    def foregone(self) -> list[dict[str, Any]]:
        """Every current exempted line with its exemption's beneficiary and legal basis."""
        u, e = t.exemption_uses.c, t.exemptions.c
        rows = self.conn.execute(
            select(
                u.assessment_id,
                u.declaration_id,
                u.line_no,
                u.hs_code,
                u.crossing_code,
                u.acceptance_date,
                u.value_iqd,
                u.duty_before_iqd,
                u.foregone_iqd,
                e.reference,
                e.beneficiary_kind,
                e.beneficiary_name,
                e.legal_basis,
            )
            .join(t.exemptions, e.id == u.exemption_id)
            .where(u.released.is_(False))
            .order_by(u.id)
        )
        return [dict(r._mapping) for r in rows]

    def uses_of(self, assessment_id: str) -> list[dict[str, Any]]:
        """The exempted lines of one assessment."""
        u = t.exemption_uses.c
        rows = self.conn.execute(
            select(t.exemption_uses).where(u.assessment_id == assessment_id).order_by(u.id)
        )
        return [dict(r._mapping) for r in rows]
