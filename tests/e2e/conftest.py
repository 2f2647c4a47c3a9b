"""An HTTP client on the real app, and helpers to act as each role."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.conftest import PASSWORD

from manafidh.adapters import bank
from manafidh.web.app import create_app


@pytest.fixture
def client(container) -> Iterator[TestClient]:
    """A TestClient on the app wired to the test container."""
    with TestClient(create_app(container)) as c:
        yield c


@pytest.fixture
def auth(client, make_user) -> Callable[..., dict[str, str]]:
    """Create a user of ``role`` and return Authorization headers for its API token."""

    def headers(role: str, *, crossings: list[str] | None = None) -> dict[str, str]:
        user = make_user(role, crossings=crossings)
        r = client.post(
            "/api/v1/auth/token", json={"username": user.username, "password": PASSWORD}
        )
        assert r.status_code == 200, r.text
        return {"Authorization": f"Bearer {r.json()['token']}"}

    return headers


@pytest.fixture
def bank_confirm(client, container) -> Callable[..., Any]:
    """Post a bank confirmation signed with the deployment's HMAC secret."""

    def confirm(body: dict[str, Any], *, secret: str | None = None) -> Any:
        raw = json.dumps(body).encode()
        sig = bank.sign(secret or container.settings.bank_hmac_secret, raw)
        return client.post(
            "/api/v1/bank/confirmations",
            content=raw,
            headers={"Content-Type": "application/json", bank.SIGNATURE_HEADER: sig},
        )

    return confirm
