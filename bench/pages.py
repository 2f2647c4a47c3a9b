"""Slow-link benchmark: how long each main page takes to become usable in Chromium at 400 kbit/s.

Run from the repository root::

    python bench/pages.py [--latency-ms 400] [--kbit 400] [--runs 3]

A real server (uvicorn on 127.0.0.1) on a fresh SQLite database with the shipped reference data
and a few declarations; Debian's Chromium driven by Playwright, with the link throttled through the
DevTools protocol (``Network.emulateNetworkConditions``: 400 ms latency, 400 kbit/s each way, as
at a crossing on a poor mobile link). Each page is opened by the role that uses it:

* **cold** - a fresh browser context (empty cache, new connection), the worst case: the first
  visit of the day;
* **warm** - the same page again in the same context (style sheet and scripts cached).

"Usable" is the moment the page's ``load`` event has fired (HTML parsed, style sheet applied,
htmx and the page's script run) and its first heading is visible: the user can read it and act.
The figure is the median over ``--runs``. The baseline, measured in the same run, is the same page
without throttling. Transferred bytes come from the Resource Timing API.

Progress goes to stderr; stdout gets a table and, as its last line, one JSON object with every
figure, ``worst_cold_ms`` and ``all_under_3s``.
"""

from __future__ import annotations

import argparse
import json
import random
import socket
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # ``tests`` (_prepare, factories) lives at the repository root
    sys.path.insert(0, str(ROOT))

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
PASSWORD = "bench password 2026"
TARGET_MS = 3000.0


def log(message: str) -> None:
    """Progress on stderr."""
    print(message, file=sys.stderr, flush=True)


def seed(workdir: Path) -> tuple[Any, dict[str, str]]:
    """A container on a fresh database, its users, and declarations to show; returns references."""
    from tests.conftest import _prepare
    from tests.factories import content, item

    from manafidh.adapters import audit_keys
    from manafidh.bootstrap import bootstrap
    from manafidh.config import Settings
    from manafidh.domain.identity import Role
    from manafidh.services import declarations
    from manafidh.services.identity import create_user

    key_file = workdir / "audit.pem"
    audit_keys.create(key_file)
    url = f"sqlite+pysqlite:///{workdir / 'pages.db'}"
    _prepare(url, key_file)
    settings = Settings(database_url=url, fast_password_hashing=True, audit_key_file=key_file)
    c = bootstrap(settings, rng=random.Random(1))
    users = {}
    for username, role, crossings in (
        ("trader", Role.TRADER, []),
        ("officer", Role.OFFICER, ["SHL"]),
        ("supervisor", Role.SUPERVISOR, ["SHL"]),
        ("auditor", Role.AUDITOR, []),
        ("analyst", Role.ANALYST, []),
        ("finance", Role.FINANCE, []),
        ("inspector", Role.INSPECTOR, ["SHL"]),  # before lodging: red trucks are drawn to them
        ("admin", Role.ADMIN, []),
    ):
        with c.uow() as uow:
            users[username] = create_user(
                uow=uow,
                hasher=c.hasher,
                actor=None,
                username=username,
                full_name=username.title(),
                role=role,
                password=PASSWORD,
                crossings=crossings,
            )
    refs: dict[str, str] = {}
    for n, hs in enumerate(("690721", "252329", "240220", "690721", "252329") * 4):
        goods = content(
            items=[item(i, hs_code=hs) for i in range(1, 6)], vehicle_plates=[f"IR {n} B 1"]
        )
        with c.uow() as uow:
            decl = declarations.submit(
                uow=uow, actor=users["trader"], crossing_code="SHL", content=goods, rng=c.rng
            )
        refs.setdefault("declaration", decl.reference)
        if hs == "240220":  # tobacco: red lane, an inspection assigned to the inspector
            refs.setdefault("red", decl.reference)
    return c, refs


def serve(container: Any) -> tuple[str, Any, threading.Thread]:
    """Start uvicorn on a free port; returns the base URL, the server and its thread."""
    import httpx
    import uvicorn

    from manafidh.web.app import create_app

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(
        create_app(container), log_level="warning", access_log=False, lifespan="off"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    for _ in range(200):
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(0.05)
    return base, server, thread


def throttle(page: Any, *, latency_ms: float, kbit: float) -> None:
    """Slow the page's network down through the DevTools protocol."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send(
        "Network.emulateNetworkConditions",
        {
            "offline": False,
            "latency": latency_ms,
            "downloadThroughput": kbit * 1000 / 8,
            "uploadThroughput": kbit * 1000 / 8,
        },
    )


def cookie_of(browser: Any, base: str, username: str) -> list[dict[str, Any]]:
    """Sign ``username`` in (unthrottled) and return the session cookies."""
    context = browser.new_context(base_url=base)
    page = context.new_page()
    page.goto("/signin?lang=ar")
    page.locator("#username").fill(username)
    page.locator("#password").fill(PASSWORD)
    page.locator("form.form button[type=submit]").click()
    page.wait_for_load_state()
    cookies: list[dict[str, Any]] = context.cookies()
    context.close()
    return cookies


def visit(page: Any, path: str) -> float:
    """Milliseconds from asking for ``path`` to its load event with its heading visible."""
    started = time.perf_counter()
    page.goto(path, wait_until="load")
    page.locator("h1").first.wait_for(state="visible")
    return (time.perf_counter() - started) * 1000


def transferred(page: Any) -> int:
    """Bytes transferred for the current page (document and sub-resources)."""
    return int(
        page.evaluate(
            "() => performance.getEntriesByType('navigation').concat("
            "performance.getEntriesByType('resource')).reduce((s, e) => s + e.transferSize, 0)"
        )
    )


def measure(
    browser: Any, base: str, cookies: list[dict[str, Any]], path: str, args: argparse.Namespace
) -> dict[str, float]:
    """Cold, warm and unthrottled times of one page (medians), and its bytes."""
    cold, warm, fast, size = [], [], [], 0
    for _ in range(args.runs):
        context = browser.new_context(base_url=base)
        context.add_cookies(cookies)
        page = context.new_page()
        fast.append(visit(page, path))
        context.close()
        context = browser.new_context(base_url=base)
        context.add_cookies(cookies)
        page = context.new_page()
        throttle(page, latency_ms=args.latency_ms, kbit=args.kbit)
        cold.append(visit(page, path))
        size = transferred(page)
        warm.append(visit(page, path))
        context.close()
    return {
        "cold_ms": round(statistics.median(cold)),
        "warm_ms": round(statistics.median(warm)),
        "unthrottled_ms": round(statistics.median(fast)),
        "cold_bytes": size,
    }


def main() -> None:
    """Run the measurement and print the table and the JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency-ms", type=float, default=400.0)
    parser.add_argument("--kbit", type=float, default=400.0)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="manafidh-pages-") as tmp:
        log("seeding a database")
        container, refs = seed(Path(tmp))
        base, server, thread = serve(container)
        ref = refs["declaration"]
        pages = [
            ("anonymous", "/signin"),
            ("trader", "/my"),
            ("trader", "/declare"),
            ("trader", f"/declarations/{ref}"),
            ("officer", "/dashboard"),
            ("officer", "/queue"),
            ("officer", f"/declarations/{ref}"),
            ("supervisor", "/held"),
            ("supervisor", "/alarms"),
            ("supervisor", "/board"),
            ("supervisor", "/approvals"),
            ("supervisor", "/shift"),
            ("inspector", "/inspections"),
            ("inspector", f"/inspections/{refs['red']}"),
            ("auditor", "/audit"),
            ("analyst", "/reports/crossing-month"),
            ("finance", "/finance/exceptions"),
            ("admin", "/admin/users"),
            ("admin", "/admin/devices"),
            ("admin", "/admin/tariff"),
            ("admin", "/admin/exemptions"),
            ("admin", "/admin/rules"),
        ]
        results: dict[str, dict[str, float]] = {}
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(
                    executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
                )
                cookies = {
                    u: cookie_of(browser, base, u) for u in {r for r, _ in pages} - {"anonymous"}
                }
                cookies["anonymous"] = []
                for role, path in pages:
                    log(f"measuring {role} {path}")
                    name = f"{role} {path.replace(ref, '<ref>').replace(refs['red'], '<red>')}"
                    results[name] = measure(browser, base, cookies[role], path, args)
                browser.close()
        finally:
            server.should_exit = True
            thread.join(timeout=10)
            container.engine.dispose()

    print(
        f"Link: {args.kbit:g} kbit/s each way, {args.latency_ms:g} ms latency; "
        f"median of {args.runs}"
    )
    print(f"{'page':<34} {'cold ms':>8} {'warm ms':>8} {'no throttle':>12} {'cold bytes':>11}")
    for name, r in results.items():
        print(
            f"{name:<34} {r['cold_ms']:>8} {r['warm_ms']:>8} {r['unthrottled_ms']:>12} "
            f"{r['cold_bytes']:>11}"
        )
    worst = max(r["cold_ms"] for r in results.values())
    summary = {
        "latency_ms": args.latency_ms,
        "kbit_per_s": args.kbit,
        "runs": args.runs,
        "target_ms": TARGET_MS,
        "worst_cold_ms": worst,
        "all_under_3s": worst < TARGET_MS,
        "pages": results,
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
