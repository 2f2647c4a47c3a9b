"""Exemptions from duty: who benefits, on what legal basis, for which goods and crossings, up to
which quotas, and their life (granted, suspended, revoked, reinstated) with who, when and why.

An exemption applies to a goods line when it is active, in force on the acceptance date
(``domain/validity.py``), granted to the declaration's importer (by tax id), and its scope covers
the line's commodity code (a code or chapter above it; no codes means every code) and the
crossing (no crossings means every crossing). It relieves ``relief_percent`` of the line's duty
(100: a full exemption). A quota caps the net mass (kg) and/or customs value (IQD) exempted on
the codes under it; a line that does not fit what is left pays in full (no line is split).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from manafidh.domain.errors import Conflict, ValidationFailed
from manafidh.domain.money import IQD_MINOR_UNITS, round_money
from manafidh.domain.tariff.assessment import Assessment
from manafidh.domain.tariff.measures import check_code
from manafidh.domain.validity import applies_on

HUNDRED = Decimal(100)


class BeneficiaryKind(StrEnum):
    """Who an exemption is granted to."""

    IMPORTER = "importer"
    INSTITUTION = "institution"  # a government institution
    FOREIGN_STATE = "foreign_state"  # an embassy or a foreign state's programme
    INVESTMENT_PROJECT = "investment_project"  # a National Investment Commission licence


class ExemptionState(StrEnum):
    """Where an exemption stands."""

    ACTIVE = "active"
    SUSPENDED = "suspended"
    REVOKED = "revoked"


class ExemptionAction(StrEnum):
    """A recorded change of an exemption's state."""

    GRANT = "grant"
    SUSPEND = "suspend"
    REVOKE = "revoke"
    REINSTATE = "reinstate"


_MOVES = {
    ExemptionAction.SUSPEND: ({ExemptionState.ACTIVE}, ExemptionState.SUSPENDED),
    ExemptionAction.REVOKE: (
        {ExemptionState.ACTIVE, ExemptionState.SUSPENDED},
        ExemptionState.REVOKED,
    ),
    ExemptionAction.REINSTATE: (
        {ExemptionState.SUSPENDED, ExemptionState.REVOKED},
        ExemptionState.ACTIVE,
    ),
}


@dataclass(frozen=True)
class Quota:
    """A cap on what one exemption relieves on the codes under ``code``; None means no cap."""

    id: int
    code: str
    max_kg: Decimal | None
    max_value_iqd: Decimal | None
    used_kg: Decimal = Decimal(0)
    used_value_iqd: Decimal = Decimal(0)

    def __post_init__(self) -> None:
        check_code(self.code)
        if self.max_kg is None and self.max_value_iqd is None:
            raise ValidationFailed("a quota caps a quantity, a value or both", field="quotas")
        for name in ("max_kg", "max_value_iqd"):
            cap = getattr(self, name)
            if cap is not None and (not isinstance(cap, Decimal) or not cap.is_finite() or cap < 0):
                raise ValidationFailed(f"a quota's {name} must be zero or more", field=name)

    def covers(self, hs_code: str) -> bool:
        """True when ``hs_code`` is under the quota's code."""
        return hs_code.startswith(self.code)

    def fits(self, kg: Decimal, value_iqd: Decimal) -> bool:
        """True when ``kg`` and ``value_iqd`` fit in what is left."""
        return (self.max_kg is None or self.used_kg + kg <= self.max_kg) and (
            self.max_value_iqd is None or self.used_value_iqd + value_iqd <= self.max_value_iqd
        )


@dataclass(frozen=True)
class Exemption:
    """A relief from duty granted to a beneficiary on a legal basis, for a scope, in a period."""

    id: int
    reference: str
    beneficiary_kind: BeneficiaryKind
    beneficiary_name: str
    beneficiary_tax_id: str
    legal_basis: str
    valid_from: date
    valid_to: date | None
    relief_percent: Decimal = HUNDRED
    codes: tuple[str, ...] = ()
    crossings: tuple[str, ...] = ()
    quotas: tuple[Quota, ...] = ()
    state: ExemptionState = ExemptionState.ACTIVE
    project_id: str | None = None

    def __post_init__(self) -> None:
        if not self.legal_basis.strip():
            raise ValidationFailed("an exemption needs its legal basis", field="legal_basis")
        if not self.beneficiary_tax_id.strip():
            raise ValidationFailed("an exemption needs the beneficiary's tax id")
        if self.valid_to is not None and self.valid_to < self.valid_from:
            raise ValidationFailed("an exemption ends before it starts", field="valid_to")
        r = self.relief_percent
        if not isinstance(r, Decimal) or not (0 < r <= HUNDRED):
            raise ValidationFailed("relief must be more than 0% and at most 100%", field="relief")
        for code in self.codes:
            check_code(code)

    def covers(self, hs_code: str, crossing: str) -> bool:
        """True when the scope takes in ``hs_code`` at ``crossing``."""
        in_codes = not self.codes or any(hs_code.startswith(c) for c in self.codes)
        return in_codes and (not self.crossings or crossing in self.crossings)

    def applies(self, tax_id: str, hs_code: str, crossing: str, day: date) -> bool:
        """True when the exemption relieves this importer's line at this crossing on ``day``."""
        return (
            self.state is ExemptionState.ACTIVE
            and tax_id == self.beneficiary_tax_id
            and applies_on(self, day)
            and self.covers(hs_code, crossing)
        )

    def quota_for(self, hs_code: str) -> Quota | None:
        """The most specific quota over ``hs_code``, if any."""
        found = [q for q in self.quotas if q.covers(hs_code)]
        return max(found, key=lambda q: len(q.code)) if found else None

    def relief(self, duty_iqd: Decimal) -> Decimal:
        """The part of ``duty_iqd`` this exemption relieves, rounded to the fils."""
        return round_money(duty_iqd * self.relief_percent / HUNDRED, IQD_MINOR_UNITS)

    def after(self, action: ExemptionAction) -> ExemptionState:
        """The state ``action`` leads to, or Conflict when it does not apply now."""
        if action is ExemptionAction.GRANT:
            raise Conflict("an exemption is granted once")
        allowed, to = _MOVES[action]
        if self.state not in allowed:
            raise Conflict(
                f"exemption {self.reference} is {self.state.value}: cannot {action.value}",
                state=self.state.value,
            )
        return to


@dataclass(frozen=True)
class ExemptionEvent:
    """A recorded change of an exemption: who, when, why, on what legal reference."""

    exemption_id: int
    action: ExemptionAction
    at: datetime
    actor: str
    reason: str
    legal_reference: str


@dataclass(frozen=True)
class ExemptionUse:
    """An exempted line: the duty it would have paid (foregone revenue) and what it used."""

    line_no: int
    exemption: Exemption
    quota_id: int | None
    kg: Decimal
    value_iqd: Decimal
    duty_before_iqd: Decimal
    foregone_iqd: Decimal


@dataclass
class RevocationPreview:
    """What a bulk revocation by decree would affect."""

    decree: str
    as_of: date
    kinds: tuple[BeneficiaryKind, ...]
    affected: list[Exemption] = field(default_factory=list)


def candidates(
    exemptions: Iterable[Exemption], tax_id: str, hs_code: str, crossing: str, day: date
) -> list[Exemption]:
    """Exemptions that apply to a line, the largest relief first, then the oldest."""
    found = [e for e in exemptions if e.applies(tax_id, hs_code, crossing, day)]
    return sorted(found, key=lambda e: (-e.relief_percent, e.id))


def select_for_revocation(
    exemptions: Sequence[Exemption], kinds: Sequence[BeneficiaryKind], as_of: date
) -> list[Exemption]:
    """Exemptions of ``kinds`` not yet revoked and still in force on or after ``as_of``."""
    return [
        e
        for e in exemptions
        if e.beneficiary_kind in kinds
        and e.state is not ExemptionState.REVOKED
        and (e.valid_to is None or e.valid_to >= as_of)
    ]


def apply_reliefs(
    assessment: Assessment, uses: Sequence[ExemptionUse], notes: Mapping[int, str]
) -> None:
    """Take each exempted line's relief off its duty, explain it, and total again."""
    by_line = {u.line_no: u for u in uses}
    for line in assessment.lines:
        use = by_line.get(line.line_no)
        if use is not None:
            e = use.exemption
            line.duty_iqd -= use.foregone_iqd
            line.explanation += (
                f"; exemption {e.reference} ({e.beneficiary_kind.value} {e.beneficiary_name},"
                f" {e.legal_basis}) relieves {e.relief_percent}%: {use.foregone_iqd} IQD"
                f" foregone, {line.duty_iqd} IQD due"
            )
        elif line.line_no in notes:
            line.explanation += f"; {notes[line.line_no]}"
    duty = sum((line.duty_iqd for line in assessment.lines), Decimal(0))
    assessment.duty_iqd = duty
    assessment.total_due_iqd = duty
