"""``manafidh risk``: train and list the learned risk models."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import typer
from rich.table import Table

from manafidh.adapters import risk_model
from manafidh.cli.common import console, container, one_line_errors
from manafidh.domain.risk.features import RiskRecord
from manafidh.services import risk

app = typer.Typer(help="Risk management: the learned risk score.", no_args_is_help=True)


def _trainer(threads: int) -> risk.RiskTrainer:
    def trainer(
        train_records: Sequence[RiskRecord],
        valid_records: Sequence[RiskRecord],
        *,
        entity_keys: Sequence[str],
    ) -> risk_model.RiskModel:
        return risk_model.train(
            train_records, valid_records, entity_keys=entity_keys, threads=threads
        )

    return trainer


@app.command("train")
def train(
    reason: str = typer.Option(..., help="Why a new model is trained (kept in the audit log)"),
    threads: int = typer.Option(2, min=1, help="LightGBM threads"),
) -> None:
    """Train a new model version from the recorded inspection outcomes."""
    c = container()
    with one_line_errors(), c.uow() as uow:
        summary = risk.train_model(uow=uow, actor=None, trainer=_trainer(threads), reason=reason)
    metrics: dict[str, Any] = summary["metrics"]
    console.print(
        f"risk model {summary['version']} trained on {summary['outcomes']} inspection outcomes "
        f"({summary['findings']} findings), {summary['train_from']} to {summary['train_to']}"
    )
    if metrics:
        console.print(
            "validation: "
            + ", ".join(f"{k}={metrics[k]}" for k in ("p5", "p10", "auc") if k in metrics)
        )


@app.command("models")
def models() -> None:
    """List the model versions, newest first (the newest scores new declarations)."""
    c = container()
    with one_line_errors(), c.uow(readonly=True) as uow:
        rows = uow.risk.models()
    table = Table("version", "trained", "by", "window", "outcomes", "findings", "p5", "p10", "auc")
    for r in rows:
        m = r["metrics"] or {}
        table.add_row(
            str(r["version"]),
            r["created_at"].isoformat(timespec="minutes"),
            r["created_by"],
            f"{r['train_from']} to {r['train_to']}",
            str(r["outcomes"]),
            str(r["findings"]),
            *(f"{m[k]:.3f}" if k in m else "-" for k in ("p5", "p10", "auc")),
        )
    console.print(table)
