"""The FastAPI application factory."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from manafidh.bootstrap import Container
from manafidh.web import errors, pages
from manafidh.web.api.audit import router as audit_router
from manafidh.web.api.risk import router as risk_router
from manafidh.web.api.routes import router as api_router

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
    app.include_router(risk_router)

    @app.get("/healthz", tags=["ops"])
    def healthz() -> dict[str, str]:
        """Liveness probe."""
        return {"status": "ok"}

    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app
