"""``manafidh risk``: train and list the learned risk models."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import typer
from rich.table import Table

from manafidh.adapters import risk_model
from manafidh.cli.common import console, container, one_line_errors
from manafidh.domain.clock import local_date
from manafidh.domain.declarations.model import Lane
from manafidh.domain.errors import ValidationFailed
from manafidh.domain.risk.features import RiskRecord
from manafidh.domain.risk.lanes import LaneRule
from manafidh.services import risk, risk_reports, risk_rules

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


def _decimal(text: str | None, option: str) -> Decimal | None:
    if not text:
        return None
    try:
        return Decimal(text)
    except InvalidOperation:
        raise ValidationFailed(f"{option} must be a number, not {text!r}") from None


def _rule(name: str, lane: Lane | None, valid_from: datetime | None, **conditions: Any) -> LaneRule:
    c = container()
    min_value = _decimal(conditions.pop("min_value_iqd", None), "--min-value-iqd")
    score_weight = _decimal(conditions.pop("score_weight", None), "--score-weight")
    return LaneRule(
        id=0,
        name=name,
        lane=lane or (Lane.GREEN if score_weight is not None else Lane.RED),
        valid_from=valid_from.date() if valid_from else local_date(c.clock.now()),
        valid_to=None,
        origin_country=conditions.pop("origin", None),
        crossing_code=conditions.pop("crossing", None),
        importer_tax_id=conditions.pop("importer", None),
        min_customs_value_iqd=min_value,
        score_weight=score_weight,
        **{k: (v or None) if isinstance(v, bool) else v for k, v in conditions.items()},
    )


NAME = typer.Option("what-if", help="Rule name")
LANE = typer.Option(None, help="Lane the rule sends to: yellow or red (default red)")
FROM = typer.Option(None, formats=["%Y-%m-%d"], help="First day (default: today)")
HS = typer.Option(None, help="HS code or chapter prefix")
ORIGIN = typer.Option(None, help="Origin country (ISO alpha-2)")
CROSSING = typer.Option(None, help="Crossing code")
IMPORTER = typer.Option(None, help="Importer tax id")
MIN_VALUE = typer.Option(None, help="Minimum customs value in IQD")
DECLARANT = typer.Option(None, help="Declarant (user id of the broker or trader who lodges)")
VALUATION = typer.Option(False, "--valuation-flag", help="A line far below its reference value")
WEIGHT = typer.Option(False, "--weight-mismatch", help="The weighbridge disagrees with the papers")
EXEMPTION = typer.Option(False, "--exemption-use", help="An exemption relieves some duty")
HOUR_FROM = typer.Option(None, min=0, max=23, help="Lodged from this hour (Iraq time)")
HOUR_TO = typer.Option(None, min=0, max=24, help="Lodged before this hour (may wrap midnight)")
FIRST = typer.Option(None, min=1, max=1000, help="The importer's first N declarations")
SCORE_WEIGHT = typer.Option(
    None, help="Instead of a lane: add this weight (log-odds, e.g. 1.5) to the risk score"
)


@app.command("rules")
def rules() -> None:
    """List the lane rules with their validity."""
    c = container()
    with one_line_errors(), c.uow(readonly=True) as uow:
        found = uow.reference.lane_rules()
    table = Table("id", "name", "action", "from", "to", "conditions")
    for r in found:
        table.add_row(
            str(r.id),
            r.name,
            r.action(),
            str(r.valid_from),
            str(r.valid_to or ""),
            str(r.conditions),
        )
    console.print(table)


@app.command("backtest")
def backtest(
    since: datetime = typer.Option(..., formats=["%Y-%m-%d"], help="First day of history"),
    until: datetime = typer.Option(..., formats=["%Y-%m-%d"], help="Last day of history"),
    lane: Lane | None = LANE,
    hs_prefix: str | None = HS,
    origin: str | None = ORIGIN,
    crossing: str | None = CROSSING,
    importer: str | None = IMPORTER,
    min_value_iqd: str | None = MIN_VALUE,
    declarant_id: str | None = DECLARANT,
    valuation_flag: bool = VALUATION,
    weight_mismatch: bool = WEIGHT,
    exemption_use: bool = EXEMPTION,
    hour_from: int | None = HOUR_FROM,
    hour_to: int | None = HOUR_TO,
    first_declarations: int | None = FIRST,
    score_weight: str | None = SCORE_WEIGHT,
) -> None:
    """Try a rule on past declarations: how many it hits and what share were found fraudulent."""
    c = container()
    with one_line_errors():
        conditions = dict(locals())
        for k in ("c", "since", "until", "lane"):
            conditions.pop(k)
        rule = _rule("what-if", lane, since, **conditions)
        with c.uow(readonly=True) as uow:
            result = risk_rules.backtest_rule(
                uow=uow, actor=None, rule=rule, since=since.date(), until=until.date()
            )
    console.print(
        f"{result.hits} of {result.declarations} declarations hit ({result.hit_share}); "
        f"{result.hits_found} of {result.hits_inspected} inspected hits found fraudulent "
        f"({result.hit_fraud_share}; all inspections: {result.base_fraud_share})"
    )


@app.command("rule-add")
def rule_add(
    name: str = typer.Option(..., help="Rule name"),
    reason: str = typer.Option(..., help="Why (kept with the rule and in the audit log)"),
    lane: Lane | None = LANE,
    valid_from: datetime | None = FROM,
    hs_prefix: str | None = HS,
    origin: str | None = ORIGIN,
    crossing: str | None = CROSSING,
    importer: str | None = IMPORTER,
    min_value_iqd: str | None = MIN_VALUE,
    declarant_id: str | None = DECLARANT,
    valuation_flag: bool = VALUATION,
    weight_mismatch: bool = WEIGHT,
    exemption_use: bool = EXEMPTION,
    hour_from: int | None = HOUR_FROM,
    hour_to: int | None = HOUR_TO,
    first_declarations: int | None = FIRST,
    score_weight: str | None = SCORE_WEIGHT,
) -> None:
    """Add a lane rule (or a score-weight rule) from a day on."""
    c = container()
    with one_line_errors():
        conditions = dict(locals())
        for k in ("c", "name", "reason", "lane", "valid_from"):
            conditions.pop(k)
        rule = _rule(name, lane, valid_from, **conditions)
        with c.uow() as uow:
            added = risk_rules.add_rule(uow=uow, actor=None, rule=rule, reason=reason)
    console.print(
        f"lane rule {added.id} '{added.name}' -> {added.action()} from {added.valid_from}"
    )


@app.command("rule-end")
def rule_end(
    rule_id: int = typer.Argument(..., help="Rule id (see `manafidh risk rules`)"),
    last_day: datetime = typer.Option(..., formats=["%Y-%m-%d"], help="Last day it applies"),
    reason: str = typer.Option(..., help="Why (kept in the audit log)"),
) -> None:
    """End a lane rule after a day; its past decisions stay as they were."""
    c = container()
    with one_line_errors(), c.uow() as uow:
        rule = risk_rules.end_rule(
            uow=uow, actor=None, rule_id=rule_id, last_day=last_day.date(), reason=reason
        )
    console.print(f"lane rule {rule.id} '{rule.name}' ends after {rule.valid_to}")


@app.command("report")
def report(
    since: datetime = typer.Option(..., formats=["%Y-%m-%d"], help="First day"),
    until: datetime = typer.Option(..., formats=["%Y-%m-%d"], help="Last day"),
) -> None:
    """Hit rate per lane, per rule and of the random control; revenue per crossing and month."""
    c = container()
    with one_line_errors(), c.uow(readonly=True) as uow:
        data = risk_reports.report(uow=uow, actor=None, since=since.date(), until=until.date())
    cols = ("declarations", "checked", "found", "hit_rate", "extra_duty_per_check_iqd")
    table = Table("group", *cols)
    for lane, row in data["by_lane"].items():
        table.add_row(f"lane {lane}", *(str(row[k]) for k in cols))
    for rule_id, row in data["by_rule"].items():
        table.add_row(f"rule {rule_id}", *(str(row[k]) for k in cols))
    table.add_row("random control", *(str(data["random_control"][k]) for k in cols))
    for row in data["by_crossing_month"]:
        table.add_row(f"{row['crossing']} {row['month']}", *(str(row[k]) for k in cols))
    console.print(table)
