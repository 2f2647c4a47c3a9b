"""``manafidh deferred``: deferred-payment accounts backed by a guarantee."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal, InvalidOperation

import typer
from rich.table import Table

from manafidh.cli.common import console, container, one_line_errors
from manafidh.domain.errors import NotFound, ValidationFailed
from manafidh.domain.identity import User
from manafidh.services import deferred_accounts

app = typer.Typer(
    help="Deferred-payment accounts: approve, pay orders, monthly statements.",
    no_args_is_help=True,
)


def _user(username: str | None) -> User | None:
    """The user the command acts for (the operator when none is named)."""
    if username is None:
        return None
    with container().uow(readonly=True) as uow:
        user = uow.users.by_username(username)
    if user is None:
        raise NotFound(f"no user {username!r}")
    return user


def _day(text: str, name: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValidationFailed(f"{name} must be a date YYYY-MM-DD", field=name) from None


@app.command("approve")
def approve(
    tax_id: str = typer.Option(..., help="the trader's tax id"),
    name: str = typer.Option(..., help="the trader's name"),
    guarantee: str = typer.Option(..., help="the bank guarantee's reference"),
    bank: str = typer.Option(..., help="the guaranteeing bank"),
    limit: str = typer.Option(..., help="the guaranteed limit in IQD"),
    valid_from: str = typer.Option(..., "--from", help="first day of validity YYYY-MM-DD"),
    valid_to: str = typer.Option(..., "--to", help="last day of validity YYYY-MM-DD"),
    reason: str = typer.Option(..., help="why the account is approved"),
    by: str | None = typer.Option(None, "--by", help="the finance user approving"),
) -> None:
    """Approve a trader's deferred-payment account against a bank guarantee."""
    c = container()
    with one_line_errors():
        try:
            amount = Decimal(limit)
        except InvalidOperation:
            raise ValidationFailed("--limit must be an amount in IQD") from None
        actor = _user(by)
        with c.uow() as uow:
            a = deferred_accounts.approve(
                uow=uow,
                actor=actor,
                trader_tax_id=tax_id,
                trader_name=name,
                guarantee_reference=guarantee,
                guarantee_bank=bank,
                limit_iqd=amount,
                valid_from=_day(valid_from, "--from"),
                valid_to=_day(valid_to, "--to"),
                reason=reason,
            )
    console.print(f"account {a.number} approved, limit {a.limit_iqd} IQD", highlight=False)


def _change(number: str, reason: str, by: str | None, suspend: bool) -> None:
    c = container()
    with one_line_errors():
        actor = _user(by)
        with c.uow() as uow:
            fn = deferred_accounts.suspend if suspend else deferred_accounts.reinstate
            a = fn(uow=uow, actor=actor, number=number, reason=reason)
    console.print(f"account {a.number} {a.state.value}", highlight=False)


@app.command("suspend")
def suspend(
    number: str = typer.Argument(..., help="the account number"),
    reason: str = typer.Option(..., help="why"),
    by: str | None = typer.Option(None, "--by", help="the finance user"),
) -> None:
    """Suspend an account: it takes no charge until reinstated."""
    _change(number, reason, by, suspend=True)


@app.command("reinstate")
def reinstate(
    number: str = typer.Argument(..., help="the account number"),
    reason: str = typer.Option(..., help="why"),
    by: str | None = typer.Option(None, "--by", help="the finance user"),
) -> None:
    """Reinstate a suspended account."""
    _change(number, reason, by, suspend=False)


@app.command("pay")
def pay(
    number: str = typer.Argument(..., help="the account number"),
    reference: str = typer.Argument(..., help="the payment order's RF reference"),
    by: str | None = typer.Option(None, "--by", help="the user paying"),
) -> None:
    """Pay a payment order from the account (refused beyond the limit, suspended, expired)."""
    c = container()
    with one_line_errors():
        actor = _user(by)
        with c.uow() as uow:
            charge = deferred_accounts.pay_order(
                uow=uow, actor=actor, number=number, payment_reference=reference
            )
    console.print(
        f"{charge.order_reference} paid from {number}: {charge.amount_iqd} IQD", highlight=False
    )


@app.command("balance")
def balance(
    number: str = typer.Argument(..., help="the account number"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """What the trader owes, what the account may still take, and its changes."""
    c = container()
    with one_line_errors(), c.uow(readonly=True) as uow:
        v = deferred_accounts.account(uow=uow, actor=None, number=number)
    a = v.account
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "number": a.number,
                    "state": a.state.value,
                    "limit_iqd": str(a.limit_iqd),
                    "balance_iqd": str(v.balance_iqd),
                    "available_iqd": str(v.available_iqd),
                    "valid_to": a.valid_to.isoformat(),
                    "events": [e["action"] for e in v.events],
                }
            )
        )
        return
    console.print(
        f"{a.number} ({a.trader_name}, {a.state.value}): owes {v.balance_iqd} IQD of"
        f" {a.limit_iqd}; {v.available_iqd} available; guarantee {a.guarantee_reference}"
        f" valid to {a.valid_to}",
        highlight=False,
    )


@app.command("statement")
def statement(
    number: str = typer.Argument(..., help="the account number"),
    month: str = typer.Argument(..., help="the month YYYY-MM (over)"),
    issue: bool = typer.Option(False, "--issue", help="issue it (finance)"),
    by: str | None = typer.Option(None, "--by", help="the finance user issuing"),
) -> None:
    """Show a month's statement, or issue it with --issue (again: the same statement)."""
    c = container()
    with one_line_errors():
        actor = _user(by)
        with c.uow(readonly=not issue) as uow:
            if issue:
                v = deferred_accounts.issue_statement(
                    uow=uow, actor=actor, number=number, month=month
                )
            else:
                v = deferred_accounts.statement(uow=uow, actor=actor, number=number, month=month)
    s = v.statement
    table = Table("order", "declaration", "crossing", "charged at", "IQD")
    for ch in v.charges:
        table.add_row(
            ch.order_reference,
            ch.declaration_reference,
            ch.crossing_code,
            ch.charged_at.isoformat(timespec="minutes"),
            str(ch.amount_iqd),
        )
    console.print(table)
    console.print(
        f"statement {s.account} {s.month}: {s.amount_iqd} IQD, settled {s.settled_iqd};"
        f" transfer quoting {s.reference}",
        highlight=False,
    )
