"""Lane rules as effective-dated data: add, end, list, and try against history first."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from manafidh.domain.clock import IRAQ_TZ, local_date
from manafidh.domain.errors import NotFound, ValidationFailed
from manafidh.domain.identity import Permission, User
from manafidh.domain.risk.backtest import BacktestResult, PastCase, backtest
from manafidh.domain.risk.lanes import LaneRule
from manafidh.services import journal, risk_facts
from manafidh.services.ports import UnitOfWork


def _require(actor: User | None, permission: Permission) -> None:
    if actor is not None:
        actor.require(permission)


def _rule_payload(rule: LaneRule) -> dict[str, object]:
    return {k: v for k, v in vars(rule).items() if v is not None}


def add_rule(*, uow: UnitOfWork, actor: User | None, rule: LaneRule, reason: str) -> LaneRule:
    """Add a lane rule from its ``valid_from`` on; a rule never applies retroactively."""
    _require(actor, Permission.MANAGE_REFERENCE)
    if not reason.strip():
        raise ValidationFailed("say why the rule is added", field="reason")
    today = local_date(uow.clock.now())
    if rule.valid_from < today:
        raise ValidationFailed(
            "a rule cannot start in the past: lanes already chosen stay as they were",
            field="valid_from",
            today=today.isoformat(),
        )
    if rule.valid_to is not None and rule.valid_to < rule.valid_from:
        raise ValidationFailed("valid_to is before valid_from", field="valid_to")
    who = journal.by(actor)
    rule_id = uow.reference.add_lane_rule(rule, actor=who[0], reason=reason, at=uow.clock.now())
    added = replace(rule, id=rule_id)
    journal.record(
        uow,
        who=who,
        crossing=rule.crossing_code or "",
        action="lane_rule.added",
        subject=f"lane_rule:{rule_id}",
        payload={**_rule_payload(added), "reason": reason},
    )
    uow.commit()
    return added


def end_rule(
    *, uow: UnitOfWork, actor: User | None, rule_id: int, last_day: date, reason: str
) -> LaneRule:
    """End a rule after ``last_day`` (its history stays; lanes chosen under it are unchanged)."""
    _require(actor, Permission.MANAGE_REFERENCE)
    if not reason.strip():
        raise ValidationFailed("say why the rule is ended", field="reason")
    rule = next((r for r in uow.reference.lane_rules() if r.id == rule_id), None)
    if rule is None:
        raise NotFound(f"no lane rule {rule_id}", rule_id=rule_id)
    today = local_date(uow.clock.now())
    if last_day < today - timedelta(days=1):
        raise ValidationFailed("a rule cannot be ended in the past", field="last_day")
    if last_day < rule.valid_from - timedelta(days=1):
        raise ValidationFailed("last_day is before the rule starts", field="last_day")
    if rule.valid_to is not None and rule.valid_to <= last_day:
        raise ValidationFailed("the rule already ends by then", field="last_day")
    uow.risk.end_lane_rule(rule_id, last_day)
    journal.record(
        uow,
        who=journal.by(actor),
        crossing=rule.crossing_code or "",
        action="lane_rule.ended",
        subject=f"lane_rule:{rule_id}",
        payload={"rule_id": rule_id, "last_day": last_day, "reason": reason},
    )
    uow.commit()
    return replace(rule, valid_to=last_day)


def backtest_rule(
    *, uow: UnitOfWork, actor: User | None, rule: LaneRule, since: date, until: date
) -> BacktestResult:
    """How many declarations laned from ``since`` to ``until`` the rule would have hit."""
    _require(actor, Permission.READ_ALL)
    if until < since:
        raise ValidationFailed("until is before since", field="until")
    start = datetime.combine(since, time(), IRAQ_TZ)
    end = datetime.combine(until + timedelta(days=1), time(), IRAQ_TZ)
    cases = []
    for decl_id, inspected, found in uow.risk.past_outcomes(start, end):
        decl = uow.declarations.get(decl_id)
        if decl is None or decl.lodged_at is None or decl.acceptance_date is None:
            continue
        lodged = decl.lodged_at
        # The content as lodged: an amendment after a finding must not help the rule look good.
        as_lodged = [v for v in decl.versions if v.created_at <= lodged] or decl.versions[:1]
        assessment = uow.declarations.latest_assessment(decl_id)
        value = assessment.customs_value_iqd if assessment else Decimal(0)
        cases.append(
            PastCase(
                decl_id,
                as_lodged[-1].content,
                decl.crossing_code,
                value,
                decl.acceptance_date,
                inspected,
                found,
                risk_facts.past_facts(uow, decl, rule),
            )
        )
    return backtest(rule, cases)
