"""The FastAPI application factory."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.staticfiles import StaticFiles

from manafidh.bootstrap import Container
from manafidh.web import audit_pages, console, errors, floor_pages, pages, portal, revenue_pages
from manafidh.web.admin_pages import router as admin_pages_router
from manafidh.web.admin_reference import router as admin_reference_router
from manafidh.web.analyst_pages import router as analyst_pages_router
from manafidh.web.api.audit import router as audit_router
from manafidh.web.api.deferred import router as deferred_router
from manafidh.web.api.devices import router as devices_router
from manafidh.web.api.gate import router as gate_router
from manafidh.web.api.revenue import router as revenue_router
from manafidh.web.api.risk import router as risk_router
from manafidh.web.api.routes import router as api_router
from manafidh.web.api.tariff import router as tariff_router
from manafidh.web.deps import SESSION_COOKIE
from manafidh.web.finance_pages import router as finance_pages_router
from manafidh.web.same_origin import SameOriginMiddleware

STATIC = Path(__file__).parent / "static"


def create_app(container: Container) -> FastAPI:
    """Build the web application around a wired container."""
    app = FastAPI(
        title="Manafidh",
        version="0.1.0",
        description="Customs clearance at land border crossings: declarations, duties, lanes, "
        "payment, release and exit.",
        openapi_url="/openapi.json",
    )
    app.state.container = container
    errors.install(app)
    app.include_router(api_router)
    app.include_router(audit_router)
    app.include_router(devices_router)
    app.include_router(gate_router)
    app.include_router(revenue_router)
    app.include_router(tariff_router)
    app.include_router(risk_router)
    app.include_router(deferred_router)

    @app.get("/healthz", tags=["ops"])
    def healthz() -> dict[str, str]:
        """Liveness probe."""
        return {"status": "ok"}

    app.include_router(pages.router)
    app.include_router(portal.router)
    app.include_router(console.router)
    app.include_router(audit_pages.router)
    app.include_router(revenue_pages.router)
    app.include_router(admin_pages_router)
    app.include_router(admin_reference_router)
    app.include_router(analyst_pages_router)
    app.include_router(finance_pages_router)
    app.include_router(floor_pages.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    # Crossings have slow links: pages, the style sheet and htmx shrink to about a quarter.
    app.add_middleware(GZipMiddleware, minimum_size=1024)
    app.add_middleware(SameOriginMiddleware, cookie=SESSION_COOKIE)
    return app
