"""``manafidh simulate`` and ``manafidh demo``: simulated traffic through the service layer."""

from __future__ import annotations

import secrets
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from string import ascii_letters, digits

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy.exc import SQLAlchemyError

from manafidh.adapters.db.migrate import upgrade
from manafidh.adapters.reference_files import shipped_bundle
from manafidh.bootstrap import Container, bootstrap
from manafidh.cli.common import console, container, one_line_errors
from manafidh.config import Settings
from manafidh.domain.clock import IRAQ_TZ
from manafidh.domain.errors import ValidationFailed
from manafidh.domain.identity import Role
from manafidh.services import identity, reference
from manafidh.simulation import catalogue, traffic
from manafidh.simulation.runner import (
    STARTING_RULES,
    Report,
    inspector_usernames,
    simulate,
    staff_username,
)

DEMO_DB = Path("var/demo.db")
DEMO_CROSSINGS = ("SHL", "ZRB")  # the busiest: each gets its own officer, inspector, supervisor


@dataclass(frozen=True)
class Window:
    """The simulated days, and the instant the simulation stops (never in the future)."""

    start: date
    days: int
    until: datetime


def window(*, days: int, start: str | None, now: datetime) -> Window:
    """The window of ``days`` from ``start`` (default: ending today in Iraq), cut at ``now``."""
    if days < 1:
        raise ValidationFailed("--days must be at least 1", field="days")
    today = now.astimezone(IRAQ_TZ).date()
    if start is None:
        first = today - timedelta(days=days - 1)
    else:
        try:
            first = date.fromisoformat(start)
        except ValueError:
            raise ValidationFailed(f"--start must be YYYY-MM-DD, not {start!r}") from None
    if first > today:
        raise ValidationFailed(f"--start {first.isoformat()} is in the future", field="start")
    end = datetime.combine(first + timedelta(days=days), time.min, IRAQ_TZ).astimezone(UTC)
    return Window(first, days, min(end, now))


def crossing_codes(c: Container, wanted: str | None) -> list[str]:
    """The crossings to simulate (all by default); unknown codes are refused."""
    try:
        with c.uow(readonly=True) as uow:
            known = [x.code for x in uow.reference.crossings()]
    except SQLAlchemyError:
        raise ValidationFailed("database not ready: run `manafidh db upgrade` first") from None
    if not known:
        raise ValidationFailed("no reference data: run `manafidh reference load` first")
    if not wanted:
        return known
    codes = [w.strip().upper() for w in wanted.split(",") if w.strip()]
    unknown = [code for code in codes if code not in known]
    if unknown:
        raise ValidationFailed(f"unknown crossing {', '.join(unknown)}")
    if not codes:
        raise ValidationFailed("--crossings names no crossing", field="crossings")
    return codes


def check_rates(c: Container, day: date) -> None:
    """Refuse a window that starts before the invoice currencies have an exchange rate."""
    with c.uow(readonly=True) as uow:
        for code, _share, _per_usd in catalogue.CURRENCIES:
            if code != "IQD" and uow.reference.exchange_rate(code, day) is None:
                raise ValidationFailed(f"no {code} exchange rate on {day.isoformat()}")


def run(
    c: Container,
    *,
    seed: int,
    win: Window,
    codes: Sequence[str],
    scale: float,
    misdeclaration_rate: float | None = None,
) -> Report:
    """Plan and play the traffic of ``win`` with a progress bar."""
    config = traffic.TrafficConfig(scale=scale)
    if misdeclaration_rate is not None:
        config = replace(config, misdeclaration_rate=misdeclaration_rate)
    arrivals = [
        a
        for a in traffic.plan(
            seed=seed, start=win.start, days=win.days, crossings=codes, config=config
        )
        if a.at < win.until
    ]
    columns = (
        TextColumn("[bold]simulating[/bold]"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("trucks"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console) as bar:
        task = bar.add_task("trucks", total=len(arrivals))
        return simulate(
            c,
            arrivals,
            pools=traffic.make_pools(seed, config),
            crossings=codes,
            seed=seed,
            until=win.until,
            progress=lambda done, _total: bar.update(task, completed=done),
            profile=STARTING_RULES,
            nightly_valuation=True,
        )


def print_report(report: Report) -> None:
    """The counts of a run, one per line."""
    table = Table(title="Simulated traffic", show_header=False)
    table.add_column("what")
    table.add_column("count")
    lanes = ", ".join(f"{k} {v}" for k, v in sorted(report.lanes.items()))
    rows = [
        ("declarations", f"{report.declarations}"),
        ("lanes", lanes or "-"),
        ("misdeclared (ground truth)", _counts(report.misdeclared)),
        ("findings at controls", _counts(report.findings)),
        ("inspections by the assigned inspectors", f"{report.inspections}"),
        ("extra duty recorded by inspectors", f"{report.extra_duty_iqd:,.0f} IQD"),
        ("supplementary declarations", f"{report.amendments}"),
        ("payments", f"{report.payments} ({report.paid_iqd:,.0f} IQD)"),
        ("released", f"{report.released}"),
        ("exited", f"{report.exited}"),
        ("exit-without-release alarms", f"{report.exit_alarms}"),
        ("still in the yard", _counts(report.in_yard)),
    ]
    if report.rules_enabled:
        rows.append(("starting lane rules enabled", f"{report.rules_enabled}"))
    if report.amendments_refused:
        rows.append(("supplementary declarations refused", f"{report.amendments_refused}"))
    if report.released_with_unpaid_supplement:
        rows.append(
            ("released with supplement unpaid", f"{report.released_with_unpaid_supplement}")
        )
    if report.errors:
        rows.append(("[yellow]service errors[/yellow]", _counts(report.errors)))
    for what, count in rows:
        table.add_row(what, count)
    console.print(table)


def _counts(counter: dict[str, int]) -> str:
    total = sum(counter.values())
    if not total:
        return "0"
    return f"{total} (" + ", ".join(f"{k} {v}" for k, v in sorted(counter.items())) + ")"


def simulate_command(
    days: int = typer.Option(7, help="Number of days to simulate"),
    seed: int = typer.Option(42, help="Same seed, same traffic"),
    start: str | None = typer.Option(None, help="First day (YYYY-MM-DD); default: ends today"),
    crossings: str | None = typer.Option(None, help="Comma-separated crossing codes; default all"),
    scale: float = typer.Option(
        traffic.TrafficConfig().scale, help="Share of full-scale traffic (1.0: ~490 trucks/day)"
    ),
    misdeclaration_rate: float = typer.Option(
        traffic.TrafficConfig().misdeclaration_rate,
        help="Share of trucks whose papers are false (habitual importers more often)",
    ),
) -> None:
    """Simulate realistic traffic at the crossings through the service layer."""
    c = container()
    with one_line_errors():
        if scale <= 0:
            raise ValidationFailed("--scale must be positive", field="scale")
        if not 0 <= misdeclaration_rate <= 0.5:
            raise ValidationFailed("--misdeclaration-rate must be 0 to 0.5", field="rate")
        win = window(days=days, start=start, now=datetime.now(UTC))
        codes = crossing_codes(c, crossings)
        check_rates(c, win.start)
    report = run(
        c,
        seed=seed,
        win=win,
        codes=codes,
        scale=scale,
        misdeclaration_rate=misdeclaration_rate,
    )
    console.print(
        f"seed {seed}: {win.days} day(s) from {win.start.isoformat()} at {', '.join(codes)}"
    )
    print_report(report)


@dataclass(frozen=True)
class DemoUser:
    """A demo account whose password is printed."""

    username: str
    full_name: str
    role: Role
    crossings: list[str]
    tax_id: str | None = None


def demo_users(seed: int) -> list[DemoUser]:
    """Headquarters, the busy crossings' staff and a broker who lodges simulated declarations."""
    broker = traffic.make_pools(seed).brokers[0]
    users = [
        DemoUser("admin", "Demo administrator", Role.ADMIN, []),
        DemoUser("analyst", "Headquarters analyst", Role.ANALYST, []),
        DemoUser("auditor", "Inspector-general's auditor", Role.AUDITOR, []),
        DemoUser("finance", "Revenue finance officer", Role.FINANCE, []),
    ]
    for code in DEMO_CROSSINGS:
        for role in (Role.OFFICER, Role.SUPERVISOR):
            name = f"{role.value.title()} at {code}"
            users.append(DemoUser(staff_username(role, code), name, role, [code]))
        # Every inspector the draw may pick, so each of their assigned inspections can be opened.
        for n, username in enumerate(inspector_usernames(code), start=1):
            users.append(DemoUser(username, f"Inspector {n} at {code}", Role.INSPECTOR, [code]))
    users.append(DemoUser(broker.username, broker.full_name, Role.TRADER, [], broker.tax_id))
    return users


def _password() -> str:
    """A random 12-character password of letters and digits (easy to paste, never an option)."""
    return "".join(secrets.choice(ascii_letters + digits) for _ in range(12))


@contextmanager
def _step(what: str) -> Iterator[None]:
    with console.status(what):
        yield
    console.print(f"[green]✓[/green] {what}")


def demo_command(
    days: int = typer.Option(30, help="Days of traffic, ending today"),
    seed: int = typer.Option(42, help="Same seed, same traffic"),
    serve: bool = typer.Option(True, "--serve/--no-serve", help="Serve the web app afterwards"),
    port: int = typer.Option(8000, help="Port of the web app on 127.0.0.1"),
    scale: float = typer.Option(traffic.TrafficConfig().scale, help="Share of full traffic"),
) -> None:
    """Build a fresh demo database (var/demo.db) with simulated traffic, then serve it."""
    path = DEMO_DB.resolve()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    settings = Settings(database_url=f"sqlite+pysqlite:///{path}", fast_password_hashing=True)
    c = bootstrap(settings)
    with one_line_errors():
        win = window(days=days, start=None, now=datetime.now(UTC))
        with _step(f"schema created in {path}"):
            upgrade(c.engine)
        with _step("reference data loaded"), c.uow() as uow:
            reference.load_reference(uow=uow, bundle=shipped_bundle(), actor="demo")
        passwords: dict[str, str] = {}
        with _step("demo users created"):
            for u in demo_users(seed):
                passwords[u.username] = _password()
                with c.uow() as uow:
                    identity.create_user(
                        uow=uow,
                        hasher=c.hasher,
                        actor=None,
                        username=u.username,
                        full_name=u.full_name,
                        role=u.role,
                        password=passwords[u.username],
                        crossings=u.crossings,
                        tax_id=u.tax_id,
                    )
        codes = crossing_codes(c, None)
    report = run(c, seed=seed, win=win, codes=codes, scale=scale)
    print_report(report)
    users = Table(title="Demo users (passwords shown once)")
    for column in ("username", "role", "crossings", "password"):
        users.add_column(column)
    for u in demo_users(seed):
        users.add_row(u.username, u.role.value, ", ".join(u.crossings), passwords[u.username])
    console.print(users)
    url = f"http://127.0.0.1:{port}/"
    console.print(f"demo database: {path}")
    console.print(f"web app: {url}")
    if not serve:
        console.print("not serving (--no-serve)")
        return
    import uvicorn

    from manafidh.web.app import create_app

    console.print("serving the demo (Ctrl+C to stop)")
    uvicorn.run(create_app(c), host="127.0.0.1", port=port, log_level="info")


def register(app: typer.Typer) -> None:
    """Add ``simulate`` and ``demo`` to the ``manafidh`` command."""
    app.command("simulate")(simulate_command)
    app.command("demo")(demo_command)
