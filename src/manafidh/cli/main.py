"""The ``manafidh`` command."""

from __future__ import annotations

from pathlib import Path

import typer

from manafidh.adapters.db.migrate import upgrade
from manafidh.adapters.reference_files import read_exchange_rate_file, shipped_bundle
from manafidh.cli import audit as audit_cmd
from manafidh.cli import deferred as deferred_cmd
from manafidh.cli import devices as devices_cmd
from manafidh.cli import exemptions as exemptions_cmd
from manafidh.cli import revenue as revenue_cmd
from manafidh.cli import risk as risk_cmd
from manafidh.cli import simulate as simulate_cmd
from manafidh.cli import tariff as tariff_cmd
from manafidh.cli.common import console, container, err, one_line_errors
from manafidh.domain.errors import ValidationFailed
from manafidh.domain.identity import Role
from manafidh.services import identity, reference

app = typer.Typer(
    help="Manafidh: customs clearance at land border crossings.", no_args_is_help=True
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
ref_app = typer.Typer(help="Reference data.", no_args_is_help=True)
users_app = typer.Typer(help="Users and roles.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(ref_app, name="reference")
app.add_typer(users_app, name="users")
app.add_typer(audit_cmd.app, name="audit")
app.add_typer(devices_cmd.app, name="devices")
app.add_typer(tariff_cmd.app, name="tariff")
app.add_typer(revenue_cmd.app, name="revenue")
app.add_typer(exemptions_cmd.app, name="exemptions")
app.add_typer(risk_cmd.app, name="risk")
app.add_typer(deferred_cmd.app, name="deferred")


@db_app.command("upgrade")
def db_upgrade(revision: str = typer.Argument("head")) -> None:
    """Create or migrate the schema to the latest revision."""
    c = container()
    upgrade(c.engine, revision)
    console.print(f"database at {revision}: {c.engine.url.render_as_string(hide_password=True)}")


@ref_app.command("load")
def reference_load(
    exchange_rates: Path | None = typer.Option(None, help="Extra exchange-rate CSV to add"),
) -> None:
    """Load the shipped reference data (idempotent), and optionally more exchange rates."""
    c = container()
    with one_line_errors():
        # Read and check the extra file before anything is written: all or nothing.
        extra = []
        if exchange_rates is not None:
            if not exchange_rates.is_file():
                raise ValidationFailed(f"no such file: {exchange_rates}")
            extra = read_exchange_rate_file(exchange_rates)
        with c.uow() as uow:
            added = reference.load_reference(
                uow=uow, bundle=shipped_bundle(), actor="cli", extra_rates=extra
            )
        with c.uow(readonly=True) as uow:
            counts = uow.reference.counts()
    console.print("added: " + ", ".join(f"{k}={v}" for k, v in added.items()))
    console.print("in the database: " + ", ".join(f"{k}={v}" for k, v in counts.items()))


@users_app.command("create")
def users_create(
    username: str,
    role: Role = typer.Option(
        ..., help="trader, officer, inspector, supervisor, analyst, auditor, admin, finance"
    ),
    full_name: str = typer.Option(..., "--name", help="Full name"),
    crossing: list[str] = typer.Option([], help="Crossing code (repeat for several)"),
    tax_id: str | None = typer.Option(None, help="Tax id of a trader or broker"),
    password: str = typer.Option(..., prompt=True, hide_input=True, confirmation_prompt=True),
) -> None:
    """Create a user."""
    c = container()
    with one_line_errors(), c.uow() as uow:
        user = identity.create_user(
            uow=uow,
            hasher=c.hasher,
            actor=None,
            username=username,
            full_name=full_name,
            role=role,
            password=password,
            crossings=list(crossing),
            tax_id=tax_id,
        )
    console.print(f"created {user.username} ({user.role.value})")


@users_app.command("change")
def users_change(
    username: str,
    reason: str = typer.Option(..., help="Why (kept in the audit log)"),
    role: Role | None = typer.Option(None, help="The new role"),
    crossing: list[str] = typer.Option([], help="The new crossings (repeat; replaces all)"),
    active: bool | None = typer.Option(None, "--active/--inactive", help="Enable or disable"),
) -> None:
    """Change a user's role, crossings or whether the account is active."""
    c = container()
    with one_line_errors(), c.uow() as uow:
        user = identity.change_user(
            uow=uow,
            actor=None,
            username=username,
            reason=reason,
            role=role,
            crossings=list(crossing) or None,
            active=active,
        )
    state = "active" if user.active else "inactive"
    console.print(f"{user.username}: {user.role.value}, {','.join(user.crossings)}, {state}")


@users_app.command("token")
def users_token(
    username: str, name: str = typer.Option("cli", help="What the token is for")
) -> None:
    """Issue an API token for a user (printed once)."""
    c = container()
    with one_line_errors(), c.uow() as uow:
        user = uow.users.by_username(username)
        if user is None:
            raise ValidationFailed(f"no user {username}")
        issued = identity.issue_api_token(uow=uow, user=user, name=name)
    console.print(issued.token)


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1"),
    port: int = typer.Option(8000),
    workers: int = typer.Option(1),
) -> None:
    """Serve the web app and the API."""
    import uvicorn

    uvicorn.run("manafidh.web.asgi:app", host=host, port=port, workers=workers, log_level="info")


simulate_cmd.register(app)

__all__ = ["app", "err"]
if __name__ == "__main__":
    app()
