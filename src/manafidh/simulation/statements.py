"""Bank statements as a real bank would send them, with the noise real payers make.

From the payment orders of a period this builds one camt.053 statement per banking day: most
credits quote their reference exactly (structured, or inside free text in groups of four), and a
measured share is noisy: a missing or mistyped reference, a payment split in two transfers, a
payer who pays twice, a booking the bank lists again in the next statement, late credits, and
bank charges (debits). ``Truth`` says what reconciliation should find.
"""

from __future__ import annotations

import csv
import io
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from xml.etree.ElementTree import Element, SubElement, tostring

from manafidh.domain.clock import IRAQ_TZ

CAMT053_NS = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"
ACCOUNT = "IQ98NBIQ850123456789012"  # an illustrative IBAN of the collection account


@dataclass(frozen=True)
class OrderToPay:
    """A payment order the simulated payer will pay."""

    reference: str
    amount_iqd: Decimal
    issued_on: date
    callback_transaction_id: str | None = None  # already announced by the bank's callback


@dataclass(frozen=True)
class Credit:
    """One booking on the collection account."""

    entry_ref: str
    amount_iqd: Decimal
    booking_date: date
    remittance: str
    structured: bool
    credit: bool = True


@dataclass
class Noise:
    """Shares of orders (exact counts, rounded) that get each kind of noise."""

    missing_reference: float = 0.002
    mistyped_reference: float = 0.003
    split: float = 0.02
    paid_twice: float = 0.002
    listed_again: float = 0.01
    late: float = 0.05
    unstructured: float = 0.3
    bank_charges_per_day: int = 1


@dataclass
class Truth:
    """What reconciliation must find in the generated statements."""

    orders: int = 0
    credits: int = 0
    exceptions: dict[str, int] = field(default_factory=dict)
    repeats: int = 0
    splits: int = 0
    debits: int = 0
    total_credited: Decimal = Decimal("0.000")

    @property
    def officer_exceptions(self) -> int:
        """Exceptions a finance officer must resolve."""
        return sum(self.exceptions.values())


def _mistype(reference: str, rng: random.Random) -> str:
    """Change one digit of the body (ISO 11649's mod 97 detects every such change)."""
    body = list(reference)
    positions = [i for i in range(4, len(body)) if body[i].isdigit()]
    i = rng.choice(positions)
    body[i] = str((int(body[i]) + rng.randint(1, 9)) % 10)
    return "".join(body)


def _grouped(reference: str) -> str:
    return " ".join(reference[i : i + 4] for i in range(0, len(reference), 4))


def bank_credits(
    orders: Sequence[OrderToPay], *, rng: random.Random, noise: Noise | None = None
) -> tuple[list[Credit], Truth]:
    """Every booking the bank makes for ``orders`` (plus its charges), and the truth."""
    noise = noise or Noise()
    truth = Truth(orders=len(orders))
    n = len(orders)
    idx = list(range(n))
    rng.shuffle(idx)

    def take(share: float) -> set[int]:
        k = round(n * share)
        out = set(idx[:k])
        del idx[:k]
        return out

    plain = [i for i, o in enumerate(orders) if o.callback_transaction_id is None]
    plain_set = set(plain)
    missing = {i for i in take(noise.missing_reference) if i in plain_set}
    mistyped = {i for i in take(noise.mistyped_reference) if i in plain_set}
    split = {i for i in take(noise.split) if i in plain_set}
    twice = take(noise.paid_twice)
    late = take(noise.late)
    credits: list[Credit] = []
    serial = 0

    def book(amount: Decimal, day: date, remittance: str, structured: bool, ref: str = "") -> None:
        nonlocal serial
        serial += 1
        entry_ref = ref or f"NBIQ{day:%Y%m%d}{serial:07d}"
        credits.append(Credit(entry_ref, amount, day, remittance, structured))
        truth.credits += 1
        truth.total_credited += amount

    for i, o in enumerate(orders):
        day = o.issued_on + timedelta(days=rng.choice([0, 0, 0, 1, 1, 2]))
        if i in late:
            day += timedelta(days=rng.randint(5, 20))
        structured = rng.random() >= noise.unstructured
        ref = o.reference
        if i in missing:
            remittance, structured = "customs duties truck payment", False
            truth.exceptions["unmatched"] = truth.exceptions.get("unmatched", 0) + 1
        elif i in mistyped:
            remittance = _mistype(ref, rng)
            truth.exceptions["unmatched"] = truth.exceptions.get("unmatched", 0) + 1
        elif structured:
            remittance = ref
        else:
            remittance = f"Customs payment {_grouped(ref)}"
        if i in split and i not in missing and i not in mistyped:
            first = (o.amount_iqd * Decimal(rng.choice(["0.3", "0.5", "0.6"]))).quantize(
                Decimal("0.001")
            )
            truth.splits += 1
            book(first, day, remittance, structured)
            book(o.amount_iqd - first, day + timedelta(days=1), remittance, structured)
        else:
            book(o.amount_iqd, day, remittance, structured, o.callback_transaction_id or "")
        if i in twice:
            book(o.amount_iqd, day + timedelta(days=3), remittance, structured)
            if i not in missing and i not in mistyped:
                truth.exceptions["duplicate"] = truth.exceptions.get("duplicate", 0) + 1
            else:
                truth.exceptions["unmatched"] = truth.exceptions.get("unmatched", 0) + 1
    # The bank's own charges: debits, not revenue.
    days = sorted({c.booking_date for c in credits})
    for day in days:
        for k in range(noise.bank_charges_per_day):
            credits.append(
                Credit(
                    f"NBIQ{day:%Y%m%d}C{k:03d}",
                    Decimal("2500.000"),
                    day,
                    "account fee",
                    False,
                    False,
                )
            )
            truth.debits += 1
    credits.sort(key=lambda c: (c.booking_date, c.entry_ref))
    return credits, truth


def statements_by_day(
    credits: Sequence[Credit],
    *,
    rng: random.Random,
    listed_again: int = 0,
    account: str = ACCOUNT,
) -> list[tuple[str, date, list[Credit]]]:
    """One statement per booking day; ``listed_again`` bookings repeat in the next one."""
    days: dict[date, list[Credit]] = {}
    for c in credits:
        days.setdefault(c.booking_date, []).append(c)
    ordered = sorted(days)
    out = []
    for day in ordered:
        out.append((f"STMT-{account[-6:]}-{day:%Y%m%d}", day, list(days[day])))
    candidates = [(k, c) for k, (_, _, cs) in enumerate(out[:-1]) for c in cs if c.credit]
    for k, c in rng.sample(candidates, min(listed_again, len(candidates))):
        out[k + 1][2].append(c)
    return out


def camt053(
    statement_id: str, day: date, entries: Sequence[Credit], *, account: str = ACCOUNT
) -> bytes:
    """A camt.053.001.08 BankToCustomerStatement document with one statement."""
    ns = {"xmlns": CAMT053_NS}
    doc = Element("Document", ns)
    body = SubElement(doc, "BkToCstmrStmt")
    hdr = SubElement(body, "GrpHdr")
    SubElement(hdr, "MsgId").text = f"MSG-{statement_id}"
    created = datetime.combine(day + timedelta(days=1), time(1, 0), tzinfo=IRAQ_TZ)
    SubElement(hdr, "CreDtTm").text = created.isoformat()
    stmt = SubElement(body, "Stmt")
    SubElement(stmt, "Id").text = statement_id
    SubElement(stmt, "CreDtTm").text = created.isoformat()
    acct = SubElement(stmt, "Acct")
    SubElement(SubElement(acct, "Id"), "IBAN").text = account
    SubElement(acct, "Ccy").text = "IQD"
    for c in entries:
        ntry = SubElement(stmt, "Ntry")
        amt = SubElement(ntry, "Amt", {"Ccy": "IQD"})
        amt.text = f"{c.amount_iqd:.3f}"
        SubElement(ntry, "CdtDbtInd").text = "CRDT" if c.credit else "DBIT"
        SubElement(SubElement(ntry, "Sts"), "Cd").text = "BOOK"
        SubElement(SubElement(ntry, "BookgDt"), "Dt").text = c.booking_date.isoformat()
        SubElement(SubElement(ntry, "ValDt"), "Dt").text = c.booking_date.isoformat()
        SubElement(ntry, "AcctSvcrRef").text = c.entry_ref
        tx = SubElement(SubElement(ntry, "NtryDtls"), "TxDtls")
        SubElement(SubElement(tx, "Refs"), "AcctSvcrRef").text = c.entry_ref
        rmt = SubElement(tx, "RmtInf")
        if c.structured:
            cri = SubElement(SubElement(rmt, "Strd"), "CdtrRefInf")
            SubElement(SubElement(SubElement(cri, "Tp"), "CdOrPrtry"), "Cd").text = "SCOR"
            SubElement(cri, "Ref").text = c.remittance
        else:
            SubElement(rmt, "Ustrd").text = c.remittance
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + tostring(doc, encoding="utf-8")


def csv_statement(statement_id: str, entries: Sequence[Credit], *, account: str = ACCOUNT) -> bytes:
    """The same statement in the CSV layout ``adapters.statements.read_csv`` reads."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(
        [
            "statement_id",
            "account",
            "entry_ref",
            "booking_date",
            "value_date",
            "amount",
            "currency",
            "direction",
            "remittance",
        ]
    )
    for c in entries:
        day = c.booking_date.isoformat()
        w.writerow(
            [
                statement_id,
                account,
                c.entry_ref,
                day,
                day,
                f"{c.amount_iqd:.3f}",
                "IQD",
                "CRDT" if c.credit else "DBIT",
                c.remittance,
            ]
        )
    return buf.getvalue().encode()


def month_of_statements(
    orders: Sequence[OrderToPay], *, rng: random.Random, noise: Noise | None = None
) -> tuple[list[tuple[str, bytes]], Truth]:
    """camt.053 files, one per banking day, for paying ``orders``; and what they hold."""
    noise = noise or Noise()
    credits, truth = bank_credits(orders, rng=rng, noise=noise)
    again = round(len(orders) * noise.listed_again)
    days = statements_by_day(credits, rng=rng, listed_again=again)
    truth.repeats = sum(len(cs) for _, _, cs in days) - len(credits)
    return [(sid, camt053(sid, day, cs)) for sid, day, cs in days], truth
