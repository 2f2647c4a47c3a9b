"""Only the assigned inspector records an inspection's result; a supervisor reassigns, over HTTP."""

from __future__ import annotations

from tests.conftest import PASSWORD
from tests.factories import payload

TOBACCO = payload(items=[{**payload()["items"][0], "hs_code": "240220"}])  # the rules: red


def _login(client, user) -> dict[str, str]:
    r = client.post("/api/v1/auth/token", json={"username": user.username, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


def _inspect(client, ref, headers, *, found=False):
    body = {"found": found, "notes": "seals intact, goods as declared"}
    if found:
        body["fraud_kind"] = "undervaluation"
    return client.post(f"/api/v1/declarations/{ref}/inspection", json=body, headers=headers)


def test_only_the_assigned_inspector_records_the_result_until_a_supervisor_reassigns(
    client, auth, make_user
):
    trader = auth("trader")
    first, second = (make_user("inspector", crossings=["SHL"]) for _ in range(2))
    tokens = {first.id: _login(client, first), second.id: _login(client, second)}
    supervisor = auth("supervisor", crossings=["SHL"])
    decl = client.post("/api/v1/declarations", json=TOBACCO, headers=trader).json()
    assert decl["lane"] == "red"
    url = f"/api/v1/risk/inspections/{decl['id']}"
    (drawn,) = client.get(f"{url}/assignments", headers=supervisor).json()
    assigned = drawn["inspector_id"]
    other = second.id if assigned == first.id else first.id

    r = _inspect(client, decl["reference"], tokens[other], found=True)
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "not_assigned_inspector"
    after = client.get(f"/api/v1/declarations/{decl['reference']}", headers=trader).json()
    assert after["state"] == decl["state"]  # nothing recorded

    r = client.post(
        f"{url}/reassign",
        json={"inspector_id": other, "reason": "the drawn inspector is on leave today"},
        headers=supervisor,
    )
    assert r.status_code == 200, r.text
    assert _inspect(client, decl["reference"], tokens[assigned]).status_code == 403
    r = _inspect(client, decl["reference"], tokens[other], found=True)
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "held"
    r = client.post(f"{url}/extra-duty", json={"extra_duty_iqd": "1000"}, headers=tokens[assigned])
    assert r.status_code == 403
    r = client.post(f"{url}/extra-duty", json={"extra_duty_iqd": "1000"}, headers=tokens[other])
    assert r.status_code == 201, r.text
    # Once the result is in, the inspection cannot be handed to someone else.
    r = client.post(
        f"{url}/reassign",
        json={"inspector_id": assigned, "reason": "second opinion"},
        headers=supervisor,
    )
    assert r.status_code == 409
    history = client.get(f"{url}/assignments", headers=supervisor).json()
    assert [(h["inspector_id"], h["assigned_by"]) for h in history] == [
        (assigned, "system"),
        (other, history[1]["assigned_by"]),
    ]
    assert history[1]["assigned_by"] != "system"
    assert "on leave" in history[1]["reasons"][0]


def test_an_inspection_drawn_when_nobody_was_on_duty_waits_for_a_supervisors_assignment(
    client, auth, make_user
):
    trader = auth("trader")
    decl = client.post("/api/v1/declarations", json=TOBACCO, headers=trader).json()
    assert decl["lane"] == "red"
    inspector = make_user("inspector", crossings=["SHL"])  # posted after the draw
    headers = _login(client, inspector)
    supervisor = auth("supervisor", crossings=["SHL"])
    r = _inspect(client, decl["reference"], headers)
    assert r.status_code == 409
    assert "supervisor assigns" in r.json()["error"]["message"]
    r = client.post(
        f"/api/v1/risk/inspections/{decl['id']}/reassign",
        json={"inspector_id": inspector.id, "reason": "inspector came on duty"},
        headers=supervisor,
    )
    assert r.status_code == 200, r.text
    assert _inspect(client, decl["reference"], headers).status_code == 200
