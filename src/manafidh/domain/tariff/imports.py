"""Tariff imports: rows of a file read into measures, every bad row named with its reason."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from manafidh.domain.errors import DomainError, ValidationFailed
from manafidh.domain.tariff.measures import ALL_ORIGINS, Measure, MeasureType, find_overlaps

COLUMNS = ("code", "measure_type", "origin", "valid_from", "valid_to", "legal_reference")
MAX_REPORTED = 100  # rejections listed in one error; the count says how many there were


@dataclass(frozen=True)
class TariffImport:
    """One import of measures: who, when, from what, and whether it was rolled back."""

    id: str
    imported_at: datetime
    actor: str
    source: str
    measures: int
    rolled_back_at: datetime | None
    rolled_back_by: str | None
    rollback_reason: str | None


@dataclass(frozen=True)
class Rejection:
    """A row that cannot be imported: its line in the file and why."""

    line: int
    reason: str


def measure_record(m: Measure) -> dict[str, Any]:
    """A measure as plain JSON values (for the operations log and the audit payload)."""
    return {
        "id": m.id,
        "code": m.code,
        "measure_type": m.measure_type.value,
        "origin": m.origin,
        "valid_from": m.valid_from.isoformat(),
        "valid_to": m.valid_to.isoformat() if m.valid_to else None,
        "legal_reference": m.legal_reference,
        "expression": m.expression,
    }


def _text(row: Mapping[str, Any], name: str) -> str:
    value = row.get(name)
    return "" if value is None else str(value).strip()


def _date(row: Mapping[str, Any], name: str, *, required: bool) -> date | None:
    text = _text(row, name)
    if not text:
        if required:
            raise ValidationFailed(f"{name} is missing")
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValidationFailed(f"{name} {text!r} is not a date (YYYY-MM-DD)") from None


def measure_from_row(row: Mapping[str, Any]) -> Measure:
    """A measure (id 0) from one row of a CSV or JSON tariff file."""
    kind = _text(row, "measure_type") or MeasureType.IMPORT_DUTY.value
    try:
        measure_type = MeasureType(kind)
    except ValueError:
        known = ", ".join(t.value for t in MeasureType)
        raise ValidationFailed(f"unknown measure type {kind!r} (one of {known})") from None
    valid_from = _date(row, "valid_from", required=True)
    assert valid_from is not None
    return Measure(
        id=0,
        code=_text(row, "code"),
        measure_type=measure_type,
        origin=_text(row, "origin").upper() or ALL_ORIGINS,
        valid_from=valid_from,
        valid_to=_date(row, "valid_to", required=False),
        legal_reference=_text(row, "legal_reference"),
        expression=_text(row, "expression"),
    )


def read_rows(
    rows: Iterable[tuple[int, Mapping[str, Any]]],
    *,
    known_code: Callable[[str], bool],
    known_origin: Callable[[str], bool],
    stored: Sequence[Measure],
) -> tuple[list[Measure], list[Rejection]]:
    """Every row as a measure, or the reasons rows are rejected (unknown code or origin, bad
    expression or date, validity overlapping a stored measure or another row of the same key)."""
    measures: list[Measure] = []
    lines: dict[int, int] = {}  # id() of a measure -> its line in the file
    rejections: list[Rejection] = []
    for line, row in rows:
        try:
            m = measure_from_row(row)
        except DomainError as exc:
            rejections.append(Rejection(line, exc.message))
            continue
        if not known_code(m.code):
            rejections.append(Rejection(line, f"unknown commodity code {m.code}"))
            continue
        if m.origin != ALL_ORIGINS and not known_origin(m.origin):
            rejections.append(Rejection(line, f"unknown origin {m.origin}"))
            continue
        lines[id(m)] = line
        measures.append(m)
    for a, b in find_overlaps([*stored, *measures]):
        where = [
            f"line {lines[id(x)]}" if id(x) in lines else f"stored measure {x.id}" for x in (a, b)
        ]
        line = max(lines.get(id(a), 0), lines.get(id(b), 0))
        rejections.append(
            Rejection(
                line,
                f"validity overlaps for {a.measure_type.value} on {a.code} origin {a.origin}:"
                f" {where[0]} and {where[1]}",
            )
        )
    rejections.sort(key=lambda r: r.line)
    return measures, rejections


def rejected(rejections: Sequence[Rejection], source: str) -> ValidationFailed:
    """The error that refuses a whole file, listing the rejected lines."""
    first = rejections[0]
    return ValidationFailed(
        f"{source}: {len(rejections)} row(s) rejected, nothing imported;"
        f" line {first.line}: {first.reason}",
        rejected=len(rejections),
        rows=[{"line": r.line, "reason": r.reason} for r in rejections[:MAX_REPORTED]],
    )
