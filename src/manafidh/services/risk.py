"""Risk use cases: score a lodged declaration, train a new model from inspection outcomes."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from typing import Any, Protocol

from manafidh.domain.declarations.model import Declaration, Lane
from manafidh.domain.errors import NoRateInForce, ValidationFailed
from manafidh.domain.identity import User
from manafidh.domain.parameters import TARGET_RED_SHARE
from manafidh.domain.risk.assignment import Assignment
from manafidh.domain.risk.features import RiskRecord
from manafidh.domain.risk.lanes import LaneDecision
from manafidh.domain.risk.scoring import (
    ENTITY_KEYS,
    RiskModelUnavailable,
    Score,
    ScoringModel,
    declaration_record,
)
from manafidh.domain.risk.selection import apply_score, with_rule_weights
from manafidh.services import journal, risk_assignment
from manafidh.services.ports import UnitOfWork

# Fewer outcomes than this, or fewer findings, and a model would learn noise: refuse to train.
MIN_OUTCOMES = 50
MIN_FINDINGS = 5
# The newest share of inspection outcomes is held out to choose the model's settings.
VALID_SHARE = 0.2
TOP_FACTORS = 5


class RiskTrainer(Protocol):
    """Trains a model on ``train``, choosing its settings on ``valid`` (adapters/risk_model)."""

    def __call__(
        self,
        train_records: Sequence[RiskRecord],
        valid_records: Sequence[RiskRecord],
        *,
        entity_keys: Sequence[str],
    ) -> ScoringModel: ...


@dataclass(frozen=True)
class Scored:
    """A declaration's risk inputs, its score, or why the rules alone decided."""

    record: RiskRecord
    score: Score | None
    fallback: str | None
    assignment: Assignment | None = None


def score_declaration(uow: UnitOfWork, decl: Declaration, *, customs_value_iqd: Decimal) -> Scored:
    """Score a lodged declaration with the newest model; when none is usable, say why."""
    assert decl.acceptance_date is not None
    assert decl.lodged_at is not None
    record = declaration_record(
        key=decl.id,
        content=decl.content,
        crossing_code=decl.crossing_code,
        declarant_id=decl.declarant_id,
        lodged_at=decl.lodged_at,
        day=decl.acceptance_date,
        customs_value_iqd=customs_value_iqd,
    )
    try:
        version, model = uow.risk.current_model()
        value, factors = model.assess(record, TOP_FACTORS)
    except RiskModelUnavailable as exc:
        # The lane then comes from the rules and the random control alone, as before any model.
        return Scored(record, None, exc.message)
    return Scored(record, Score(value, version, factors), None)


def store_score(uow: UnitOfWork, declaration_id: str, scored: Scored) -> None:
    """Keep the score (or the fallback reason) with its inputs, and a red lane's inspector."""
    uow.risk.add_score(
        declaration_id=declaration_id,
        at=uow.clock.now(),
        record=scored.record,
        score=scored.score,
        fallback=scored.fallback,
    )
    if scored.assignment is not None:
        risk_assignment.store_assignment(
            uow,
            declaration_id=declaration_id,
            crossing_code=scored.record.entities["crossing"],
            importer_tax_id=scored.record.entities["importer"],
            assignment=scored.assignment,
        )


def train_model(
    *, uow: UnitOfWork, actor: User | None, trainer: RiskTrainer, reason: str
) -> dict[str, Any]:
    """Train a new model version from the recorded inspection outcomes and store it."""
    if not reason.strip():
        raise ValidationFailed("say why the model is retrained", field="reason")
    now = uow.clock.now()
    records = uow.risk.training_records(until=now)
    labeled = sorted((r for r in records if r.found is not None), key=lambda r: r.day)
    findings = sum(1 for r in labeled if r.found)
    if len(labeled) < MIN_OUTCOMES or findings < MIN_FINDINGS:
        raise ValidationFailed(
            f"too few inspection outcomes to train: {len(labeled)} with {findings} findings "
            f"(at least {MIN_OUTCOMES} with {MIN_FINDINGS} findings)",
            outcomes=len(labeled),
            findings=findings,
        )
    # A chronological split: the model is chosen on the newest outcomes, as it will be used.
    cut = _cut_day(labeled)
    train = [r for r in records if r.day < cut]
    valid = [r for r in records if r.day >= cut]
    model = trainer(train, valid, entity_keys=ENTITY_KEYS)
    version = uow.risk.next_model_version()
    meta = model.metadata
    info = {
        "created_at": now,
        "created_by": journal.by(actor)[0],
        "reason": reason,
        "train_from": min(r.day for r in records),
        "train_to": max(r.day for r in records),
        "outcomes": len(labeled),
        "findings": findings,
        "metrics": meta.get("valid_metrics", {}),
        "features": meta.get("features", []),
        "params": meta.get("params", {}),
    }
    uow.risk.add_model(version=version, text=model.dumps(), info=info)
    payload = {
        "version": version,
        "reason": reason,
        "train_from": info["train_from"].isoformat(),
        "train_to": info["train_to"].isoformat(),
        "outcomes": len(labeled),
        "findings": findings,
        # The audit log takes exact numbers only: figures as 4-decimal text.
        "metrics": {k: Decimal(f"{v:.4f}") for k, v in info["metrics"].items()},
    }
    journal.record(
        uow,
        who=journal.by(actor),
        crossing="",
        action="risk_model.trained",
        subject=f"risk_model:{version}",
        payload=payload,
    )
    uow.commit()
    return payload


def _cut_day(labeled: Sequence[RiskRecord]) -> date:
    """The first day of the validation window: the newest VALID_SHARE of outcomes."""
    index = min(len(labeled) - 1, max(1, int(len(labeled) * (1 - VALID_SHARE))))
    cut = labeled[index].day
    if cut == labeled[0].day:  # everything on one day: no chronological split is possible
        raise ValidationFailed("inspection outcomes span a single day: cannot hold out newer ones")
    return cut


def select(
    uow: UnitOfWork,
    decl: Declaration,
    decision: LaneDecision,
    customs_value_iqd: Decimal,
    rng: random.Random | None = None,
) -> tuple[LaneDecision, Scored]:
    """Score a declaration at its first lane selection; red when it reaches the day's threshold.

    The rules and the random control have decided already; the score can only make the lane
    stricter. Without a usable model the rules' lane stands and the reason says why. ``rng``
    draws a red declaration's inspector (the system's unpredictable draw when None).
    """
    scored = score_declaration(uow, decl, customs_value_iqd=customs_value_iqd)
    if scored.score is None:
        note = f"risk score unavailable ({scored.fallback}): lane from the rules"
        if decision.score_weights:
            note += "; rule score weights wait for a model"
        decision = replace(decision, reasons=[*decision.reasons, note])
        return _assigned(uow, decl, decision, scored, rng)
    score = with_rule_weights(scored.score, decision.score_weights)
    scored = replace(scored, score=score)
    assert decl.acceptance_date is not None
    target = target_red_share(uow, decl.crossing_code, decl.acceptance_date)
    threshold = (
        uow.risk.score_threshold(
            decl.crossing_code, decl.acceptance_date, score.model_version, target
        )
        if target is not None
        else None
    )
    decided = apply_score(
        decision,
        score=score.value,
        model_version=score.model_version,
        threshold=threshold,
        target_share=target,
    )
    return _assigned(uow, decl, decided, scored, rng)


def _assigned(
    uow: UnitOfWork,
    decl: Declaration,
    decision: LaneDecision,
    scored: Scored,
    rng: random.Random | None,
) -> tuple[LaneDecision, Scored]:
    """A red decision gets its inspector drawn now (stored with the score)."""
    if decision.lane is not Lane.RED:
        return decision, scored
    drawn = risk_assignment.draw_inspector(uow, decl, rng)
    return decision, replace(scored, assignment=drawn)


def target_red_share(uow: UnitOfWork, crossing_code: str, day: date) -> Decimal | None:
    """The crossing's own target share of red by score, else the national one, else None."""
    params = uow.reference.parameters()
    for name in (f"{TARGET_RED_SHARE}.{crossing_code}", TARGET_RED_SHARE):
        try:
            return params.get(name, day).value
        except NoRateInForce:
            continue
    return None
