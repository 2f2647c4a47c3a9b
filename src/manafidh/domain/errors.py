"""Typed domain errors, each with a stable machine-readable code."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base of every rule violation; the web layer maps ``kind`` to an HTTP status."""

    code = "domain_error"
    kind = "invalid"  # one of: invalid, not_found, conflict, forbidden, unauthenticated

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class ValidationFailed(DomainError):
    """Input that breaks a rule of customs data (unknown HS code, negative mass, ...)."""

    code = "validation_failed"
    kind = "invalid"


class NotFound(DomainError):
    """The named record does not exist (or the caller may not know it exists)."""

    code = "not_found"
    kind = "not_found"


class IllegalTransition(DomainError):
    """A declaration was asked to move to a state its lifecycle does not allow."""

    code = "illegal_transition"
    kind = "conflict"


class Conflict(DomainError):
    """The request clashes with the current state of a record."""

    code = "conflict"
    kind = "conflict"


class NoRateInForce(DomainError):
    """No tariff rate, exchange rate or parameter is valid on the date asked for."""

    code = "no_rate_in_force"
    kind = "invalid"


class Forbidden(DomainError):
    """The actor's role or crossing does not allow the action."""

    code = "forbidden"
    kind = "forbidden"


class Unauthenticated(DomainError):
    """No valid credentials were given."""

    code = "unauthenticated"
    kind = "unauthenticated"


class ExitWithoutRelease(DomainError):
    """A truck tried to leave with no released declaration; an alarm is recorded."""

    code = "exit_without_release"
    kind = "conflict"


class BadSignature(DomainError):
    """A signed message (bank confirmation, device event) failed verification."""

    code = "bad_signature"
    kind = "unauthenticated"
