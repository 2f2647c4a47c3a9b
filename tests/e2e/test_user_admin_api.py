"""Administrators change who may do what; every change says why and shows in the audit log."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from tests.conftest import PASSWORD

from manafidh.adapters.db import tables as t


@pytest.fixture
def admin(client, make_user):
    user = make_user("admin", username="admin.hq")
    r = client.post("/api/v1/auth/token", json={"username": user.username, "password": PASSWORD})
    return {"Authorization": f"Bearer {r.json()['token']}"}


def _token(client, username):
    r = client.post("/api/v1/auth/token", json={"username": username, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


def _users(container):
    with container.engine.connect() as conn:
        rows = conn.execute(select(t.users.c.username, t.users.c.role, t.users.c.crossings))
        return sorted((r.username, r.role, tuple(r.crossings)) for r in rows)


def _entries(client, admin, action):
    r = client.get("/api/v1/audit/entries", params={"action": action}, headers=admin)
    assert r.status_code == 200, r.text
    return r.json()


def test_an_officer_moved_to_another_crossing_works_there_and_no_longer_at_the_old_one(
    client, admin, make_user
):
    make_user("officer", crossings=["SHL"], username="officer.moved")
    officer = _token(client, "officer.moved")
    assert client.get("/api/v1/dashboard", params={"crossing": "SHL"}, headers=officer).is_success
    r = client.patch(
        "/api/v1/users/officer.moved",
        json={"crossings": ["ZRB"], "reason": "posted to Zurbatiyah, order 17/2026"},
        headers=admin,
    )
    assert r.status_code == 200, r.text
    assert r.json()["crossings"] == ["ZRB"]
    me = client.get("/api/v1/me", headers=officer).json()  # the same token, read afresh
    assert me["crossings"] == ["ZRB"]
    (entry,) = _entries(client, admin, "user.changed")
    assert entry["payload"]["reason"] == "posted to Zurbatiyah, order 17/2026"
    assert entry["payload"]["before"]["crossings"] == ["SHL"]
    assert entry["payload"]["crossings"] == ["ZRB"]
    assert entry["role"] == "admin"


def test_a_deactivated_account_is_signed_out_everywhere(client, admin, make_user):
    make_user("trader", username="trader.gone")
    trader = _token(client, "trader.gone")
    r = client.patch(
        "/api/v1/users/trader.gone",
        json={"active": False, "reason": "licence withdrawn"},
        headers=admin,
    )
    assert r.status_code == 200, r.text
    assert r.json()["active"] is False
    assert client.get("/api/v1/me", headers=trader).status_code == 401
    r = client.post("/api/v1/auth/token", json={"username": "trader.gone", "password": PASSWORD})
    assert r.status_code == 401
    (entry,) = _entries(client, admin, "user.changed")
    assert entry["payload"]["tokens_revoked"] == 1


@pytest.mark.parametrize(
    ("username", "body", "status", "code"),
    [
        ("officer.x", {"crossings": ["XXX"], "reason": "typo"}, 422, "validation_failed"),
        ("officer.x", {"role": "supervisor", "crossings": [], "reason": "r"}, 422, None),
        ("officer.x", {"crossings": ["SHL"], "reason": "same as before"}, 422, None),
        ("officer.x", {"role": "admin", "reason": ""}, 422, None),
        ("officer.x", {"role": "emperor", "reason": "r"}, 422, None),
        ("nobody", {"role": "admin", "reason": "r"}, 404, "not_found"),
        ("admin.hq", {"role": "trader", "reason": "r"}, 403, "forbidden"),
    ],
)
def test_bad_changes_are_refused_and_change_nothing(
    client, admin, make_user, container, username, body, status, code
):
    make_user("officer", crossings=["SHL"], username="officer.x")
    before = _users(container)
    r = client.patch(f"/api/v1/users/{username}", json=body, headers=admin)
    assert r.status_code == status, r.text
    assert "error" in r.json()
    if code:
        assert r.json()["error"]["code"] == code
    assert _users(container) == before
    assert _entries(client, admin, "user.changed") == []


def test_only_administrators_change_users(client, auth, make_user, container):
    make_user("officer", crossings=["SHL"], username="officer.y")
    supervisor = auth("supervisor", crossings=["SHL"])
    before = _users(container)
    r = client.patch(
        "/api/v1/users/officer.y", json={"role": "supervisor", "reason": "r"}, headers=supervisor
    )
    assert r.status_code == 403
    assert _users(container) == before
