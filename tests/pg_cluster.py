"""A throwaway PostgreSQL cluster for the test suite.

PostgreSQL binaries refuse to run as root, and CI runs as root: in that case the cluster's
directory belongs to the ``postgres`` user and ``initdb``/``pg_ctl`` run through
``runuser -u postgres --``. Set ``MANAFIDH_TEST_PG_URL`` (a server URL such as
``postgresql+psycopg://user@host:5432/``) to use an existing server instead of starting one.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import pwd
import re
import shutil
import socket
import stat
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo
from psycopg.rows import TupleRow
from sqlalchemy.engine import URL, make_url

EXTERNAL_URL_ENV = "MANAFIDH_TEST_PG_URL"
EXTRA_OPTIONS_ENV = "MANAFIDH_TEST_PG_OPTIONS"
DIR_PREFIX = "manafidh-pg-"
OWNER_FILE = "owner.pid"
START_ATTEMPTS = 3
START_TIMEOUT_S = 60
LOG_TAIL_LINES = 40

_PG_BIN_ROOT = Path("/usr/lib/postgresql")
_DBNAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


class PgClusterError(RuntimeError):
    """The test cluster could not be created, started or used."""


def _version_key(path: Path) -> tuple[int, ...]:
    """Sort key for a ``/usr/lib/postgresql/<version>`` directory."""
    return tuple(int(part) for part in re.findall(r"\d+", path.name)) or (0,)


def find_pg_bin() -> Path | None:
    """Return the directory holding ``initdb`` and ``pg_ctl`` (newest version), or None."""
    if _PG_BIN_ROOT.is_dir():
        for version_dir in sorted(_PG_BIN_ROOT.iterdir(), key=_version_key, reverse=True):
            bin_dir = version_dir / "bin"
            if (bin_dir / "initdb").is_file() and (bin_dir / "pg_ctl").is_file():
                return bin_dir
    initdb = shutil.which("initdb")
    if initdb is not None:
        bin_dir = Path(initdb).resolve().parent
        if (bin_dir / "pg_ctl").is_file():
            return bin_dir
    return None


def _free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _pid_alive(pid: int) -> bool:
    """Tell whether a process with this pid exists."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    """Return the last lines of a text file, or a note when it cannot be read."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        return f"(no log: {exc})"
    return "\n".join(text.splitlines()[-lines:])


def _check_dbname(name: str) -> None:
    """Refuse database names that are not plain identifiers."""
    if not _DBNAME_RE.match(name):
        raise ValueError(f"not a plain database name: {name!r}")


class PgCluster:
    """A PostgreSQL server for tests: a private throwaway cluster, or an external server."""

    def __init__(self, bin_dir: Path | None = None, external_url: str | None = None) -> None:
        """Prepare (but do not start) a cluster; ``external_url`` defaults to the env var."""
        if external_url is None:
            external_url = os.environ.get(EXTERNAL_URL_ENV) or None
        self.external_url: URL | None = make_url(external_url) if external_url else None
        self.bin_dir: Path | None = bin_dir
        self.base_dir: Path | None = None
        self.port: int | None = None
        self.start_seconds: float | None = None
        self._as_postgres = os.geteuid() == 0
        self._running = False

    # -- paths -----------------------------------------------------------------------------

    @property
    def data_dir(self) -> Path:
        """The cluster's data directory."""
        return self._base() / "data"

    @property
    def socket_dir(self) -> Path:
        """The directory holding the server's Unix socket."""
        return self._base() / "sock"

    @property
    def log_file(self) -> Path:
        """The server log."""
        return self._base() / "postgres.log"

    def _base(self) -> Path:
        """The temp dir of a started local cluster."""
        if self.base_dir is None:
            raise PgClusterError("the cluster has no directory: call start() first")
        return self.base_dir

    # -- lifecycle -------------------------------------------------------------------------

    @property
    def is_external(self) -> bool:
        """Tell whether an external server (MANAFIDH_TEST_PG_URL) is used."""
        return self.external_url is not None

    def start(self) -> None:
        """Start the cluster (or check the external server answers)."""
        if self._running:
            return
        began = time.monotonic()
        if self.external_url is not None:
            with self._admin_connection():
                pass
        else:
            self._start_local()
        self.start_seconds = time.monotonic() - began
        self._running = True

    def stop(self) -> None:
        """Stop the local cluster and remove its directory; idempotent."""
        self._running = False
        if self.base_dir is None:
            return
        base, self.base_dir = self.base_dir, None
        _stop_and_remove(base, self.bin_dir)

    def __enter__(self) -> PgCluster:
        """Start the cluster."""
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Stop the cluster."""
        self.stop()

    def _start_local(self) -> None:
        """Create a fresh cluster in a temp dir and start it on a free port."""
        if self.bin_dir is None:
            self.bin_dir = find_pg_bin()
        if self.bin_dir is None:
            raise PgClusterError("PostgreSQL binaries not found: apt-get install postgresql")
        parent = _temp_parent(self._as_postgres)
        cleanup_stale_clusters(parent, self.bin_dir)
        self.base_dir = Path(tempfile.mkdtemp(prefix=DIR_PREFIX, dir=parent))
        atexit.register(self.stop)
        (self.base_dir / OWNER_FILE).write_text(str(os.getpid()), encoding="ascii")
        self.socket_dir.mkdir()
        if self._as_postgres:
            pw = _postgres_user()
            for path in (self.base_dir, self.socket_dir):
                os.chown(path, pw.pw_uid, pw.pw_gid)
        try:
            self._initdb()
            self._pg_ctl_start()
        except BaseException:
            self.stop()
            raise

    def _initdb(self) -> None:
        """Run initdb, falling back to the C locale when C.UTF-8 is unavailable."""
        common = ["-D", str(self.data_dir), "-A", "trust", "-U", "postgres", "--no-sync"]
        common += ["-E", "UTF8"]
        result = self._run(["initdb", *common, "--locale=C.UTF-8"])
        if result.returncode != 0:
            shutil.rmtree(self.data_dir, ignore_errors=True)
            result = self._run(["initdb", *common, "--no-locale"])
        if result.returncode != 0:
            raise PgClusterError(f"initdb failed ({result.returncode}):\n{result.stdout}")

    def _pg_ctl_start(self) -> None:
        """Start the server, retrying on another port if the chosen one was taken."""
        output = ""
        for _attempt in range(START_ATTEMPTS):
            port = _free_port()
            options = " ".join(
                [
                    f"-p {port}",
                    f"-k {self.socket_dir}",
                    "-c listen_addresses=127.0.0.1",
                    "-c fsync=off",
                    "-c synchronous_commit=off",
                    "-c full_page_writes=off",
                    "-c max_connections=200",
                    # Extra server settings for profiling, e.g. loading pg_stat_statements.
                    os.environ.get(EXTRA_OPTIONS_ENV, ""),
                ]
            )
            result = self._run(
                [
                    *("pg_ctl", "start", "-w", "-t", str(START_TIMEOUT_S)),
                    *("-D", str(self.data_dir), "-l", str(self.log_file), "-o", options),
                ]
            )
            if result.returncode == 0:
                self.port = port
                return
            output = result.stdout
            # A server that half-started must not linger before the next attempt.
            self._run(["pg_ctl", "stop", "-m", "immediate", "-D", str(self.data_dir)])
        raise PgClusterError(
            f"pg_ctl start failed after {START_ATTEMPTS} attempts:\n{output}\n"
            f"--- tail of {self.log_file} ---\n{_tail(self.log_file)}"
        )

    def _run(self, argv: list[str]) -> subprocess.CompletedProcess[str]:
        """Run a PostgreSQL binary, as ``postgres`` when we are root."""
        return _run_pg(self.bin_dir, argv, cwd=self._base(), as_postgres=self._as_postgres)

    # -- databases -------------------------------------------------------------------------

    def url(self, dbname: str) -> str:
        """Return the SQLAlchemy URL of a database on this server."""
        if self.external_url is not None:
            url = self.external_url.set(drivername="postgresql+psycopg", database=dbname)
            return url.render_as_string(hide_password=False)
        if self.port is None:
            raise PgClusterError("the cluster is not started")
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{dbname}"

    def socket_url(self, dbname: str) -> str:
        """The URL of a database over the server's Unix socket (TCP for an external server)."""
        if self.external_url is not None or self.port is None:
            return self.url(dbname)
        return f"postgresql+psycopg://postgres@/{dbname}?host={self.socket_dir}&port={self.port}"

    def create_database(self, name: str, template: str | None = None) -> None:
        """Create an empty database, or a copy of ``template``."""
        _check_dbname(name)
        with self._admin_connection() as conn:
            if template is None:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            else:
                _check_dbname(template)
                conn.execute(
                    sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                        sql.Identifier(name), sql.Identifier(template)
                    )
                )

    def drop_database(self, name: str) -> None:
        """Drop a database, terminating any connection still open to it."""
        _check_dbname(name)
        with self._admin_connection() as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )

    def _admin_connection(self) -> psycopg.Connection[TupleRow]:
        """Open an autocommit connection to the ``postgres`` database."""
        if self.external_url is not None:
            ext = self.external_url
            conninfo = make_conninfo(
                host=ext.host or "127.0.0.1",
                port=ext.port or 5432,
                user=ext.username or "postgres",
                password=ext.password,
                dbname="postgres",
            )
        else:
            if self.port is None:
                raise PgClusterError("the cluster is not started")
            conninfo = make_conninfo(
                host="127.0.0.1", port=self.port, user="postgres", dbname="postgres"
            )
        return psycopg.connect(conninfo, autocommit=True, connect_timeout=10)


# -- helpers shared with stale-cluster cleanup ----------------------------------------------


def _postgres_user() -> pwd.struct_passwd:
    """Return the ``postgres`` account, which the Debian package creates."""
    try:
        return pwd.getpwnam("postgres")
    except KeyError:
        raise PgClusterError(
            "running as root needs a 'postgres' user to own the cluster: "
            "apt-get install postgresql (or useradd --system postgres)"
        ) from None


def _temp_parent(as_postgres: bool) -> str:
    """Return a temp dir parent the ``postgres`` user can reach when we are root."""
    parent = tempfile.gettempdir()
    if as_postgres and not os.stat(parent).st_mode & stat.S_IXOTH:
        parent = "/tmp"
    return parent


def _run_pg(
    bin_dir: Path | None, argv: list[str], *, cwd: Path, as_postgres: bool
) -> subprocess.CompletedProcess[str]:
    """Run ``bin_dir/argv[0]`` with output captured, through runuser when root."""
    program = str(bin_dir / argv[0]) if bin_dir is not None else argv[0]
    command = [program, *argv[1:]]
    if as_postgres:
        command = ["runuser", "-u", "postgres", "--", *command]
    env = {**os.environ, "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"}
    for name in ("PGDATA", "PGPORT", "PGHOST", "PGUSER", "PGDATABASE", "PGOPTIONS"):
        env.pop(name, None)
    return subprocess.run(
        command,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        check=False,
        timeout=START_TIMEOUT_S + 30,
    )


def _stop_and_remove(base: Path, bin_dir: Path | None) -> None:
    """Stop whatever server runs in ``base/data`` (immediate mode) and delete ``base``."""
    data_dir = base / "data"
    if (data_dir / "postmaster.pid").exists():
        as_postgres = os.geteuid() == 0
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            _run_pg(
                bin_dir,
                ["pg_ctl", "stop", "-m", "immediate", "-w", "-D", str(data_dir)],
                cwd=base,
                as_postgres=as_postgres,
            )
    shutil.rmtree(base, ignore_errors=True)


def cleanup_stale_clusters(parent: str | None = None, bin_dir: Path | None = None) -> list[Path]:
    """Stop and remove clusters left behind by test sessions that died; return their dirs."""
    parent_dir = Path(parent or tempfile.gettempdir())
    removed: list[Path] = []
    for base in parent_dir.glob(f"{DIR_PREFIX}*"):
        try:
            owner = int((base / OWNER_FILE).read_text(encoding="ascii").strip())
        except (OSError, ValueError):
            # A dir without an owner is either being created right now or half-deleted:
            # only reap it once it is clearly old.
            try:
                age = time.time() - base.stat().st_mtime
            except OSError:
                continue
            if age < 3600:
                continue
            owner = -1
        if owner > 0 and _pid_alive(owner):
            continue
        _stop_and_remove(base, bin_dir or find_pg_bin())
        removed.append(base)
    return removed
