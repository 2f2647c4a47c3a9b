"""The one place that wires adapters into services."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from sqlalchemy import Engine

from manafidh.adapters.db.engine import make_engine
from manafidh.adapters.db.uow import SqlUnitOfWork, UnitOfWorkFactory
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
    # Lane draws must be unpredictable in production (an officer must not be able to foresee
    # them); the simulator and tests pass a seeded Random instead.
    rng: random.Random = field(default_factory=random.SystemRandom)

    def uow(self, *, readonly: bool = False) -> SqlUnitOfWork:
        """A new unit of work."""
        return self.uow_factory(readonly=readonly)


def bootstrap(
    settings: Settings,
    *,
    clock: Clock | None = None,
    rng: random.Random | None = None,
    engine: Engine | None = None,
) -> Container:
    """Build the container for ``settings``."""
    engine = engine or make_engine(settings.database_url)
    clock = clock or SystemClock()
    return Container(
        settings=settings,
        engine=engine,
        clock=clock,
        hasher=Argon2PasswordHasher(fast_for_tests=settings.fast_password_hashing),
        uow_factory=UnitOfWorkFactory(engine, clock),
        rng=rng or random.SystemRandom(),
    )
