"""``manafidh revenue``: bank statements, the exceptions queue and the books."""

from __future__ import annotations

import json
import random
from datetime import date
from pathlib import Path

import typer
from rich.table import Table

from manafidh.adapters.db.reconciliation import orders_a_bank_would_see
from manafidh.adapters.exports import FORMATS, export
from manafidh.adapters.statements import digest, read_statement_file
from manafidh.cli.common import console, container, one_line_errors
from manafidh.domain.clock import local_date
from manafidh.domain.errors import NotFound, ValidationFailed
from manafidh.domain.identity import User
from manafidh.domain.revenue.statements import Resolution
from manafidh.services import ledger, reconciliation, revenue_reports
from manafidh.simulation.statements import OrderToPay, month_of_statements

app = typer.Typer(
    help="Revenue: bank statements, reconciliation, the ledger.", no_args_is_help=True
)


def _user(username: str | None) -> User | None:
    """The finance user the command acts for (the operator when none is named)."""
    if username is None:
        return None
    with container().uow(readonly=True) as uow:
        user = uow.users.by_username(username)
    if user is None:
        raise NotFound(f"no user {username!r}")
    return user


@app.command("import")
def import_statements(
    files: list[Path] = typer.Argument(..., help="camt.053 XML or CSV statement files"),
    by: str | None = typer.Option(None, "--by", help="the finance user importing"),
) -> None:
    """Import bank statements and reconcile them (importing a file again changes nothing)."""
    c = container()
    with one_line_errors():
        actor = _user(by)
        # Read and check every file before anything is written.
        parsed = []
        for path in files:
            if not path.is_file():
                raise ValidationFailed(f"no such file: {path}")
            raw = path.read_bytes()
            parsed.append((path, read_statement_file(raw), digest(raw)))
        for path, statements, dig in parsed:
            with c.uow() as uow:
                r = reconciliation.import_statements(
                    uow=uow, actor=actor, statements=statements, digest=dig
                )
            outcomes = ", ".join(f"{k}={v}" for k, v in sorted(r.outcomes.items())) or "-"
            console.print(
                f"{path.name}: {r.new_entries} new, {r.known_entries} already known; {outcomes}",
                highlight=False,
            )


@app.command("exceptions")
def list_exceptions(
    state: str = typer.Option("open", help="open or resolved"),
    kind: str | None = typer.Option(None, help="unmatched, partial, duplicate, ..."),
    limit: int = typer.Option(100, min=1, max=10_000),
) -> None:
    """The exceptions queue."""
    c = container()
    with one_line_errors(), c.uow(readonly=True) as uow:
        found = reconciliation.exceptions(uow=uow, actor=None, state=state, kind=kind, limit=limit)
    table = Table("id", "kind", "bank ref", "amount IQD", "held IQD", "reference", "state")
    for x in found:
        table.add_row(
            str(x.id),
            x.kind.value,
            x.entry_ref,
            str(x.amount_iqd),
            str(x.held_iqd),
            x.reference or x.remittance[:30],
            x.state if x.resolution is None else x.resolution.value,
        )
    console.print(table)


@app.command("resolve")
def resolve(
    exception_id: int = typer.Argument(..., min=1),
    resolution: str = typer.Option(..., "--as", help="allocate, return or accept"),
    reason: str = typer.Option(..., help="why (kept in the audit log)"),
    order: str | None = typer.Option(None, help="the order's RF reference (allocate)"),
    by: str | None = typer.Option(None, "--by", help="the finance user resolving"),
) -> None:
    """Close an exception with a reason."""
    c = container()
    with one_line_errors():
        if resolution not in ("allocate", "return", "accept"):
            raise ValidationFailed("--as must be allocate, return or accept")
        actor = _user(by)
        with c.uow() as uow:
            x = reconciliation.resolve_exception(
                uow=uow,
                actor=actor,
                exception_id=exception_id,
                resolution=Resolution(resolution),
                reason=reason,
                order_reference=order,
            )
    console.print(f"exception {x.id} {x.kind.value}: {resolution} ({x.reason})", highlight=False)


@app.command("trial-balance")
def trial_balance(as_json: bool = typer.Option(False, "--json")) -> None:
    """Every account's balance; exit 1 if the books do not balance."""
    c = container()
    with one_line_errors(), c.uow(readonly=True) as uow:
        tb = ledger.trial_balance(uow=uow, actor=None)
        s = reconciliation.summary(uow=uow, actor=None)
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "balances": {k: str(v) for k, v in tb.balances.items()},
                    "balanced": tb.balanced,
                    "revenue_iqd": str(tb.revenue),
                    "postings": tb.postings,
                    "auto_match_rate": s.auto_match_rate,
                    "open_exceptions": s.open_exceptions,
                }
            )
        )
    else:
        table = Table("account", "balance IQD (debit +)")
        for account, value in tb.balances.items():
            table.add_row(account, f"{value:,}")
        console.print(table)
        console.print(
            f"revenue {tb.revenue:,} IQD; {tb.postings} postings; "
            f"{'balanced' if tb.balanced else 'NOT BALANCED'}; "
            f"{s.open_exceptions} open exceptions, {s.auto_match_rate:.2%} matched automatically",
            highlight=False,
        )
    if not tb.balanced:
        raise typer.Exit(1)


@app.command("simulate-statements")
def simulate_statements(
    out: Path = typer.Option(Path("statements"), help="folder for the camt.053 files"),
    seed: int = typer.Option(1, help="random seed of the noise"),
) -> None:
    """Write the camt.053 statements a bank would send for this database's orders (noisy)."""
    c = container()
    with one_line_errors():
        with c.engine.connect() as conn:
            seen = orders_a_bank_would_see(conn)
        if not seen:
            raise ValidationFailed("no payment orders in the database: run `manafidh simulate`")
        orders = [OrderToPay(ref, amount, local_date(at), tx) for ref, amount, at, tx in seen]
        files, truth = month_of_statements(orders, rng=random.Random(seed))
        out.mkdir(parents=True, exist_ok=True)
        for sid, raw in files:
            (out / f"{sid}.xml").write_bytes(raw)
    console.print(
        f"{len(files)} statements in {out}: {truth.credits} credits for {truth.orders} orders; "
        f"expect {truth.officer_exceptions} exceptions, {truth.repeats} repeated listings",
        highlight=False,
    )


@app.command("report")
def report(
    name: str = typer.Argument(
        ..., help="crossing-month, crossing-month-foregone, chapter, origin, trader, daily-close"
    ),
    year: int | None = typer.Option(None, help="crossing-month: the year"),
    since: str | None = typer.Option(None, help="chapter/origin/trader: first month YYYY-MM"),
    until: str | None = typer.Option(None, help="chapter/origin/trader: last month YYYY-MM"),
    day: str | None = typer.Option(None, help="daily-close: the day YYYY-MM-DD"),
    crossing: str | None = typer.Option(None, help="only this crossing"),
    fmt: str = typer.Option("table", "--format", help="table, csv, xlsx or parquet"),
    out: Path | None = typer.Option(None, help="file to write (csv/xlsx/parquet)"),
) -> None:
    """A revenue report, on screen or exported."""
    c = container()
    with one_line_errors():
        if fmt not in ("table", *FORMATS):
            raise ValidationFailed("--format is table, csv, xlsx or parquet")
        if fmt in ("xlsx", "parquet") and out is None:
            raise ValidationFailed(f"--out FILE is needed for {fmt}")
        with c.uow(readonly=True) as uow:
            if name == "crossing-month":
                if year is None:
                    raise ValidationFailed("--year is needed")
                r = revenue_reports.by_crossing_and_month(uow=uow, actor=None, year=year)
            elif name == "crossing-month-foregone":
                if year is None:
                    raise ValidationFailed("--year is needed")
                r = revenue_reports.by_crossing_and_month_with_foregone(
                    uow=uow, actor=None, year=year
                )
            elif name in revenue_reports.DIMENSIONS:
                if since is None or until is None:
                    raise ValidationFailed("--since and --until (YYYY-MM) are needed")
                r = revenue_reports.by_dimension(
                    uow=uow,
                    actor=None,
                    dimension=name,
                    since=since,
                    until=until,
                    crossing_code=crossing,
                )
            elif name == "daily-close":
                try:
                    when = date.fromisoformat(day or "")
                except ValueError:
                    raise ValidationFailed("--day YYYY-MM-DD is needed") from None
                r = revenue_reports.daily_close(
                    uow=uow, actor=None, day=when, crossing_code=crossing
                )
            else:
                raise ValidationFailed(f"unknown report {name!r}")
    if fmt == "table":
        table = Table(*r.columns)
        for row in r.rows:
            table.add_row(*("" if v is None else str(v) for v in row))
        console.print(table)
        return
    data = export(r, fmt)
    if out is None:
        typer.echo(data.decode("utf-8"), nl=False)
    else:
        out.write_bytes(data)
        console.print(f"{len(r.rows)} rows written to {out}", highlight=False)
