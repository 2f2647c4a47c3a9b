"""Alarms raised for supervisors: exit without release, weight mismatch, ..."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class Severity(StrEnum):
    """How urgently a supervisor must act."""

    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


class AlarmKind(StrEnum):
    """What went wrong."""

    EXIT_WITHOUT_RELEASE = "exit_without_release"
    WEIGHT_MISMATCH = "weight_mismatch"


@dataclass
class Alarm:
    """An event a supervisor must see and act on."""

    id: str
    crossing_code: str
    kind: AlarmKind
    severity: Severity
    raised_at: datetime
    subject: str
    message: str
    details: dict[str, Any] = field(default_factory=dict)
    state: str = "open"
