"""``manafidh exemptions``: grant (from a JSON file), suspend/revoke/reinstate, revoke by decree,
foregone-revenue report; ``refresh-valuation`` recomputes reference unit values."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import typer

from manafidh.cli.common import console, container, one_line_errors
from manafidh.domain.errors import ValidationFailed
from manafidh.domain.tariff.exemptions import (
    BeneficiaryKind,
    Exemption,
    ExemptionAction,
    Quota,
)
from manafidh.domain.tariff.investment import (
    ApprovedGoods,
    ImplementationReport,
    InvestmentProject,
)
from manafidh.services import exemptions, investment, valuation

app = typer.Typer(help="Exemptions, quotas and foregone revenue.", no_args_is_help=True)


def _dec(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def exemption_from(data: dict[str, Any]) -> Exemption:
    """An exemption from the JSON object the API takes (``ExemptionIn``)."""
    try:
        return Exemption(
            id=0,
            reference=str(data["reference"]),
            beneficiary_kind=BeneficiaryKind(data["beneficiary_kind"]),
            beneficiary_name=str(data["beneficiary_name"]),
            beneficiary_tax_id=str(data["beneficiary_tax_id"]),
            legal_basis=str(data["legal_basis"]),
            valid_from=date.fromisoformat(data["valid_from"]),
            valid_to=date.fromisoformat(data["valid_to"]) if data.get("valid_to") else None,
            relief_percent=Decimal(str(data.get("relief_percent", "100"))),
            codes=tuple(data.get("codes", ())),
            crossings=tuple(data.get("crossings", ())),
            quotas=tuple(
                Quota(0, q["code"], _dec(q.get("max_kg")), _dec(q.get("max_value_iqd")))
                for q in data.get("quotas", ())
            ),
        )
    except (KeyError, ValueError, ArithmeticError) as exc:
        raise ValidationFailed(f"bad exemption: {type(exc).__name__} {exc}") from None


@app.command("grant")
def grant(path: Path) -> None:
    """Grant the exemption described in a JSON file (fields as in the API)."""
    c = container()
    with one_line_errors():
        if not path.is_file():
            raise ValidationFailed(f"no such file: {path}")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise ValidationFailed(f"{path.name}: bad JSON at line {exc.lineno}") from None
        e = exemption_from(data)
        with c.uow() as uow:
            stored = exemptions.grant(uow=uow, actor=None, exemption=e)
    console.print(f"granted {stored.reference} ({len(stored.quotas)} quotas)", highlight=False)


def _change(action: ExemptionAction, reference: str, reason: str, legal_reference: str) -> None:
    c = container()
    with one_line_errors(), c.uow() as uow:
        e = exemptions.change_state(
            uow=uow,
            actor=None,
            reference=reference,
            action=action,
            reason=reason,
            legal_reference=legal_reference,
        )
    console.print(f"{e.reference}: {e.state.value}", highlight=False)


REASON = typer.Option(..., "--reason", help="Why")
LEGAL = typer.Option(..., "--legal-reference", help="The act that decides it")


@app.command("suspend")
def suspend(reference: str, reason: str = REASON, legal_reference: str = LEGAL) -> None:
    """Suspend an exemption."""
    _change(ExemptionAction.SUSPEND, reference, reason, legal_reference)


@app.command("revoke")
def revoke(reference: str, reason: str = REASON, legal_reference: str = LEGAL) -> None:
    """Revoke an exemption."""
    _change(ExemptionAction.REVOKE, reference, reason, legal_reference)


@app.command("reinstate")
def reinstate(reference: str, reason: str = REASON, legal_reference: str = LEGAL) -> None:
    """Reinstate a suspended or revoked exemption."""
    _change(ExemptionAction.REINSTATE, reference, reason, legal_reference)


@app.command("revoke-by-decree")
def revoke_by_decree(
    kinds: str = typer.Option(..., help="Comma-separated: " + ", ".join(BeneficiaryKind)),
    as_of: str = typer.Option(..., "--as-of", help="YYYY-MM-DD"),
    decree: str = typer.Option(..., help="The decree's reference"),
    reason: str = REASON,
    apply: bool = typer.Option(False, "--apply", help="Apply; without it, only a preview"),
) -> None:
    """Revoke every exemption of some beneficiary kinds in force on a date (preview first)."""
    c = container()
    with one_line_errors():
        try:
            chosen = [BeneficiaryKind(k.strip()) for k in kinds.split(",") if k.strip()]
            day = date.fromisoformat(as_of)
        except ValueError as exc:
            raise ValidationFailed(str(exc)) from None
        with c.uow() as uow:
            preview = exemptions.revoke_by_decree(
                uow=uow,
                actor=None,
                kinds=chosen,
                as_of=day,
                decree=decree,
                reason=reason,
                apply=apply,
            )
    verb = "revoked" if apply else "would revoke"
    console.print(f"{decree}: {verb} {len(preview.affected)} exemption(s)", highlight=False)
    for e in preview.affected:
        console.print(
            f"  {e.reference} {e.beneficiary_kind.value} {e.beneficiary_name} ({e.legal_basis})",
            highlight=False,
            soft_wrap=True,
        )


@app.command("foregone")
def foregone(
    by: str = typer.Option(
        "beneficiary", help="beneficiary, legal_basis, chapter, crossing, month"
    ),
) -> None:
    """Foregone revenue (duty not paid through exemptions), grouped."""
    c = container()
    with one_line_errors(), c.uow(readonly=True) as uow:
        rows = exemptions.foregone_report(uow=uow, actor=None, by=by)
    for group, duty, value, lines in rows:
        console.print(
            f"{group}: {duty} IQD foregone on {value} IQD exempted ({lines} lines)",
            highlight=False,
            soft_wrap=True,
        )


@app.command("refresh-valuation")
def refresh_valuation() -> None:
    """Recompute reference unit values (HS6 x origin) from cleared declarations."""
    c = container()
    with one_line_errors(), c.uow() as uow:
        n = valuation.refresh_reference_values(uow=uow, actor=None)
    console.print(f"{n} reference values")


@app.command("register-project")
def register_project(path: Path) -> None:
    """Register an investment project from a JSON file (fields as in the API) and grant its
    exemption."""
    c = container()
    with one_line_errors():
        if not path.is_file():
            raise ValidationFailed(f"no such file: {path}")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            project = InvestmentProject(
                licence_number=str(data["licence_number"]),
                name=str(data["name"]),
                sector=str(data["sector"]),
                tax_id=str(data["tax_id"]),
                approved_on=date.fromisoformat(data["approved_on"]),
                window_from=date.fromisoformat(data["window_from"]),
                window_to=date.fromisoformat(data["window_to"]),
                goods=tuple(
                    ApprovedGoods(g["code"], _dec(g.get("max_kg")), _dec(g.get("max_value_iqd")))
                    for g in data["goods"]
                ),
            )
            legal_basis = str(data["legal_basis"])
        except (KeyError, ValueError, ArithmeticError, json.JSONDecodeError) as exc:
            raise ValidationFailed(f"bad project: {type(exc).__name__} {exc}") from None
        with c.uow() as uow:
            e = investment.register_project(
                uow=uow, actor=None, project=project, legal_basis=legal_basis
            )
    console.print(f"registered {project.licence_number}: exemption {e.reference}")


@app.command("report-implementation")
def report_implementation(
    licence_number: str,
    on: str = typer.Option(..., "--on", help="Reported on (YYYY-MM-DD)"),
    rate: str = typer.Option(..., "--rate", help="Implementation rate in percent"),
    source: str = typer.Option(..., "--source", help="Where the figure comes from"),
) -> None:
    """Record a project's implementation rate."""
    c = container()
    with one_line_errors():
        try:
            report = ImplementationReport(date.fromisoformat(on), Decimal(rate), source)
        except (ValueError, ArithmeticError) as exc:
            raise ValidationFailed(f"bad report: {exc}") from None
        with c.uow() as uow:
            investment.report_implementation(
                uow=uow, actor=None, licence_number=licence_number, report=report
            )
    console.print(f"{licence_number}: {rate}% on {on}")


@app.command("suspension-rule")
def suspension_rule(
    as_of: str = typer.Option(..., "--as-of", help="YYYY-MM-DD"),
    apply: bool = typer.Option(False, "--apply", help="Apply; without it, only a preview"),
) -> None:
    """Suspend the exemptions of projects at or below the implementation threshold."""
    c = container()
    with one_line_errors():
        try:
            day = date.fromisoformat(as_of)
        except ValueError as exc:
            raise ValidationFailed(str(exc)) from None
        with c.uow() as uow:
            lagging = investment.apply_suspension_rule(uow=uow, actor=None, as_of=day, apply=apply)
    verb = "suspended" if apply else "would suspend"
    console.print(f"{verb} {len(lagging)} project exemption(s)")
    for lag in lagging:
        console.print(
            f"  {lag.project.licence_number} {lag.project.name}: {lag.rate_percent}%"
            f" <= {lag.threshold}% ({lag.exemption_reference})",
            highlight=False,
            soft_wrap=True,
        )
