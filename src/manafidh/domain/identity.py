"""Users, roles and what each role may do, scoped to crossings."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from manafidh.domain.errors import Forbidden


class Role(StrEnum):
    """The people (and systems) that use Manafidh."""

    TRADER = "trader"  # trader or customs broker
    OFFICER = "officer"
    INSPECTOR = "inspector"
    SUPERVISOR = "supervisor"
    ANALYST = "analyst"
    AUDITOR = "auditor"
    ADMIN = "admin"
    FINANCE = "finance"  # revenue accounting: bank statements and their exceptions


class Permission(StrEnum):
    """Things a user may do; each service checks the one it needs."""

    LODGE = "lodge"  # create, amend, lodge, cancel own declarations
    READ_OWN = "read_own"  # read own declarations
    READ_CROSSING = "read_crossing"  # read every declaration of one's crossings
    READ_ALL = "read_all"  # read every declaration everywhere
    CHECK_DOCUMENTS = "check_documents"
    INSPECT = "inspect"
    RELEASE = "release"
    RECORD_EXIT = "record_exit"
    HOLD = "hold"
    MANAGE_USERS = "manage_users"
    MANAGE_REFERENCE = "manage_reference"
    READ_AUDIT = "read_audit"  # the audit log, its tree heads and proofs
    MANAGE_EXEMPTIONS = "manage_exemptions"  # grant, suspend, revoke, reinstate exemptions
    READ_REVENUE = "read_revenue"  # the revenue ledger, reconciliation and revenue reports
    RECONCILE = "reconcile"  # import bank statements, work the exceptions queue


P = Permission
ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.TRADER: frozenset({P.LODGE, P.READ_OWN}),
    Role.OFFICER: frozenset({P.READ_CROSSING, P.CHECK_DOCUMENTS, P.RELEASE, P.RECORD_EXIT}),
    Role.INSPECTOR: frozenset({P.READ_CROSSING, P.INSPECT}),
    Role.SUPERVISOR: frozenset(
        {P.READ_CROSSING, P.CHECK_DOCUMENTS, P.RELEASE, P.RECORD_EXIT, P.HOLD}
    ),
    Role.ANALYST: frozenset({P.READ_ALL, P.READ_REVENUE}),
    Role.AUDITOR: frozenset({P.READ_ALL, P.READ_AUDIT, P.READ_REVENUE}),
    Role.ADMIN: frozenset(
        {P.MANAGE_USERS, P.MANAGE_REFERENCE, P.READ_ALL, P.READ_AUDIT, P.MANAGE_EXEMPTIONS}
    ),
    Role.FINANCE: frozenset({P.READ_ALL, P.READ_REVENUE, P.RECONCILE}),
}

# Roles whose work happens at a crossing: they act only at the crossings they are posted to.
CROSSING_SCOPED = frozenset({Role.OFFICER, Role.INSPECTOR, Role.SUPERVISOR})


@dataclass
class User:
    """A person or system account with one role."""

    id: str
    username: str
    full_name: str
    role: Role
    password_hash: str
    crossings: list[str] = field(default_factory=list)
    active: bool = True
    tax_id: str | None = None

    def can(self, permission: Permission) -> bool:
        """True when the user's role grants ``permission``."""
        return self.active and permission in ROLE_PERMISSIONS[self.role]

    def require(self, permission: Permission, crossing_code: str | None = None) -> None:
        """Raise Forbidden unless the user may do ``permission`` (at ``crossing_code``)."""
        if not self.can(permission):
            raise Forbidden(
                f"role {self.role.value} may not {permission.value.replace('_', ' ')}",
                permission=permission.value,
            )
        if crossing_code is not None and not self.works_at(crossing_code):
            raise Forbidden(
                f"{self.username} is not posted at crossing {crossing_code}",
                crossing=crossing_code,
            )

    def works_at(self, crossing_code: str) -> bool:
        """True unless the role is crossing-scoped and the user is not posted there."""
        return self.role not in CROSSING_SCOPED or crossing_code in self.crossings


@dataclass
class ApiToken:
    """A bearer credential (API token or web session); only its SHA-256 digest is stored."""

    id: str
    user_id: str
    kind: str  # "api" or "session"
    token_hash: str
    name: str
    created_at: datetime
    expires_at: datetime | None = None
    revoked: bool = False
