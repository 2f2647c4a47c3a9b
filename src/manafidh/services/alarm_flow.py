"""Supervisors acknowledge and resolve alarms; critical ones left unresolved escalate."""

from __future__ import annotations

from datetime import timedelta

from manafidh.domain.alarm_steps import HEADQUARTERS, AlarmStep, Step, escalation_due, take_step
from manafidh.domain.alarms import Alarm
from manafidh.domain.devices.visits import ESCALATE_CRITICAL_AFTER
from manafidh.domain.errors import NotFound
from manafidh.domain.identity import Permission, User
from manafidh.services import journal
from manafidh.services.ports import UnitOfWork


def _alarm(uow: UnitOfWork, actor: User, alarm_id: str) -> Alarm:
    alarm = uow.gate_control.alarm(alarm_id)
    if alarm is None or not actor.works_at(alarm.crossing_code):
        raise NotFound(f"no alarm {alarm_id}", alarm=alarm_id)
    # Only supervisors act on alarms (the permission to hold goods is theirs alone).
    actor.require(Permission.HOLD, alarm.crossing_code)
    return alarm


def _step(uow: UnitOfWork, actor: User, alarm_id: str, step: Step, reason: str) -> Alarm:
    alarm = _alarm(uow, actor, alarm_id)
    done = take_step(alarm, step, at=uow.clock.now(), actor=actor.id, reason=reason)
    uow.gate_control.add_step(done, alarm.state)
    journal.record(
        uow,
        who=journal.by(actor),
        crossing=alarm.crossing_code,
        action=f"alarm.{step.value}",
        subject=f"alarm:{alarm.id}",
        payload={"reason": reason, "kind": alarm.kind.value},
    )
    uow.commit()
    return alarm


def acknowledge_alarm(*, uow: UnitOfWork, actor: User, alarm_id: str, reason: str) -> Alarm:
    """A supervisor takes charge of an alarm."""
    return _step(uow, actor, alarm_id, Step.ACKNOWLEDGED, reason)


def resolve_alarm(*, uow: UnitOfWork, actor: User, alarm_id: str, reason: str) -> Alarm:
    """A supervisor closes an alarm, saying what was found and done."""
    return _step(uow, actor, alarm_id, Step.RESOLVED, reason)


def alarm_steps(*, uow: UnitOfWork, actor: User, alarm_id: str) -> list[AlarmStep]:
    """The history of an alarm."""
    _alarm(uow, actor, alarm_id)
    return uow.gate_control.steps(alarm_id)


def escalate_overdue(*, uow: UnitOfWork) -> list[Alarm]:
    """Escalate to headquarters every critical alarm unresolved for longer than the parameter."""
    now = uow.clock.now()
    minutes = uow.reference.parameters().get(ESCALATE_CRITICAL_AFTER, now.date()).value
    after = timedelta(minutes=int(minutes))
    due = [
        a
        for a in uow.gate_control.unescalated_critical(now - after)
        if escalation_due(a, now=now, after=after, escalated=False)
    ]
    for alarm in due:
        reason = f"critical alarm unresolved after {int(minutes)} minutes"
        uow.gate_control.add_step(
            AlarmStep(alarm.id, Step.ESCALATED, now, journal.SYSTEM, reason), alarm.state
        )
        journal.record(
            uow,
            who=(journal.SYSTEM, journal.SYSTEM),
            crossing=alarm.crossing_code,
            action="alarm.escalated",
            subject=f"alarm:{alarm.id}",
            payload={"to": HEADQUARTERS, "reason": reason, "kind": alarm.kind.value},
        )
    if due:
        uow.commit()
    return due
