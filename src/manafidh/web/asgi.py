"""ASGI entry point for uvicorn: ``manafidh.web.asgi:app``."""

from __future__ import annotations

from manafidh.bootstrap import bootstrap
from manafidh.config import get_settings
from manafidh.web.app import create_app

app = create_app(bootstrap(get_settings()))
