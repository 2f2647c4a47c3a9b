"""Shared pytest fixtures.

Sections: PostgreSQL cluster, database parametrisation. Add further fixtures in their own
section below; keep the database fixtures backend-neutral (they hand out URLs only).
"""

from __future__ import annotations

import os
import random
import shutil
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from hypothesis import settings as hypothesis_settings

from tests.pg_cluster import EXTERNAL_URL_ENV, PgCluster, find_pg_bin

# Speed is measured by the benchmarks, not by the tests: no per-example deadline, which on a
# busy 2-core machine failed correct properties at random.
hypothesis_settings.register_profile("manafidh", deadline=None)
hypothesis_settings.load_profile("manafidh")

if TYPE_CHECKING:
    from manafidh.bootstrap import Container
    from manafidh.domain.clock import FixedClock as FixedClockType
    from manafidh.domain.identity import User

# --------------------------------------------------------------------------------------------
# PostgreSQL cluster
# --------------------------------------------------------------------------------------------

PG_MISSING_MESSAGE = "PostgreSQL binaries not found: apt-get install postgresql"


def running_in_ci() -> bool:
    """Tell whether the suite runs in CI (env var ``CI`` set), where nothing may be skipped."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgCluster]:
    """Start one throwaway PostgreSQL cluster for the whole session (or use the env URL)."""
    if not os.environ.get(EXTERNAL_URL_ENV) and find_pg_bin() is None:
        if running_in_ci():
            pytest.fail(f"{PG_MISSING_MESSAGE} (CI must never skip PostgreSQL tests)")
        pytest.skip(PG_MISSING_MESSAGE)
    cluster = PgCluster()
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()


def new_database_name() -> str:
    """Return a fresh, unique PostgreSQL database name."""
    return f"t_{uuid.uuid4().hex[:12]}"


@pytest.fixture
def pg_database_url(pg_cluster: PgCluster) -> Iterator[str]:
    """Yield the URL of a fresh empty PostgreSQL database, dropped after the test."""
    name = new_database_name()
    pg_cluster.create_database(name)
    try:
        yield pg_cluster.url(name)
    finally:
        pg_cluster.drop_database(name)


# --------------------------------------------------------------------------------------------
# Database parametrisation
# --------------------------------------------------------------------------------------------

SQLITE = "sqlite"
POSTGRESQL = "postgresql"

#: Parameters for any fixture or test that must run on every supported database backend.
DB_BACKENDS = [
    pytest.param(SQLITE, id=SQLITE),
    pytest.param(POSTGRESQL, id=POSTGRESQL, marks=pytest.mark.postgres),
]


def sqlite_url(tmp_path: Path) -> str:
    """Return the URL of a SQLite file database inside ``tmp_path``."""
    return f"sqlite+pysqlite:///{tmp_path}/test.db"


@pytest.fixture(params=DB_BACKENDS)
def db_backend(request: pytest.FixtureRequest) -> str:
    """Name the database backend of the current parametrisation (``sqlite``/``postgresql``)."""
    backend: str = request.param
    return backend


@pytest.fixture
def database_url(db_backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Return the URL of a fresh empty database, once per backend."""
    if db_backend == POSTGRESQL:
        # Looked up lazily so that SQLite-only runs never start the cluster.
        url: str = request.getfixturevalue("pg_database_url")
        return url
    return sqlite_url(tmp_path)


# --------------------------------------------------------------------------------------------
# A ready Manafidh database: migrated and loaded with the shipped reference data
# --------------------------------------------------------------------------------------------
# Migrating and loading 7,000 HS lines takes a second; it is done once per backend into a
# template that every test copies (CREATE DATABASE ... TEMPLATE on PostgreSQL, a file copy on
# SQLite).

START = datetime(2026, 3, 15, 6, 0, tzinfo=UTC)  # 09:00 in Baghdad
PASSWORD = "correct horse battery"


def _prepare(url: str, key_file: Path | None = None) -> None:
    """Migrate ``url`` and load the shipped reference data (its audit entry signed by the key
    in ``key_file``, by default the one the settings name)."""
    from manafidh.adapters import audit_keys
    from manafidh.adapters.db.engine import make_engine
    from manafidh.adapters.db.migrate import upgrade
    from manafidh.adapters.db.uow import AuditSettings, SqlUnitOfWork
    from manafidh.adapters.reference_files import shipped_bundle
    from manafidh.config import Settings
    from manafidh.domain.clock import FixedClock
    from manafidh.services.reference import load_reference

    keys, _ = audit_keys.create(key_file or Settings().audit_key_file)
    engine = make_engine(url)
    upgrade(engine)
    with SqlUnitOfWork(engine, FixedClock(START), audit=AuditSettings(keys)) as uow:
        load_reference(uow=uow, bundle=shipped_bundle(), actor="tests")
    engine.dispose()


@pytest.fixture(scope="session")
def audit_key_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The test deployment's audit key (Ed25519 PEM), shared by the templates and containers."""
    from manafidh.adapters import audit_keys

    path = tmp_path_factory.mktemp("keys") / "audit-ed25519.pem"
    audit_keys.create(path)
    return path


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory, audit_key_file: Path) -> Path:
    """A migrated, loaded SQLite file to copy."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    _prepare(f"sqlite+pysqlite:///{path}", audit_key_file)
    return path


@pytest.fixture(scope="session")
def pg_template(pg_cluster: PgCluster, audit_key_file: Path) -> str:
    """A migrated, loaded PostgreSQL database to use as a template."""
    name = "manafidh_template"
    pg_cluster.drop_database(name)
    pg_cluster.create_database(name)
    _prepare(pg_cluster.url(name), audit_key_file)
    return name


@pytest.fixture
def ready_url(db_backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, migrated database with reference data, once per backend."""
    if db_backend == POSTGRESQL:
        cluster: PgCluster = request.getfixturevalue("pg_cluster")
        template: str = request.getfixturevalue("pg_template")
        name = new_database_name()
        cluster.create_database(name, template=template)
        try:
            yield cluster.url(name)
        finally:
            cluster.drop_database(name)
        return
    template_file: Path = request.getfixturevalue("sqlite_template")
    target = tmp_path / "manafidh.db"
    shutil.copyfile(template_file, target)
    yield f"sqlite+pysqlite:///{target}"


@pytest.fixture
def clock() -> FixedClockType:
    """A clock fixed at a weekday morning in Baghdad; tests move it."""
    from manafidh.domain.clock import FixedClock

    return FixedClock(START)


@pytest.fixture
def container(ready_url: str, clock: FixedClockType, audit_key_file: Path) -> Iterator[Container]:
    """The wired application on a ready database, with a fixed clock and seeded lane draws."""
    from manafidh.bootstrap import bootstrap
    from manafidh.config import Settings

    settings = Settings(
        database_url=ready_url, fast_password_hashing=True, audit_key_file=audit_key_file
    )
    c = bootstrap(settings, clock=clock, rng=random.Random(7))
    yield c
    c.engine.dispose()


@pytest.fixture
def make_user(container: Container) -> Callable[..., User]:
    """Create a user: ``make_user("officer", crossings=["SHL"])``."""
    from manafidh.domain.identity import Role
    from manafidh.services.identity import create_user

    counter = iter(range(1, 10_000))

    def make(role: str, *, crossings: list[str] | None = None, username: str | None = None) -> User:
        name = username or f"{role}{next(counter)}"
        with container.uow() as uow:
            return create_user(
                uow=uow,
                hasher=container.hasher,
                actor=None,
                username=name,
                full_name=name.title(),
                role=Role(role),
                password=PASSWORD,
                crossings=crossings or [],
            )

    return make
