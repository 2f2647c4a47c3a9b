"""Bank statement files: ISO 20022 camt.053 XML and a plain CSV, read into domain statements.

XML is parsed with defusedxml, which refuses entity expansion ("billion laughs"), external
entities and DTDs, so a hostile file cannot exhaust memory or read local files. Anything not
understood is refused with a reason before anything is written.
"""

from __future__ import annotations

import csv
import hashlib
import io
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from xml.etree.ElementTree import Element

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, fromstring

from manafidh.domain.errors import ValidationFailed
from manafidh.domain.revenue.statements import Statement, StatementEntry

MAX_BYTES = 50 * 1024 * 1024
CSV_COLUMNS = (
    "statement_id",
    "account",
    "entry_ref",
    "booking_date",
    "value_date",
    "amount",
    "currency",
    "direction",
    "remittance",
)


def digest(raw: bytes) -> str:
    """SHA-256 of the file as received (kept with the statement)."""
    return hashlib.sha256(raw).hexdigest()


def read_statement_file(raw: bytes) -> list[Statement]:
    """Read camt.053 (XML) or CSV, telling them apart by their first byte."""
    if len(raw) > MAX_BYTES:
        raise ValidationFailed("the statement file is larger than 50 MiB")
    head = raw.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    return read_camt053(raw) if head == b"<" else read_csv(raw)


# -- camt.053 ---------------------------------------------------------------------------------
def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _child(el: Element | None, *path: str) -> Element | None:
    for name in path:
        if el is None:
            return None
        el = next((c for c in el if _local(c.tag) == name), None)
    return el


def _children(el: Element, name: str) -> list[Element]:
    return [c for c in el if _local(c.tag) == name]


def _text(el: Element | None, *path: str) -> str | None:
    found = _child(el, *path)
    if found is None or found.text is None:
        return None
    return found.text.strip()


def _date(el: Element | None, what: str, where: str) -> date:
    text = _text(el, "Dt") or (_text(el, "DtTm") or "")[:10]
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValidationFailed(f"{where}: {what} is missing or not a date ({text!r})") from None


def _amount(el: Element | None, where: str) -> tuple[Decimal, str]:
    if el is None or el.text is None:
        raise ValidationFailed(f"{where}: the amount is missing")
    try:
        value = Decimal(el.text.strip())
    except InvalidOperation:
        raise ValidationFailed(f"{where}: the amount {el.text!r} is not a number") from None
    if not value.is_finite():
        raise ValidationFailed(f"{where}: the amount {el.text!r} is not a number")
    return value, el.attrib.get("Ccy", "")


def read_camt053(raw: bytes) -> list[Statement]:
    """Every statement in a camt.053 BankToCustomerStatement document."""
    try:
        root = fromstring(raw, forbid_dtd=True)
    except (ParseError, DefusedXmlException) as exc:
        raise ValidationFailed(f"the statement is not well-formed or safe XML: {exc}") from None
    if _local(root.tag) != "Document" or "camt.053" not in root.tag:
        raise ValidationFailed("not a camt.053 document (root must be camt.053 Document)")
    body = _child(root, "BkToCstmrStmt")
    if body is None:
        raise ValidationFailed("camt.053: BkToCstmrStmt is missing")
    statements = [_statement(s) for s in _children(body, "Stmt")]
    if not statements:
        raise ValidationFailed("camt.053: the document holds no statement (Stmt)")
    return statements


def _statement(stmt: Element) -> Statement:
    sid = _text(stmt, "Id")
    if not sid:
        raise ValidationFailed("camt.053: a statement has no Id")
    account = _text(stmt, "Acct", "Id", "IBAN") or _text(stmt, "Acct", "Id", "Othr", "Id")
    if not account:
        raise ValidationFailed(f"statement {sid}: the account (Acct/Id) is missing")
    created = None
    if (cre := _text(stmt, "CreDtTm")) is not None:
        try:
            created = datetime.fromisoformat(cre)
        except ValueError:
            raise ValidationFailed(f"statement {sid}: CreDtTm {cre!r} is not a date-time") from None
        if created.tzinfo is None:
            raise ValidationFailed(f"statement {sid}: CreDtTm must carry its time zone")
    entries: list[StatementEntry] = []
    for n, ntry in enumerate(_children(stmt, "Ntry"), start=1):
        entries.extend(_entries(ntry, f"statement {sid} entry {n}"))
    return Statement(sid, account, "camt.053", tuple(entries), created)


def _entries(ntry: Element, where: str) -> list[StatementEntry]:
    status = _text(ntry, "Sts", "Cd") or _text(ntry, "Sts")
    if status != "BOOK":
        return []  # pending or informational entries are not money yet
    direction = _text(ntry, "CdtDbtInd")
    if direction not in ("CRDT", "DBIT"):
        raise ValidationFailed(f"{where}: CdtDbtInd must be CRDT or DBIT")
    if _text(ntry, "RvslInd") == "true":
        raise ValidationFailed(f"{where}: reversal entries are not supported; ask the bank")
    amount, ccy = _amount(_child(ntry, "Amt"), where)
    booked = _date(_child(ntry, "BookgDt"), "the booking date", where)
    valued = (
        _date(_child(ntry, "ValDt"), "the value date", where)
        if _child(ntry, "ValDt") is not None
        else booked
    )
    ref = _text(ntry, "AcctSvcrRef") or _text(ntry, "NtryRef")
    txs = [tx for d in _children(ntry, "NtryDtls") for tx in _children(d, "TxDtls")]
    if len(txs) <= 1:
        tx = txs[0] if txs else None
        ref = _text(tx, "Refs", "AcctSvcrRef") or ref
        if not ref:
            raise ValidationFailed(f"{where}: no bank reference (AcctSvcrRef or NtryRef)")
        return [
            StatementEntry(ref, amount, direction == "CRDT", booked, valued, _remittance(tx), ccy)
        ]
    # A batch booking: one entry, several transactions, each with its own amount and reference.
    out = []
    for k, tx in enumerate(txs, start=1):
        tx_where = f"{where} transaction {k}"
        amt = _child(tx, "Amt")
        if amt is None:
            amt = _child(tx, "AmtDtls", "TxAmt", "Amt")
        tx_amount, tx_ccy = _amount(amt, tx_where)
        tx_ref = _text(tx, "Refs", "AcctSvcrRef") or (f"{ref}/{k}" if ref else None)
        if not tx_ref:
            raise ValidationFailed(f"{tx_where}: no bank reference")
        out.append(
            StatementEntry(
                tx_ref,
                tx_amount,
                direction == "CRDT",
                booked,
                valued,
                _remittance(tx),
                tx_ccy or ccy,
            )
        )
    if sum(e.amount_iqd for e in out) != amount:
        raise ValidationFailed(f"{where}: the batch's transactions do not add up to its amount")
    return out


def _remittance(tx: Element | None) -> str:
    if tx is None:
        return ""
    rmt = _child(tx, "RmtInf")
    if rmt is None:
        return ""
    parts = [_text(s, "CdtrRefInf", "Ref") or "" for s in _children(rmt, "Strd")] + [
        (u.text or "").strip() for u in _children(rmt, "Ustrd")
    ]
    return " ".join(p for p in parts if p)


# -- CSV --------------------------------------------------------------------------------------
def read_csv(raw: bytes) -> list[Statement]:
    """A CSV with the columns of ``CSV_COLUMNS`` (one row per entry, grouped by statement)."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationFailed("the CSV statement is not UTF-8") from None
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in CSV_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise ValidationFailed(
            "the CSV statement lacks columns: " + ", ".join(missing), expected=list(CSV_COLUMNS)
        )
    grouped: dict[tuple[str, str], list[StatementEntry]] = {}
    for n, row in enumerate(reader, start=2):
        where = f"CSV line {n}"
        try:
            amount = Decimal((row["amount"] or "").strip())
            booked = date.fromisoformat((row["booking_date"] or "").strip())
            valued = date.fromisoformat((row["value_date"] or "").strip() or booked.isoformat())
        except (InvalidOperation, ValueError):
            raise ValidationFailed(f"{where}: amount or dates are not readable") from None
        if not amount.is_finite():
            raise ValidationFailed(f"{where}: the amount is not a number")
        direction = (row["direction"] or "").strip().upper()
        if direction not in ("CRDT", "DBIT"):
            raise ValidationFailed(f"{where}: direction must be CRDT or DBIT")
        key = ((row["statement_id"] or "").strip(), (row["account"] or "").strip())
        grouped.setdefault(key, []).append(
            StatementEntry(
                (row["entry_ref"] or "").strip(),
                amount,
                direction == "CRDT",
                booked,
                valued,
                (row["remittance"] or "").strip(),
                (row["currency"] or "").strip(),
            )
        )
    if not grouped:
        raise ValidationFailed("the CSV statement has no rows")
    return [Statement(sid, acct, "csv", tuple(es)) for (sid, acct), es in grouped.items()]
