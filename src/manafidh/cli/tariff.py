"""``manafidh tariff``: what applies to a code and why; import, list and roll back measures."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import typer

from manafidh.adapters.tariff_files import read_measure_file
from manafidh.cli.common import console, container, one_line_errors
from manafidh.domain.errors import ValidationFailed
from manafidh.services import tariff

app = typer.Typer(help="Tariff measures: explain, import, roll back.", no_args_is_help=True)


def _day(text: str | None) -> date:
    if text is None:
        return datetime.now(UTC).date()
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValidationFailed(f"not a date (YYYY-MM-DD): {text!r}") from None


def _instant(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise ValidationFailed(f"not a date or date-time: {text!r}") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@app.command("show")
def show(
    code: str,
    on: str | None = typer.Option(None, "--on", help="Date (YYYY-MM-DD), today by default"),
    origin: str = typer.Option(..., "--origin", help="Country of origin (ISO alpha-2)"),
) -> None:
    """Explain which measures apply to CODE from ORIGIN on a date, and why."""
    c = container()
    with one_line_errors():
        day = _day(on)
        with c.uow(readonly=True) as uow:
            explanation = tariff.show(uow=uow, code=code, day=day, origin=origin)
    console.print(f"{code} from {explanation.origin} on {day.isoformat()}:", highlight=False)
    for line in explanation.lines():
        console.print(f"  {line}", highlight=False, soft_wrap=True)


@app.command("import")
def import_file(path: Path) -> None:
    """Import measures from a CSV or JSON file: every row, or none (bad rows are listed)."""
    c = container()
    with one_line_errors():
        rows = read_measure_file(path)
        with c.uow() as uow:
            done = tariff.import_measures(uow=uow, actor=None, rows=rows, source=path.name)
    console.print(f"imported {done.measures} measures from {done.source} (import {done.id})")


@app.command("imports")
def imports() -> None:
    """List the imports, with who made them and whether they were rolled back."""
    c = container()
    with c.uow(readonly=True) as uow:
        found = uow.tariff.imports()
    for i in found:
        state = (
            f"rolled back {i.rolled_back_at.isoformat()} by {i.rolled_back_by}: {i.rollback_reason}"
            if i.rolled_back_at
            else "in force"
        )
        console.print(
            f"{i.id} {i.imported_at.isoformat()} {i.actor} {i.source} {i.measures} measures;"
            f" {state}",
            highlight=False,
            soft_wrap=True,
        )


@app.command("rollback")
def rollback(
    since: str = typer.Option(..., "--since", help="Undo imports made at or after this instant"),
    reason: str = typer.Option("", "--reason", help="Why (required with --apply)"),
    apply: bool = typer.Option(False, "--apply", help="Apply; without it, only a preview"),
) -> None:
    """Roll the tariff back to an instant by undoing later imports (preview unless --apply)."""
    c = container()
    with one_line_errors():
        when = _instant(since)
        with c.uow() as uow:
            undone = tariff.roll_back(uow=uow, actor=None, since=when, reason=reason, apply=apply)
    verb = "rolled back" if apply else "would roll back"
    console.print(f"{verb} {len(undone)} import(s)")
    for i in undone:
        console.print(
            f"  {i.id} {i.imported_at.isoformat()} {i.source} {i.measures} measures",
            soft_wrap=True,
        )


@app.command("origin-group")
def origin_group(
    code: str,
    countries: str = typer.Option(..., help="Comma-separated ISO alpha-2 codes"),
    description: str = typer.Option("", help="What the group is (e.g. a trade agreement)"),
) -> None:
    """Create or replace a group of countries of origin."""
    c = container()
    with one_line_errors(), c.uow() as uow:
        n = tariff.define_origin_group(
            uow=uow,
            actor=None,
            code=code,
            description=description or code,
            countries=countries.split(","),
        )
    console.print(f"origin group {code.upper()}: {n} countries")
