"""The auditor's API: entries, tree heads and proofs, for the auditor and admin roles only."""

from __future__ import annotations

import importlib.util
from decimal import Decimal
from pathlib import Path

import pytest
from tests.factories import payload

TOOL = Path(__file__).resolve().parents[2] / "tools" / "verify_audit_proof.py"
ENDPOINTS = [
    "/api/v1/audit/entries",
    "/api/v1/audit/tree-heads",
    "/api/v1/audit/proof/0",
    "/api/v1/audit/consistency?first=1&second=1",
]


def _tool():
    spec = importlib.util.spec_from_file_location("verify_audit_proof", TOOL)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def lodged(client, auth):
    """A declaration lodged through the API, and its trader's headers."""
    trader = auth("trader")
    r = client.post("/api/v1/declarations", json=payload(), headers=trader)
    assert r.status_code == 201, r.text
    return r.json(), trader


@pytest.mark.parametrize("role", ["trader", "officer", "inspector", "supervisor", "analyst"])
def test_it_refuses_the_audit_log_to_every_role_but_auditor_and_admin(client, auth, role):
    headers = auth(
        role, crossings=["SHL"] if role in ("officer", "inspector", "supervisor") else None
    )
    for url in ENDPOINTS:
        r = client.get(url, headers=headers)
        assert r.status_code == 403, (url, r.text)
        assert r.json()["error"]["code"] == "forbidden"


def test_it_requires_credentials(client):
    assert client.get(ENDPOINTS[0]).status_code == 401


@pytest.mark.parametrize("role", ["auditor", "admin"])
def test_an_auditor_reads_a_declarations_entries_in_order(client, auth, lodged, role):
    decl, _ = lodged
    headers = auth(role)
    r = client.get(
        "/api/v1/audit/entries", params={"subject": f"declaration:{decl['id']}"}, headers=headers
    )
    assert r.status_code == 200, r.text
    entries = r.json()
    assert [e["action"] for e in entries] == [
        "declaration.created",
        "declaration.lodge",
        "declaration.assess",
        "declaration.select_lane",
        "payment_order.issued",
    ]
    assert [e["index"] for e in entries] == sorted(e["index"] for e in entries)
    created = entries[0]
    assert created["payload"]["content"]["items"][0]["net_mass_kg"] == "4000"
    assert created["crossing"] == "SHL"
    assert created["role"] == "trader"
    assert len(created["leaf_hash"]) == 64


def test_entries_filter_by_actor_action_and_time(client, auth, lodged, container):
    decl, trader = lodged
    me = client.get("/api/v1/me", headers=trader).json()
    auditor = auth("auditor")
    by_actor = client.get(
        "/api/v1/audit/entries", params={"actor": me["id"]}, headers=auditor
    ).json()
    assert {e["action"] for e in by_actor} == {
        "token.issued",
        "declaration.created",
        "declaration.lodge",
    }
    now = container.clock.now().isoformat()
    later = client.get("/api/v1/audit/entries", params={"since": now}, headers=auditor).json()
    before = client.get("/api/v1/audit/entries", params={"until": now}, headers=auditor).json()
    assert later
    assert before == []
    page = client.get(
        "/api/v1/audit/entries",
        params={"action": "declaration.assess", "limit": 1, "offset": 0},
        headers=auditor,
    ).json()
    assessment = client.get(
        f"/api/v1/declarations/{decl['reference']}/assessment", headers=trader
    ).json()
    assert [Decimal(e["payload"]["total_due_iqd"]) for e in page] == [
        Decimal(assessment["total_due_iqd"])
    ]


def test_a_naive_time_is_refused(client, auth):
    r = client.get(
        "/api/v1/audit/entries", params={"since": "2026-03-15T09:00:00"}, headers=auth("auditor")
    )
    assert r.status_code == 422


def test_an_auditor_gets_a_proof_that_the_standalone_verifier_accepts(
    client, auth, lodged, container
):
    from manafidh.services import audit

    with container.uow() as uow:
        audit.checkpoint(uow=uow)
    auditor = auth("auditor")
    heads = client.get("/api/v1/audit/tree-heads", headers=auditor).json()
    assert heads["key_id"] == container.audit_keys.key_id
    assert heads["public_key"] == container.audit_keys.public_key_pem()
    tool = _tool()
    pem = container.audit_keys.public_key_pem()
    assert "signed tree heads verify" in tool.verify_document(heads, pem)
    index = client.get(
        "/api/v1/audit/entries", params={"action": "declaration.select_lane"}, headers=auditor
    ).json()[0]["index"]
    proof = client.get(f"/api/v1/audit/proof/{index}", headers=auditor)
    assert proof.status_code == 200, proof.text
    assert tool.verify_document(proof.json(), pem).startswith(f"entry {index} (")
    first, last = heads["tree_heads"][0]["tree_size"], heads["tree_heads"][-1]["tree_size"]
    r = client.get(
        "/api/v1/audit/consistency", params={"first": first, "second": last}, headers=auditor
    )
    assert r.status_code == 200, r.text
    assert "extends" in tool.verify_document(r.json(), pem)


def test_a_proof_of_an_entry_without_a_signed_tree_head_is_not_found(client, auth):
    r = client.get("/api/v1/audit/proof/100000", headers=auth("auditor"))
    assert r.status_code == 404
    r = client.get("/api/v1/audit/proof/0?size=99999", headers=auth("auditor"))
    assert r.status_code == 404


@pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)
def test_the_audit_endpoints_answer_an_auditor_as_documented(container, make_user, lodged, client):
    import contextlib

    import schemathesis
    from hypothesis import HealthCheck, given, settings
    from schemathesis.specs.openapi.checks import positive_data_acceptance

    from manafidh.services import audit

    with container.uow() as uow:
        audit.checkpoint(uow=uow)
    user = make_user("auditor")
    token = client.post(
        "/api/v1/auth/token", json={"username": user.username, "password": "correct horse battery"}
    ).json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    schema = schemathesis.openapi.from_asgi("/openapi.json", client.app)
    failures: list[str] = []
    checked = []
    for result in schema.get_all_operations():
        operation = result.ok()
        if "/audit/" not in operation.path:
            continue
        checked.append(operation.path)

        @given(case=operation.as_strategy())
        @settings(
            max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None
        )
        def check(case):
            try:
                case.call_and_validate(headers=headers, excluded_checks=[positive_data_acceptance])
            except Exception as exc:
                failures.append(f"{case.operation.label}: {str(exc)[:600]}")
                raise

        with contextlib.suppress(Exception):
            check()
    assert len(checked) == 4
    assert not failures, "\n\n".join(dict.fromkeys(failures))
