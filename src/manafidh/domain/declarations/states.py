"""The clearance lifecycle as an explicit state machine."""

from __future__ import annotations

from enum import StrEnum


class State(StrEnum):
    """Where a declaration stands between lodging and the truck leaving the crossing."""

    DRAFT = "draft"
    LODGED = "lodged"
    ASSESSED = "assessed"
    LANE_SELECTED = "lane_selected"
    INSPECTED = "inspected"
    PAID = "paid"
    RELEASED = "released"
    EXITED = "exited"
    HELD = "held"
    CANCELLED = "cancelled"


class Action(StrEnum):
    """What moves a declaration from one state to another."""

    LODGE = "lodge"
    ASSESS = "assess"
    SELECT_LANE = "select_lane"
    COMPLETE_CHECKS = "complete_checks"
    SETTLE_PAYMENT = "settle_payment"
    RELEASE = "release"
    EXIT = "exit"
    HOLD = "hold"
    UNHOLD = "unhold"
    CANCEL = "cancel"
    AMEND = "amend"
    DISMISS_FINDING = "dismiss_finding"


S, A = State, Action

# (from state, action) -> to state. HOLD and UNHOLD are handled apart: a hold remembers the
# state it interrupted and returns there.
TRANSITIONS: dict[tuple[State, Action], State] = {
    (S.DRAFT, A.LODGE): S.LODGED,
    (S.DRAFT, A.AMEND): S.DRAFT,
    (S.DRAFT, A.CANCEL): S.CANCELLED,
    (S.LODGED, A.ASSESS): S.ASSESSED,
    (S.LODGED, A.CANCEL): S.CANCELLED,
    (S.ASSESSED, A.SELECT_LANE): S.LANE_SELECTED,
    (S.ASSESSED, A.CANCEL): S.CANCELLED,
    (S.LANE_SELECTED, A.COMPLETE_CHECKS): S.INSPECTED,
    (S.LANE_SELECTED, A.SETTLE_PAYMENT): S.PAID,
    (S.INSPECTED, A.SETTLE_PAYMENT): S.PAID,
    (S.PAID, A.RELEASE): S.RELEASED,
    (S.RELEASED, A.EXIT): S.EXITED,
}

# An amendment after lodging makes a new version and sends the declaration back for
# assessment; it is allowed until money has been settled.
AMENDABLE = frozenset({S.DRAFT, S.LODGED, S.ASSESSED, S.LANE_SELECTED, S.INSPECTED})
HOLDABLE = frozenset({S.LODGED, S.ASSESSED, S.LANE_SELECTED, S.INSPECTED, S.PAID, S.RELEASED})
TERMINAL = frozenset({S.EXITED, S.CANCELLED})


def next_state(current: State, action: Action) -> State | None:
    """The state ``action`` leads to from ``current``, or None when it is not allowed."""
    return TRANSITIONS.get((current, action))
