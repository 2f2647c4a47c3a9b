"""Reports written as CSV, XLSX (xlsxwriter) and Parquet (pyarrow), in memory."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pyarrow as pa
import pyarrow.parquet as pq
import xlsxwriter

from manafidh.services.revenue_reports import Report

FORMATS = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "parquet": "application/vnd.apache.parquet",
}


def _cell(value: object) -> object:
    return "" if value is None else value


def to_csv(report: Report) -> bytes:
    """UTF-8 CSV with a header row; amounts printed exactly (no float)."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(report.columns)
    for row in report.rows:
        w.writerow([_cell(v) for v in row])
    return buf.getvalue().encode("utf-8")


def to_xlsx(report: Report) -> bytes:
    """One worksheet; amounts as numbers with three decimals (Excel holds doubles: exact to
    the fils up to about 9 x 10^12 IQD, far above any crossing's yearly revenue)."""
    buf = io.BytesIO()
    book = xlsxwriter.Workbook(buf, {"in_memory": True})
    sheet = book.add_worksheet(report.name[:31])
    bold = book.add_format({"bold": True})
    money = book.add_format({"num_format": "#,##0.000"})
    for c, name in enumerate(report.columns):
        sheet.write(0, c, name, bold)
        sheet.set_column(c, c, max(12, len(name) + 2))
    for r, row in enumerate(report.rows, start=1):
        for c, value in enumerate(row):
            if isinstance(value, Decimal):
                sheet.write_number(r, c, float(value), money)
            elif value is None:
                sheet.write_blank(r, c, None)
            else:
                sheet.write(r, c, value)
    book.close()
    return buf.getvalue()


def _column(values: list[object]) -> pa.Array:
    present = [v for v in values if v is not None]
    if present and all(isinstance(v, Decimal) for v in present):
        return pa.array(values, type=pa.decimal128(22, 3))
    if present and all(isinstance(v, int) and not isinstance(v, bool) for v in present):
        return pa.array(values, type=pa.int64())
    return pa.array([None if v is None else str(v) for v in values], type=pa.string())


def to_parquet(report: Report) -> bytes:
    """A Parquet file; amounts as DECIMAL(22,3), so exact to the fils."""
    columns = {
        name: _column([row[i] for row in report.rows]) for i, name in enumerate(report.columns)
    }
    table = pa.table(columns) if report.rows else pa.table({c: [] for c in report.columns})
    buf = io.BytesIO()
    pq.write_table(table, buf)
    return buf.getvalue()


def export(report: Report, fmt: str) -> bytes:
    """The report in ``fmt`` (csv, xlsx or parquet)."""
    writer = {"csv": to_csv, "xlsx": to_xlsx, "parquet": to_parquet}[fmt]
    return writer(report)
