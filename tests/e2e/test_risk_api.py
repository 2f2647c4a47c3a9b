"""The risk API: lane rules managed over HTTP with who and why; scores for staff only."""

from __future__ import annotations

from tests.factories import payload


def test_an_admin_adds_lists_and_ends_a_rule_and_other_roles_cannot(client, auth):
    admin = auth("admin")
    officer = auth("officer", crossings=["SHL"])
    rule = {
        "name": "Cigarettes from the UAE",
        "lane": "red",
        "hs_prefix": "2402",
        "origin_country": "AE",
        "valid_from": "2026-03-16",
        "reason": "seizures reported by the border police",
    }
    assert client.post("/api/v1/risk/rules", json=rule, headers=officer).status_code == 403
    r = client.post("/api/v1/risk/rules", json=rule, headers=admin)
    assert r.status_code == 201, r.text
    rule_id = r.json()["id"]
    listed = client.get("/api/v1/risk/rules", headers=admin).json()
    assert any(x["id"] == rule_id and x["valid_to"] is None for x in listed)
    r = client.post(
        f"/api/v1/risk/rules/{rule_id}/end",
        json={"last_day": "2026-03-31", "reason": "campaign over"},
        headers=admin,
    )
    assert r.status_code == 200, r.text
    assert r.json()["valid_to"] == "2026-03-31"


def test_a_bad_rule_is_a_clear_4xx_and_changes_nothing(client, auth):
    admin = auth("admin")
    before = client.get("/api/v1/risk/rules", headers=admin).json()
    no_condition = {"name": "Everything", "valid_from": "2026-03-16", "reason": "why not"}
    r = client.post("/api/v1/risk/rules", json=no_condition, headers=admin)
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "validation_failed"
    past = {**no_condition, "hs_prefix": "24", "valid_from": "2020-01-01"}
    r = client.post("/api/v1/risk/rules", json=past, headers=admin)
    assert r.status_code == 422
    assert "past" in r.json()["error"]["message"]
    r = client.post(
        "/api/v1/risk/rules/999/end",
        json={"last_day": "2026-03-31", "reason": "x y"},
        headers=admin,
    )
    assert r.status_code == 404
    assert client.get("/api/v1/risk/rules", headers=admin).json() == before


def test_a_backtest_runs_over_http(client, auth):
    trader = auth("trader")
    analyst = auth("analyst")
    assert client.post("/api/v1/declarations", json=payload(), headers=trader).status_code == 201
    r = client.post(
        "/api/v1/risk/backtest",
        json={"hs_prefix": "6907", "since": "2026-03-01", "until": "2026-03-31"},
        headers=analyst,
    )
    assert r.status_code == 200, r.text
    assert r.json()["declarations"] == 1
    assert r.json()["hits"] == 1


def test_a_trader_never_sees_a_risk_score_but_the_crossings_officer_does(client, auth):
    trader = auth("trader")
    officer = auth("officer", crossings=["SHL"])
    decl = client.post("/api/v1/declarations", json=payload(), headers=trader).json()
    assert client.get(f"/api/v1/risk/scores/{decl['id']}", headers=trader).status_code == 403
    r = client.get(f"/api/v1/risk/scores/{decl['id']}", headers=officer)
    assert r.status_code == 200, r.text
    assert r.json()["fallback"] == "no risk model has been trained yet"


def test_a_supervisor_reassigns_an_inspection_over_http_and_a_trader_cannot_see_it(
    client, auth, make_user
):
    trader = auth("trader")
    first = make_user("inspector", crossings=["SHL"])
    second = make_user("inspector", crossings=["SHL"])
    supervisor = auth("supervisor", crossings=["SHL"])
    body = payload(items=[{**payload()["items"][0], "hs_code": "240220"}])  # tobacco: red
    decl = client.post("/api/v1/declarations", json=body, headers=trader).json()
    assert decl["lane"] == "red"
    url = f"/api/v1/risk/inspections/{decl['id']}"
    assert client.get(f"{url}/assignments", headers=trader).status_code == 403
    (drawn,) = client.get(f"{url}/assignments", headers=supervisor).json()
    other = second.id if drawn["inspector_id"] == first.id else first.id
    r = client.post(
        f"{url}/reassign",
        json={"inspector_id": other, "reason": "conflict of interest"},
        headers=supervisor,
    )
    assert r.status_code == 200, r.text
    history = client.get(f"{url}/assignments", headers=supervisor).json()
    assert [h["inspector_id"] for h in history] == [drawn["inspector_id"], other]
    r = client.post(
        f"{url}/reassign",
        json={"inspector_id": "nobody", "reason": "typo test"},
        headers=supervisor,
    )
    assert r.status_code == 422


def test_rules_on_facts_and_score_weights_are_managed_over_http(client, auth):
    admin = auth("admin")
    weight = {
        "name": "Night lodgings",
        "hour_from": 20,
        "hour_to": 6,
        "score_weight": "1.5",
        "valid_from": "2026-03-16",
        "reason": "night lodgings hide more undervaluation",
    }
    r = client.post("/api/v1/risk/rules", json=weight, headers=admin)
    assert r.status_code == 201, r.text
    assert (r.json()["lane"], r.json()["score_weight"]) == ("green", "1.5")
    first = {
        "name": "New importers",
        "first_declarations": 3,
        "valuation_flag": True,
        "valid_from": "2026-03-16",
        "reason": "new traders with low values",
    }
    r = client.post("/api/v1/risk/rules", json=first, headers=admin)
    assert r.status_code == 201, r.text
    assert r.json()["lane"] == "red"
    listed = {x["name"]: x for x in client.get("/api/v1/risk/rules", headers=admin).json()}
    assert listed["New importers"]["first_declarations"] == 3
    assert listed["Night lodgings"]["hour_to"] == 6
    before = client.get("/api/v1/risk/rules", headers=admin).json()
    for bad in (
        {**weight, "lane": "red"},  # a lane and a weight
        {**weight, "hour_to": None},  # half a time window
        {**first, "first_declarations": 0},
        {**weight, "score_weight": "0"},
    ):
        r = client.post("/api/v1/risk/rules", json=bad, headers=admin)
        assert r.status_code == 422, (bad, r.text)
    assert client.get("/api/v1/risk/rules", headers=admin).json() == before
