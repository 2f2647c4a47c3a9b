"""Bank statements and how one credit is matched to a payment order.

The matching rule is pure: the service looks up the order (and any earlier payment with the
bank's reference) and this module decides what the credit is — matched, partial, overpaid, a
duplicate, or something a finance officer must look at — and how much is held for the payer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from manafidh.domain.errors import Conflict, ValidationFailed
from manafidh.domain.money import IQD
from manafidh.domain.payments.orders import OrderState, is_valid_reference
from manafidh.domain.revenue.ledger import FILS, ZERO, Account


@dataclass(frozen=True)
class StatementEntry:
    """One booked movement on the administration's collection account."""

    entry_ref: str  # the bank's own unique reference (camt.053 AcctSvcrRef)
    amount_iqd: Decimal
    credit: bool
    booking_date: date
    value_date: date
    remittance: str  # the structured creditor reference, or the payer's free text
    currency: str = IQD

    def __post_init__(self) -> None:
        if not self.entry_ref.strip() or len(self.entry_ref) > 35:
            raise ValidationFailed(
                "every entry needs the bank's reference (max 35 characters, ISO 20022 Max35Text)"
            )
        if self.currency != IQD:
            raise ValidationFailed(
                f"entry {self.entry_ref} is in {self.currency}: only IQD accounts are reconciled"
            )
        if self.amount_iqd <= 0 or self.amount_iqd != self.amount_iqd.quantize(FILS):
            raise ValidationFailed(
                f"entry {self.entry_ref} has a bad amount {self.amount_iqd}: positive, in fils"
            )


@dataclass(frozen=True)
class Statement:
    """A bank statement: an id unique at the bank, the account, and its booked entries."""

    statement_id: str
    account: str
    format: str
    entries: tuple[StatementEntry, ...]
    created_at: datetime | None = None

    def __post_init__(self) -> None:
        if not self.statement_id.strip() or len(self.statement_id) > 70:
            raise ValidationFailed("the statement needs an id (max 70 characters)")
        if not self.account.strip() or len(self.account) > 34:
            raise ValidationFailed("the statement needs its account (IBAN, max 34 characters)")
        refs = [e.entry_ref for e in self.entries]
        if len(set(refs)) != len(refs):
            # A statement lists each booking once; the same reference twice inside one file
            # is a broken file, not a second payment.
            raise ValidationFailed(
                "the statement lists the same entry reference twice",
                statement_id=self.statement_id,
            )


_TOKEN = re.compile(r"[A-Z0-9]+")


def _tokens(text: str) -> list[str]:
    return [m.group(0) for m in _TOKEN.finditer(text.upper())]


def find_reference(text: str) -> str | None:
    """The ISO 11649 reference quoted in ``text`` (also when printed in groups of four)."""
    tokens = _tokens(text)
    for i, tok in enumerate(tokens):
        if not tok.startswith("RF"):
            continue
        candidate = ""
        best = None
        for nxt in tokens[i:]:
            candidate += nxt
            if len(candidate) > 25:
                break
            if is_valid_reference(candidate):
                best = candidate
        if best is not None:
            return best
    return None


def looks_like_reference(text: str) -> str | None:
    """A token that starts like a reference but fails its check digits (a mistype), if any."""
    for tok in _tokens(text):
        if tok.startswith("RF") and len(tok) >= 5 and tok[2:4].isdigit():
            return tok[:25]
    return None


class Outcome(StrEnum):
    """What a statement entry turned out to be."""

    MATCHED = "matched"  # applied to its order, in full or as the balance of a split payment
    PARTIAL = "partial"  # applied, the order still has something outstanding
    OVERPAID = "overpaid"  # applied; more than was due, the excess held for the payer
    RECONCILED = "reconciled"  # a payment the bank's callback announced, now on the statement
    REPEAT = "repeat"  # the bank listed a booking it had already listed: nothing to count
    DUPLICATE = "duplicate"  # a second payment for an order already paid: held for the payer
    SUPERSEDED = "superseded"  # paid against an order replaced by an amendment: held
    UNKNOWN_REFERENCE = "unknown_reference"  # a valid reference no order carries: suspense
    UNMATCHED = "unmatched"  # no reference, or one that fails its check digits: suspense
    CALLBACK_MISMATCH = "callback_mismatch"  # the callback said another amount or order
    DEBIT = "debit"  # money out (charges, returns): not revenue, recorded only


# Outcomes that open an exception for a finance officer.
EXCEPTIONS = frozenset(
    {
        Outcome.PARTIAL,
        Outcome.OVERPAID,
        Outcome.DUPLICATE,
        Outcome.SUPERSEDED,
        Outcome.UNKNOWN_REFERENCE,
        Outcome.UNMATCHED,
        Outcome.CALLBACK_MISMATCH,
    }
)


@dataclass(frozen=True)
class OrderView:
    """What matching needs to know about the order a credit quotes."""

    state: OrderState
    outstanding_iqd: Decimal


@dataclass(frozen=True)
class EarlierPayment:
    """A payment already recorded under the entry's bank reference."""

    amount_iqd: Decimal
    reference: str
    announced_only: bool  # came by callback and is not yet seen on any statement


@dataclass(frozen=True)
class Decision:
    """The outcome, and how much of the credit is applied to the order or held apart."""

    outcome: Outcome
    applied_iqd: Decimal = ZERO
    held_iqd: Decimal = ZERO


def decide(
    entry: StatementEntry,
    *,
    reference: str | None,
    order: OrderView | None,
    earlier: EarlierPayment | None,
    seen_before: bool,
) -> Decision:
    """Classify one entry; ``seen_before`` when an earlier statement listed its reference."""
    if not entry.credit:
        return Decision(Outcome.DEBIT)
    if seen_before:
        return Decision(Outcome.REPEAT)
    amount = entry.amount_iqd
    if earlier is not None:
        if earlier.amount_iqd != amount or (
            reference is not None and reference != earlier.reference
        ):
            return Decision(Outcome.CALLBACK_MISMATCH)
        if earlier.announced_only:
            return Decision(Outcome.RECONCILED)
        return Decision(Outcome.REPEAT)
    if reference is None:
        return Decision(Outcome.UNMATCHED, held_iqd=amount)
    if order is None:
        return Decision(Outcome.UNKNOWN_REFERENCE, held_iqd=amount)
    if order.state is OrderState.SUPERSEDED:
        return Decision(Outcome.SUPERSEDED, held_iqd=amount)
    if order.state is OrderState.PAID or order.outstanding_iqd <= 0:
        return Decision(Outcome.DUPLICATE, held_iqd=amount)
    if amount < order.outstanding_iqd:
        return Decision(Outcome.PARTIAL, applied_iqd=amount)
    if amount > order.outstanding_iqd:
        return Decision(
            Outcome.OVERPAID,
            applied_iqd=order.outstanding_iqd,
            held_iqd=amount - order.outstanding_iqd,
        )
    return Decision(Outcome.MATCHED, applied_iqd=amount)


class Resolution(StrEnum):
    """How a finance officer closes an exception (always with a reason)."""

    ALLOCATE = "allocate"  # apply money held in suspense to the order it was meant for
    RETURN = "return"  # send money held for the payer back to them
    ACCEPT = "accept"  # acknowledge: nothing moves (a partial payment the trader will complete)
    SETTLED = "settled"  # closed by the system: a later credit completed the order


@dataclass
class ReconciliationException:
    """A statement entry a finance officer must look at, and how it was closed (who, when, why)."""

    id: int
    entry_id: int
    entry_ref: str
    kind: Outcome
    amount_iqd: Decimal
    held_iqd: Decimal
    reference: str | None
    order_id: str | None
    crossing_code: str
    opened_at: datetime
    remittance: str = ""
    state: str = "open"
    resolved_at: datetime | None = None
    resolved_by: str | None = None
    resolution: Resolution | None = None
    reason: str | None = None

    @property
    def held_in(self) -> str | None:
        """The account that holds this entry's money for the payer, if any."""
        if self.held_iqd <= 0:
            return None
        if self.kind in (Outcome.UNMATCHED, Outcome.UNKNOWN_REFERENCE):
            return Account.SUSPENSE
        return Account.OVERPAYMENTS

    def resolve(self, resolution: Resolution, *, by: str, at: datetime, reason: str) -> None:
        """Close the exception; the reason is required and nothing is closed twice."""
        if self.state != "open":
            raise Conflict("this exception is already resolved", exception_id=self.id)
        if not reason.strip():
            raise ValidationFailed("a resolution needs a reason", field="reason")
        if resolution is Resolution.ALLOCATE and self.held_in is None:
            raise Conflict("nothing of this entry is held to allocate", exception_id=self.id)
        if resolution is Resolution.RETURN and self.held_in is None:
            raise Conflict("nothing of this entry is held to return", exception_id=self.id)
        self.state = "resolved"
        self.resolution = resolution
        self.resolved_by = by
        self.resolved_at = at
        self.reason = reason.strip()
