"""The one place that wires adapters into services."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from sqlalchemy import Engine

from manafidh.adapters import audit_keys
from manafidh.adapters.audit_keys import Ed25519AuditKeys
from manafidh.adapters.db.engine import make_engine
from manafidh.adapters.db.uow import AuditSettings, SqlUnitOfWork, UnitOfWorkFactory
from manafidh.adapters.evidence_files import FileEvidenceStore
from manafidh.adapters.passwords import Argon2PasswordHasher
from manafidh.config import Settings
from manafidh.domain.clock import Clock, SystemClock


@dataclass
class Container:
    """Everything a request handler or command needs."""

    settings: Settings
    engine: Engine
    clock: Clock
    hasher: Argon2PasswordHasher
    uow_factory: UnitOfWorkFactory
    audit_keys: Ed25519AuditKeys
    # Lane draws must be unpredictable in production (an officer must not be able to foresee
    # them); the simulator and tests pass a seeded Random instead.
    rng: random.Random = field(default_factory=random.SystemRandom)

    def uow(self, *, readonly: bool = False) -> SqlUnitOfWork:
        """A new unit of work."""
        return self.uow_factory(readonly=readonly)

    def evidence(self) -> FileEvidenceStore:
        """The store of inspection photos under the configured evidence directory."""
        return FileEvidenceStore(self.settings.evidence_dir)


def bootstrap(
    settings: Settings,
    *,
    clock: Clock | None = None,
    rng: random.Random | None = None,
    engine: Engine | None = None,
    keys: Ed25519AuditKeys | None = None,
) -> Container:
    """Build the container for ``settings`` (creating the audit key file when it is missing)."""
    engine = engine or make_engine(settings.database_url)
    clock = clock or SystemClock()
    keys = keys or audit_keys.create(settings.audit_key_file)[0]
    audit = AuditSettings(
        keys=keys,
        checkpoint_every=settings.audit_checkpoint_every,
        checkpoint_minutes=settings.audit_checkpoint_minutes,
    )
    return Container(
        settings=settings,
        engine=engine,
        clock=clock,
        hasher=Argon2PasswordHasher(fast_for_tests=settings.fast_password_hashing),
        uow_factory=UnitOfWorkFactory(engine, clock, audit),
        audit_keys=keys,
        rng=rng or random.SystemRandom(),
    )
