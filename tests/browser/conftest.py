"""A real server on a seeded SQLite database, and one Chromium for the whole session.

The server runs uvicorn in a background thread on a free 127.0.0.1 port, with the same fixed
clock as the rest of the suite (Sunday 15 March 2026, 09:00 in Baghdad).
"""

from __future__ import annotations

import os
import random
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
import uvicorn
from tests.conftest import PASSWORD, START, running_in_ci
from tests.factories import content, item

from manafidh.bootstrap import Container, bootstrap
from manafidh.config import Settings
from manafidh.domain.clock import FixedClock
from manafidh.domain.identity import Role, User
from manafidh.services import clearance, declarations, payments
from manafidh.services.identity import create_user
from manafidh.web.app import create_app

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
SCREENSHOTS = Path(__file__).parents[2] / "test-artifacts" / "screenshots"


@dataclass
class Seeded:
    """The seeded deployment: its container, its users and what was declared today."""

    container: Container
    users: dict[str, User] = field(default_factory=dict)
    collected_iqd: dict[str, Decimal] = field(default_factory=dict)


# -- data -------------------------------------------------------------------------------------
def add_user(
    c: Container, username: str, full_name: str, role: Role, crossings: Sequence[str] = ()
) -> User:
    """Create a user with the test password."""
    with c.uow() as uow:
        return create_user(
            uow=uow,
            hasher=c.hasher,
            actor=None,
            username=username,
            full_name=full_name,
            role=role,
            password=PASSWORD,
            crossings=list(crossings),
        )


def _declare(c: Container, trader: User, crossing: str, plate: str, hs_code: str) -> str:
    """Submit a one-item declaration; returns its id."""
    goods = content(items=[item(1, hs_code=hs_code)], vehicle_plates=[plate])
    with c.uow() as uow:
        decl = declarations.submit(
            uow=uow, actor=trader, crossing_code=crossing, content=goods, rng=random.Random(1)
        )
    return decl.id


def _pay_and_release(c: Container, declaration_id: str, officer: User) -> Decimal:
    """Settle the open payment order and release the truck; returns the amount paid."""
    with c.uow() as uow:
        order = uow.payments.orders_for(declaration_id)[-1]
    with c.uow() as uow:
        payments.confirm_bank_payment(
            uow=uow,
            confirmation=payments.Confirmation(
                bank_transaction_id=f"TX-{order.reference}",
                payment_reference=order.reference,
                amount_iqd=order.amount_iqd,
                paid_at=c.clock.now(),
            ),
        )
    with c.uow() as uow:
        clearance.release(uow=uow, actor=officer, declaration_id=declaration_id)
    amount: Decimal = order.amount_iqd
    return amount


def seed(c: Container) -> Seeded:
    """Users of each kind, and today's traffic at Al-Shalamcheh (3 trucks) and Zurbatiyah (1).

    Al-Shalamcheh: tiles (green lane, paid and released), cement (yellow lane by the HS 2523
    rule) and cigarettes (red lane by the chapter 24 rule), the last two waiting in their lane.
    """
    s = Seeded(c)
    s.users["officer"] = add_user(c, "omar.shl", "عمر حسن", Role.OFFICER, ["SHL"])
    s.users["officer_zrb"] = add_user(c, "zaid.zrb", "Zaid Kareem", Role.OFFICER, ["ZRB"])
    s.users["analyst"] = add_user(c, "hawre.hq", "Hawre Aziz", Role.ANALYST, [])
    s.users["trader"] = add_user(c, "rafidain", "Al-Rafidain Co.", Role.TRADER, [])
    trader = s.users["trader"]
    tiles = _declare(c, trader, "SHL", "IR 11 A 111", "690721")
    _declare(c, trader, "SHL", "IR 22 B 222", "252329")
    _declare(c, trader, "SHL", "IR 33 C 333", "240220")
    _declare(c, trader, "ZRB", "IR 44 D 444", "690721")
    s.collected_iqd["SHL"] = _pay_and_release(c, tiles, s.users["officer"])
    return s


# -- the server -------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def seeded(
    sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory, audit_key_file: Path
) -> Iterator[Seeded]:
    """A copy of the ready SQLite database, seeded, behind a container with a fixed clock."""
    target = tmp_path_factory.mktemp("browser") / "manafidh.db"
    shutil.copyfile(sqlite_template, target)
    settings = Settings(
        database_url=f"sqlite+pysqlite:///{target}",
        fast_password_hashing=True,
        audit_key_file=audit_key_file,
    )
    c = bootstrap(settings, clock=FixedClock(START), rng=random.Random(7))
    try:
        yield seed(c)
    finally:
        c.engine.dispose()


def _wait_until_healthy(base_url: str, thread: threading.Thread, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not thread.is_alive():
            raise RuntimeError("the test server stopped while starting")
        try:
            if httpx.get(f"{base_url}/healthz", timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"the test server did not answer on {base_url} within {timeout} s")


def journey_container(template: Path, workdir: Path, seed: int, **settings: Any) -> Container:
    """A container on a fresh copy of the migrated template in ``workdir`` (fixed clock)."""
    target = workdir / "manafidh.db"
    shutil.copyfile(template, target)
    config = Settings(
        database_url=f"sqlite+pysqlite:///{target}", fast_password_hashing=True, **settings
    )
    return bootstrap(config, clock=FixedClock(START), rng=random.Random(seed))


@contextmanager
def serving(app: Any) -> Iterator[str]:
    """Serve ``app`` with uvicorn in a thread on a free 127.0.0.1 port; yield its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="uvicorn", daemon=True
    )
    thread.start()
    base_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    try:
        _wait_until_healthy(base_url, thread)
        yield base_url
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
        assert not thread.is_alive(), "the test server did not stop"


@pytest.fixture(scope="session")
def live_server(seeded: Seeded) -> Iterator[str]:
    """The base URL of uvicorn serving the app on a free 127.0.0.1 port; stopped afterwards."""
    with serving(create_app(seeded.container)) as base_url:
        yield base_url


# -- the browser ------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """One headless Chromium for the session."""
    if not os.path.exists(CHROMIUM):
        message = f"{CHROMIUM} not found: apt-get install chromium fonts-dejavu-core"
        if running_in_ci():
            pytest.fail(f"{message} (CI must never skip browser tests)")
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser: Browser, live_server: str) -> Iterator[Page]:
    """A fresh page (own cookies) at a desktop size, pointed at the live server."""
    context = browser.new_context(
        base_url=live_server, viewport={"width": 1366, "height": 900}, device_scale_factor=1
    )
    context.set_default_timeout(10_000)
    pg = context.new_page()
    try:
        yield pg
    finally:
        context.close()


@contextmanager
def open_page(browser: Browser, base_url: str, **options: Any) -> Iterator[Page]:
    """A fresh page (own cookies) at a desktop size; fails on any script error it logged."""
    context = browser.new_context(
        base_url=base_url, viewport={"width": 1366, "height": 900}, **options
    )
    context.set_default_timeout(10_000)
    pg = context.new_page()
    errors: list[str] = []
    pg.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    try:
        yield pg
    finally:
        context.close()
    # Pages answered with a 4xx on purpose are logged as failed loads; anything else is a fault.
    assert [e for e in errors if "Failed to load resource" not in e] == []


@pytest.fixture
def screenshot(page: Page) -> Callable[[str], Path]:
    """Save a full-page screenshot for a person to look at: ``screenshot("dashboard-ar")``."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(name: str) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take
