"""The tariff API through HTTP: measures, imports, rollback, exemptions, decrees, reports."""

from __future__ import annotations

from tests.factories import payload


def _measure(**over):
    return {
        "code": "690721",
        "measure_type": "import_duty",
        "origin": "ALL",
        "valid_from": "2026-01-01",
        "legal_reference": "Decision 12 of 2026 (test)",
        "expression": "10% + 1 USD / 100 kg",
    } | over


def test_an_admin_imports_measures_and_anyone_signed_in_sees_why_they_apply(client, auth):
    admin = auth("admin")
    r = client.post(
        "/api/v1/tariff/imports",
        json={"source": "decision-12.json", "measures": [_measure()]},
        headers=admin,
    )
    assert r.status_code == 201, r.text
    assert r.json()["measures"] == 1
    r = client.get(
        "/api/v1/tariff/measures/69072100?origin=IR&on=2026-03-15", headers=auth("trader")
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert [m["expression"] for m in body["applies"]] == ["10% + 1 USD / 100 kg"]
    assert body["explanation"][0].startswith("applies: import_duty")


def test_only_admins_import_and_a_bad_file_names_its_rows(client, auth):
    r = client.post(
        "/api/v1/tariff/imports",
        json={"source": "x", "measures": [_measure()]},
        headers=auth("supervisor", crossings=["SHL"]),
    )
    assert r.status_code == 403
    r = client.post(
        "/api/v1/tariff/imports",
        json={"source": "x", "measures": [_measure(), _measure(code="12345")]},
        headers=auth("admin"),
    )
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error["details"]["rows"] == [
        {"line": 2, "reason": "bad commodity code '12345': 2, 4, 6, 8 or 10 digits"}
    ]


def test_rollback_previews_then_applies(client, auth):
    admin = auth("admin")
    client.post(
        "/api/v1/tariff/imports", json={"source": "a", "measures": [_measure()]}, headers=admin
    )
    preview = client.post(
        "/api/v1/tariff/rollback", json={"since": "2026-01-01T00:00:00Z"}, headers=admin
    )
    assert [i["source"] for i in preview.json()] == ["a"]
    done = client.post(
        "/api/v1/tariff/rollback",
        json={"since": "2026-01-01T00:00:00Z", "reason": "wrong", "apply": True},
        headers=admin,
    )
    assert done.status_code == 200
    listed = client.get("/api/v1/tariff/imports", headers=admin).json()
    assert listed[0]["rollback_reason"] == "wrong"


def test_an_exemption_granted_suspended_and_reported(client, auth):
    admin = auth("admin")
    grant = {
        "reference": "EX-7",
        "beneficiary_kind": "foreign_state",
        "beneficiary_name": "Embassy of Utopia",
        "beneficiary_tax_id": "IQ-100200300",
        "legal_basis": "Vienna Convention art. 36; Customs Law art. 182 (test)",
        "valid_from": "2026-01-01",
        "quotas": [{"code": "69", "max_kg": "10000"}],
    }
    assert (
        client.post(
            "/api/v1/exemptions", json=grant, headers=auth("officer", crossings=["SHL"])
        ).status_code
        == 403
    )
    r = client.post("/api/v1/exemptions", json=grant, headers=admin)
    assert r.status_code == 201, r.text
    trader = auth("trader")
    r = client.post("/api/v1/declarations", json=payload(), headers=trader)  # 4,000 kg of tiles
    assert r.status_code == 201, r.text
    report = client.get("/api/v1/reports/foregone-revenue?by=chapter", headers=admin).json()
    assert report[0]["group"] == "69"
    assert report[0]["lines"] == 1
    r = client.post(
        "/api/v1/exemptions/EX-7/suspend",
        json={"reason": "audit pending", "legal_reference": "Decision 9 (test)"},
        headers=admin,
    )
    assert r.json()["state"] == "suspended"
    detail = client.get("/api/v1/exemptions/EX-7", headers=admin).json()
    assert [e["action"] for e in detail["events"]] == ["grant", "suspend"]
    assert detail["quotas"][0]["used_kg"] == "4000.000"
    decree = client.post(
        "/api/v1/exemption-decrees",
        json={
            "kinds": ["foreign_state"],
            "as_of": "2026-03-01",
            "decree": "Decree 1 (test)",
            "reason": "end of foreign-state exemptions",
        },
        headers=admin,
    ).json()
    assert decree == {
        "decree": "Decree 1 (test)",
        "as_of": "2026-03-01",
        "applied": False,
        "affected": ["EX-7"],
    }


def test_an_investment_project_is_registered_reported_and_shown_as_lagging(client, auth):
    admin = auth("admin")
    body = {
        "licence_number": "NIC-2022-7",
        "name": "Najaf Cement Plant",
        "sector": "industry",
        "tax_id": "IQ-777",
        "approved_on": "2022-01-01",
        "window_from": "2022-01-01",
        "window_to": "2027-12-31",
        "goods": [{"code": "7214", "max_kg": "2000000"}],
        "legal_basis": "Investment Law No. 13 of 2006, art. 17",
    }
    assert (
        client.post("/api/v1/investment-projects", json=body, headers=auth("analyst")).status_code
        == 403
    )
    r = client.post("/api/v1/investment-projects", json=body, headers=admin)
    assert r.status_code == 201, r.text
    assert r.json()["quotas"][0]["max_kg"] == "2000000.000"
    r = client.post(
        "/api/v1/investment-projects/NIC-2022-7/reports",
        json={"reported_on": "2025-12-01", "rate_percent": "12.5", "source": "NIC report"},
        headers=admin,
    )
    assert r.status_code == 201, r.text
    lagging = client.get(
        "/api/v1/reports/lagging-projects?as_of=2026-03-15", headers=auth("analyst")
    )
    assert [x["licence_number"] for x in lagging.json()] == ["NIC-2022-7"]
    r = client.post(
        "/api/v1/investment-projects/suspension-rule?as_of=2026-03-15&apply=true", headers=admin
    )
    assert r.status_code == 200, r.text
    assert (
        client.get("/api/v1/exemptions/INV-NIC-2022-7", headers=admin).json()["state"]
        == "suspended"
    )
