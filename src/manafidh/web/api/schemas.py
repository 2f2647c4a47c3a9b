"""Request and response bodies of the HTTP API (Pydantic v2)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from manafidh.domain.declarations.model import Content, Declaration, Item, Regime
from manafidh.domain.identity import Role
from manafidh.domain.payments.orders import PaymentOrder
from manafidh.domain.tariff.assessment import Assessment
from manafidh.services.clearance import FraudKind

Country = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Amount = Annotated[Decimal, Field(ge=0, max_digits=18, decimal_places=4, allow_inf_nan=False)]
Mass = Annotated[Decimal, Field(gt=0, max_digits=15, decimal_places=3, allow_inf_nan=False)]
Plate = Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=20)]


class Strict(BaseModel):
    """Unknown fields are refused: a typo must not silently drop data."""

    model_config = ConfigDict(extra="forbid")


class ItemIn(Strict):
    """One goods item."""

    hs_code: Annotated[str, StringConstraints(pattern=r"^\d{6}(\d{2}){0,2}$")]
    description: Text
    origin_country: Country
    quantity: Annotated[Decimal, Field(gt=0, max_digits=15, decimal_places=3, allow_inf_nan=False)]
    unit: Annotated[str, StringConstraints(min_length=1, max_length=16)] = "KGM"
    net_mass_kg: Mass
    gross_mass_kg: Mass
    invoice_value: Amount


class ContentIn(Strict):
    """A declaration's header and items (one version's content)."""

    regime: Regime = Regime.IMPORT
    importer_name: Text
    importer_tax_id: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=3, max_length=40)
    ]
    exporter_name: Text | None = None
    vehicle_plates: Annotated[list[Plate], Field(min_length=1, max_length=3)]
    trailer_plate: Plate | None = None
    driver_name: Text
    driver_document: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=3, max_length=64)
    ]
    dispatch_country: Country
    origin_country: Country
    invoice_currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
    freight: Amount = Decimal(0)
    insurance: Amount = Decimal(0)
    items: Annotated[list[ItemIn], Field(min_length=1, max_length=999)]

    def to_domain(self) -> Content:
        """The domain content."""
        return Content(
            regime=self.regime,
            importer_name=self.importer_name,
            importer_tax_id=self.importer_tax_id,
            exporter_name=self.exporter_name,
            vehicle_plates=list(self.vehicle_plates),
            trailer_plate=self.trailer_plate,
            driver_name=self.driver_name,
            driver_document=self.driver_document,
            dispatch_country=self.dispatch_country,
            origin_country=self.origin_country,
            invoice_currency=self.invoice_currency,
            freight=self.freight,
            insurance=self.insurance,
            items=[Item(line_no=n, **i.model_dump()) for n, i in enumerate(self.items, start=1)],
        )


class DeclarationIn(ContentIn):
    """A new declaration: where it will cross, and whether to lodge it at once."""

    crossing_code: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3,8}$")]
    lodge: bool = True


class AmendIn(Strict):
    """A new version of the content, with the reason for it."""

    content: ContentIn
    reason: Text


class ReasonIn(Strict):
    """A reason (cancellation, hold, ...)."""

    reason: Text


class DocumentCheckIn(Strict):
    """The result of a yellow-lane document check."""

    found: bool
    notes: Annotated[str, StringConstraints(max_length=2000)] = ""


class InspectionIn(Strict):
    """The result of a red-lane physical inspection."""

    found: bool
    fraud_kind: FraudKind | None = None
    notes: Annotated[str, StringConstraints(max_length=2000)] = ""


class ExitIn(Strict):
    """A truck at the exit gate."""

    plate: Plate
    declaration: Annotated[str, StringConstraints(max_length=40)] | None = None


class BankConfirmationIn(Strict):
    """The bank's callback: a credit quoting a payment order's reference."""

    bank_transaction_id: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)
    ]
    payment_reference: Annotated[str, StringConstraints(min_length=5, max_length=40)]
    amount: Annotated[Decimal, Field(gt=0, max_digits=18, decimal_places=3, allow_inf_nan=False)]
    currency: Annotated[str, StringConstraints(pattern=r"^IQD$")] = "IQD"
    paid_at: AwareDatetime  # a bank time without its zone is ambiguous by hours


class TokenIn(Strict):
    """Username and password."""

    username: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    password: Annotated[str, StringConstraints(min_length=1, max_length=256)]


class UserIn(Strict):
    """A new user (admin only)."""

    username: Annotated[str, StringConstraints(min_length=2, max_length=64)]
    full_name: Text
    role: Role
    password: Annotated[str, StringConstraints(min_length=1, max_length=256)]
    crossings: list[str] = []
    tax_id: str | None = None


class UserChangeIn(Strict):
    """A change of a user's access (admin only): give only what changes, and why."""

    reason: Annotated[str, StringConstraints(min_length=1, max_length=500)]
    role: Role | None = None
    crossings: list[str] | None = None
    active: bool | None = None


# -- responses --------------------------------------------------------------------------------
class ItemOut(BaseModel):
    """One goods item as stored."""

    line_no: int
    hs_code: str
    description: str
    origin_country: str
    quantity: Decimal
    unit: str
    net_mass_kg: Decimal
    gross_mass_kg: Decimal
    invoice_value: Decimal


class VersionOut(BaseModel):
    """A version of the declaration's content."""

    number: int
    created_at: datetime
    created_by: str
    reason: str
    content: dict[str, Any]


class DeclarationOut(BaseModel):
    """A declaration with its latest version."""

    id: str
    reference: str
    crossing_code: str
    state: str
    lane: str | None
    lodged_at: datetime | None
    acceptance_date: date | None
    checks_done: bool
    settled: bool
    version: int
    content: dict[str, Any]

    @classmethod
    def of(cls, d: Declaration) -> DeclarationOut:
        """Build from the domain object."""
        return cls(
            id=d.id,
            reference=d.reference,
            crossing_code=d.crossing_code,
            state=d.state.value,
            lane=d.lane.value if d.lane else None,
            lodged_at=d.lodged_at,
            acceptance_date=d.acceptance_date,
            checks_done=d.checks_done,
            settled=d.settled,
            version=d.current.number,
            content=content_dict(d.content),
        )


def content_dict(c: Content) -> dict[str, Any]:
    """A JSON-ready dict of a version's content (decimals as strings)."""
    return {
        "regime": c.regime.value,
        "importer_name": c.importer_name,
        "importer_tax_id": c.importer_tax_id,
        "exporter_name": c.exporter_name,
        "vehicle_plates": c.vehicle_plates,
        "trailer_plate": c.trailer_plate,
        "driver_name": c.driver_name,
        "driver_document": c.driver_document,
        "dispatch_country": c.dispatch_country,
        "origin_country": c.origin_country,
        "invoice_currency": c.invoice_currency,
        "freight": str(c.freight),
        "insurance": str(c.insurance),
        "items": [ItemOut(**vars(i)).model_dump(mode="json") for i in c.items],
    }


class AssessmentLineOut(BaseModel):
    """One line of an assessment with its explanation."""

    line_no: int
    hs_code: str
    customs_value_iqd: Decimal
    rate_percent: Decimal
    rate_valid_from: date
    rate_valid_to: date | None
    legal_reference: str
    duty_iqd: Decimal
    explanation: str


class AssessmentOut(BaseModel):
    """The duties of a declaration version."""

    id: str
    version_number: int
    assessed_at: datetime
    acceptance_date: date
    invoice_currency: str
    exchange_rate: Decimal
    exchange_rate_source: str
    customs_value_iqd: Decimal
    duty_iqd: Decimal
    total_due_iqd: Decimal
    currency: str = "IQD"
    lines: list[AssessmentLineOut]

    @classmethod
    def of(cls, a: Assessment) -> AssessmentOut:
        """Build from the domain object."""
        return cls(
            id=a.id,
            version_number=a.version_number,
            assessed_at=a.assessed_at,
            acceptance_date=a.acceptance_date,
            invoice_currency=a.invoice_currency,
            exchange_rate=a.exchange_rate,
            exchange_rate_source=a.exchange_rate_source,
            customs_value_iqd=a.customs_value_iqd,
            duty_iqd=a.duty_iqd,
            total_due_iqd=a.total_due_iqd,
            lines=[
                AssessmentLineOut(**{k: getattr(line, k) for k in AssessmentLineOut.model_fields})
                for line in a.lines
            ],
        )


class PaymentOrderOut(BaseModel):
    """A payment order and what was paid on it."""

    reference: str
    amount_iqd: Decimal
    paid_iqd: Decimal
    outstanding_iqd: Decimal
    state: str
    created_at: datetime
    currency: str = "IQD"

    @classmethod
    def of(cls, o: PaymentOrder) -> PaymentOrderOut:
        """Build from the domain object."""
        return cls(
            reference=o.reference,
            amount_iqd=o.amount_iqd,
            paid_iqd=o.paid_iqd,
            outstanding_iqd=o.outstanding_iqd,
            state=o.state.value,
            created_at=o.created_at,
        )


class LodgedOut(DeclarationOut):
    """A declaration just created, lodged or amended, with the payment order that request
    issued: the amount due and the reference to pay it under (none for a draft, or when
    nothing (more) is due)."""

    payment_order: PaymentOrderOut | None = None

    @classmethod
    def lodged(cls, d: Declaration, order: PaymentOrder | None) -> LodgedOut:
        """Build from the declaration and the order its lodging issued."""
        out = cls.of(d)
        out.payment_order = PaymentOrderOut.of(order) if order is not None else None
        return out


class ConfirmationOut(BaseModel):
    """Result of a bank confirmation."""

    payment_reference: str
    declaration: str
    order_state: str
    paid_iqd: Decimal
    duplicate: bool


class TokenOut(BaseModel):
    """A bearer token (shown once)."""

    token: str
    token_type: str = "bearer"
    username: str
    role: str


class UserOut(BaseModel):
    """A user, without secrets."""

    id: str
    username: str
    full_name: str
    role: str
    crossings: list[str]
    active: bool = True


class TransitionOut(BaseModel):
    """A recorded state change."""

    at: datetime
    actor: str
    action: str
    from_state: str
    to_state: str
    reason: str


class ExitOut(BaseModel):
    """A truck let out."""

    declaration: str
    state: str
    plate: str


class AlarmOut(BaseModel):
    """An alarm."""

    id: str
    crossing_code: str
    kind: str
    severity: str
    raised_at: datetime
    subject: str
    message: str
    state: str


class CrossingOut(BaseModel):
    """A crossing."""

    code: str
    name_en: str
    name_ar: str
    name_ckb: str
    governorate_en: str
    partner_name_en: str
    partner_country: str
    region: str
