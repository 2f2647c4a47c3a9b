"""Users, sign-in and bearer tokens."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta

from manafidh.domain.audit.payloads import access_payload
from manafidh.domain.errors import (
    Conflict,
    Forbidden,
    NotFound,
    Unauthenticated,
    ValidationFailed,
)
from manafidh.domain.identity import CROSSING_SCOPED, ApiToken, Permission, Role, User
from manafidh.services import journal
from manafidh.services.ports import PasswordHasher, UnitOfWork

SESSION_LIFETIME = timedelta(hours=12)
MIN_PASSWORD = 10


def token_digest(token: str) -> str:
    """SHA-256 of a bearer token: the database never holds a usable token."""
    return hashlib.sha256(token.encode()).hexdigest()


def create_user(
    *,
    uow: UnitOfWork,
    hasher: PasswordHasher,
    actor: User | None,
    username: str,
    full_name: str,
    role: Role,
    password: str,
    crossings: list[str],
    tax_id: str | None = None,
) -> User:
    """Create a user; ``actor`` None means the command line run by the operator."""
    if actor is not None:
        actor.require(Permission.MANAGE_USERS)
    username = username.strip().lower()
    if not username or not username.replace(".", "").replace("_", "").replace("-", "").isalnum():
        raise ValidationFailed("username: letters, digits, '.', '_' and '-' only", field="username")
    if len(password) < MIN_PASSWORD:
        raise ValidationFailed(
            f"password must have at least {MIN_PASSWORD} characters", field="password"
        )
    if role in CROSSING_SCOPED and not crossings:
        raise ValidationFailed(f"a {role.value} must be posted to a crossing", field="crossings")
    for code in crossings:
        if uow.reference.crossing(code) is None:
            raise ValidationFailed(f"unknown crossing {code}", field="crossings")
    if uow.users.by_username(username) is not None:
        raise Conflict(f"user {username} already exists", username=username)
    user = User(
        id=uuid.uuid4().hex,
        username=username,
        full_name=full_name,
        role=role,
        password_hash=hasher.hash(password),
        crossings=sorted(set(crossings)),
        tax_id=tax_id,
    )
    uow.users.add(user, uow.clock.now())
    journal.record(
        uow,
        who=journal.by(actor),
        crossing="",
        action="user.created",
        subject=f"user:{user.id}",
        payload={
            "username": user.username,
            "full_name": user.full_name,
            "tax_id": user.tax_id,
            **access_payload(user),
        },
    )
    uow.commit()
    return user


def change_user(
    *,
    uow: UnitOfWork,
    actor: User | None,
    username: str,
    reason: str,
    role: Role | None = None,
    crossings: list[str] | None = None,
    active: bool | None = None,
) -> User:
    """Change a user's role, crossings or whether the account is active, saying why.

    The change takes effect on the user's next request (every request reads the user afresh);
    deactivating an account also revokes its sessions and tokens.
    """
    if actor is not None:
        actor.require(Permission.MANAGE_USERS)
    if not reason.strip():
        raise ValidationFailed("say why the user is changed", field="reason")
    user = uow.users.by_username(username.strip().lower())
    if user is None:
        raise NotFound(f"no user {username}", username=username)
    if actor is not None and actor.id == user.id:
        raise Forbidden("administrators may not change their own access")
    before = access_payload(user)
    if role is not None:
        user.role = role
    if crossings is not None:
        for code in crossings:
            if uow.reference.crossing(code) is None:
                raise ValidationFailed(f"unknown crossing {code}", field="crossings")
        user.crossings = sorted(set(crossings))
    if active is not None:
        user.active = active
    if user.role in CROSSING_SCOPED and not user.crossings:
        raise ValidationFailed(
            f"a {user.role.value} must be posted to a crossing", field="crossings"
        )
    after = access_payload(user)
    if after == before:
        raise ValidationFailed("nothing to change", field="user")
    uow.users.save(user)
    revoked = uow.users.revoke_tokens_of(user.id) if not user.active else 0
    journal.record(
        uow,
        who=journal.by(actor),
        crossing="",
        action="user.changed",
        subject=f"user:{user.id}",
        payload={
            "username": user.username,
            "reason": reason.strip(),
            "before": before,
            "tokens_revoked": revoked,
            **after,
        },
    )
    uow.commit()
    return user


@dataclass(frozen=True)
class IssuedToken:
    """A freshly issued bearer token: shown once, stored only as a digest."""

    token: str
    user: User


def sign_in(
    *, uow: UnitOfWork, hasher: PasswordHasher, username: str, password: str, kind: str = "session"
) -> IssuedToken:
    """Check a password and issue a session (12 h) or API token (no expiry)."""
    user = uow.users.by_username(username.strip().lower())
    # Verify against a dummy hash when the user is unknown, so timing does not reveal names.
    ok = hasher.verify(user.password_hash if user else _DUMMY.get(hasher), password)
    if user is None or not ok or not user.active:
        raise Unauthenticated("wrong username or password")
    return _issue(uow, user, kind=kind, name=f"{kind} sign-in", who=journal.by(user))


def issue_api_token(
    *, uow: UnitOfWork, user: User, name: str, actor: User | None = None
) -> IssuedToken:
    """Issue a long-lived API token for a system account (``actor`` None: the operator)."""
    return _issue(uow, user, kind="api", name=name, who=journal.by(actor))


def _issue(
    uow: UnitOfWork, user: User, *, kind: str, name: str, who: tuple[str, str]
) -> IssuedToken:
    token = secrets.token_urlsafe(32)
    now = uow.clock.now()
    record = ApiToken(
        id=uuid.uuid4().hex,
        user_id=user.id,
        kind=kind,
        token_hash=token_digest(token),
        name=name,
        created_at=now,
        expires_at=now + SESSION_LIFETIME if kind == "session" else None,
    )
    uow.users.add_token(record)
    journal.record(
        uow,
        who=who,
        crossing="",
        action="token.issued",
        subject=f"user:{user.id}",
        payload={
            "token_id": record.id,
            "kind": kind,
            "name": name,
            "expires_at": record.expires_at,
        },
    )
    uow.commit()
    return IssuedToken(token, user)


def authenticate(*, uow: UnitOfWork, token: str) -> User:
    """The active user behind a bearer token, or Unauthenticated."""
    found = uow.users.token_holder(token_digest(token))
    if found is None or found[0].revoked:
        raise Unauthenticated("invalid or revoked token")
    record, user = found
    if record.expires_at is not None and record.expires_at <= uow.clock.now():
        raise Unauthenticated("session expired: sign in again")
    if not user.active:
        raise Unauthenticated("account disabled")
    return user


def sign_out(*, uow: UnitOfWork, token: str) -> None:
    """Revoke a session token."""
    record = uow.users.token(token_digest(token))
    uow.users.revoke_token(token_digest(token))
    if record is not None and not record.revoked:
        owner = uow.users.get(record.user_id)
        journal.record(
            uow,
            who=journal.by(owner) if owner else ("unknown", "unknown"),
            crossing="",
            action="token.revoked",
            subject=f"user:{record.user_id}",
            payload={"token_id": record.id, "kind": record.kind},
        )
    uow.commit()


class _DummyHashes:
    """One hash per hasher of a random password, for constant-time failures."""

    def __init__(self) -> None:
        self._hashes: dict[int, str] = {}

    def get(self, hasher: PasswordHasher) -> str:
        key = id(hasher)
        if key not in self._hashes:
            self._hashes[key] = hasher.hash(secrets.token_hex(16))
        return self._hashes[key]


_DUMMY = _DummyHashes()
