"""Reading tariff files: measures as CSV or JSON rows (with their line numbers), and the UK
Global Tariff CSV read as measures (for tests and benchmarks only)."""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from manafidh.domain.errors import ValidationFailed

Row = tuple[int, Mapping[str, Any]]


def read_measure_file(path: Path) -> list[Row]:
    """Rows of a measures file: CSV with a header line, or a JSON list of objects."""
    if not path.is_file():
        raise ValidationFailed(f"no such file: {path}")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationFailed(f"{path.name} is not UTF-8 text") from None
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValidationFailed(f"{path.name}: bad JSON at line {exc.lineno}") from None
        if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
            raise ValidationFailed(f"{path.name}: a JSON tariff file is a list of objects")
        # JSON rows are numbered from 1, in order.
        return list(enumerate(data, start=1))
    reader = csv.DictReader(text.splitlines())
    if not reader.fieldnames or "code" not in reader.fieldnames:
        raise ValidationFailed(f"{path.name}: a CSV tariff file needs a header with 'code'")
    # Line numbers as an editor shows them: the header is line 1.
    return [(reader.line_num, dict(row)) for row in reader]


def uk_tariff_rows(
    path: Path,
    *,
    column: str = "ukgt_duty_rate",
    valid_from: str = "2021-01-01",
    legal_reference: str = "UK Global Tariff (test data, not Iraqi law)",
) -> list[Row]:
    """The UK Global Tariff CSV as import-duty measures for every origin (tests, benchmarks)."""
    with path.open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        return [
            (
                reader.line_num,
                {
                    "code": row["commodity"].strip(),
                    "measure_type": "import_duty",
                    "origin": "ALL",
                    "valid_from": valid_from,
                    "legal_reference": legal_reference,
                    "expression": row[column].strip(),
                },
            )
            for row in reader
        ]
