"""The exit gate: a truck leaves only with a released declaration."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

_PLATE_NOISE = re.compile(r"[\s\-_.·]+")


def normalise_plate(plate: str) -> str:
    """Canonical form of a number plate for matching (upper case, no spaces or dashes)."""
    return _PLATE_NOISE.sub("", plate).upper()


@dataclass
class ExitRecord:
    """A truck at the exit gate, let out or refused."""

    id: str
    crossing_code: str
    plate: str
    declaration_id: str | None
    at: datetime
    actor: str
    allowed: bool
    reason: str
