"""What the use cases write to the audit log: one entry per recorded change, same transaction.

Actions are ``<area>.<verb>``; a declaration's entries are one per lifecycle transition
(``declaration.<action>``) plus ``declaration.created``, with the values that matter for the
audit in the payload (content, totals, lane and draw, check result).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from manafidh.domain.declarations.model import Declaration
from manafidh.domain.declarations.states import Action
from manafidh.domain.identity import User
from manafidh.services.ports import UnitOfWork

SYSTEM = "system"
BANK = "bank"
OPERATOR = ("cli", "operator")  # the command line, run by the deployment's operator

Details = Mapping[Action, Mapping[str, Any]]


def by(user: User | None) -> tuple[str, str]:
    """(actor, role) of a user, or of the operator at the command line."""
    return (user.id, user.role.value) if user is not None else OPERATOR


def declaration_subject(declaration_id: str) -> str:
    """The audit subject of a declaration."""
    return f"declaration:{declaration_id}"


def record(
    uow: UnitOfWork,
    *,
    who: tuple[str, str],
    crossing: str,
    action: str,
    subject: str,
    payload: Mapping[str, Any],
) -> None:
    """Append one entry, stamped now."""
    actor, role = who
    uow.audit.append(
        at=uow.clock.now(),
        actor=actor,
        role=role,
        crossing=crossing,
        action=action,
        subject=subject,
        payload=payload,
    )


def steps(
    uow: UnitOfWork,
    decl: Declaration,
    *,
    since: int,
    user: User | None = None,
    details: Details | None = None,
) -> None:
    """One entry per transition the declaration recorded from position ``since`` on."""
    details = details or {}
    for tr in decl.transitions[since:]:
        if user is not None and tr.actor == user.id:
            role = user.role.value
        else:
            role = tr.actor if tr.actor in (SYSTEM, BANK) else "unknown"
        uow.audit.append(
            at=tr.at,
            actor=tr.actor,
            role=role,
            crossing=decl.crossing_code,
            action=f"declaration.{tr.action.value}",
            subject=declaration_subject(decl.id),
            payload={
                "reference": decl.reference,
                "from": tr.from_state.value,
                "to": tr.to_state.value,
                "reason": tr.reason,
                **details.get(tr.action, {}),
            },
        )
