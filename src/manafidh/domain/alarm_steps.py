"""An alarm's lifecycle: open -> acknowledged -> resolved, each step with who, when and why.

Escalation to headquarters is a step too (it does not change the state): a critical alarm still
unresolved after a dated number of minutes is escalated once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from manafidh.domain.alarms import Alarm, Severity
from manafidh.domain.errors import Conflict, ValidationFailed


class Step(StrEnum):
    """What happened to an alarm."""

    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"
    ESCALATED = "escalated"


HEADQUARTERS = "headquarters"


@dataclass(frozen=True)
class AlarmStep:
    """One step of an alarm's life."""

    alarm_id: str
    step: Step
    at: datetime
    actor: str
    reason: str


def take_step(alarm: Alarm, step: Step, *, at: datetime, actor: str, reason: str) -> AlarmStep:
    """Move ``alarm`` by a supervisor's ``step``; refuses a step its state does not allow."""
    if not reason.strip():
        raise ValidationFailed(f"an alarm {step.value} needs a reason", field="reason")
    if alarm.state == Step.RESOLVED.value:
        raise Conflict(f"alarm {alarm.id} is already resolved", alarm=alarm.id)
    if step is Step.ACKNOWLEDGED and alarm.state != "open":
        raise Conflict(f"alarm {alarm.id} is already {alarm.state}", alarm=alarm.id)
    if step is Step.ESCALATED:
        raise ValidationFailed("escalation is decided by the rules, not by hand", field="step")
    alarm.state = step.value
    return AlarmStep(alarm.id, step, at, actor, reason)


def escalation_due(alarm: Alarm, *, now: datetime, after: timedelta, escalated: bool) -> bool:
    """True when a critical alarm has stayed unresolved for ``after`` and is not escalated."""
    return (
        alarm.severity is Severity.CRITICAL
        and alarm.state != Step.RESOLVED.value
        and not escalated
        and now - alarm.raised_at >= after
    )
