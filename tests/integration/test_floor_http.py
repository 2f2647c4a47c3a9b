"""The crossing-floor pages over HTTP, on SQLite and PostgreSQL: the inspector's assigned
inspections and result with evidence, the supervisor's board, alarms, approvals and shift report,
each authorised by role and crossing; every refusal changes nothing."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from tests.conftest import PASSWORD
from tests.floor_helpers import inspector_of, open_visit, png, raise_weight_alarm, red_declaration

from manafidh.adapters.db import tables as t
from manafidh.domain.declarations.states import State
from manafidh.web.app import create_app

PHOTO_LIMIT = 4096


@pytest.fixture
def floor(container, make_user, tmp_path: Path):
    """Two inspectors, two supervisors and an officer at SHL; a supervisor and an officer at ZRB;
    a red declaration whose inspection the system assigned."""
    container.settings = container.settings.model_copy(
        update={"evidence_dir": tmp_path / "evidence", "evidence_max_photo_bytes": PHOTO_LIMIT}
    )
    people = {
        "trader": make_user("trader"),
        "inspector_a": make_user("inspector", crossings=["SHL"]),
        "inspector_b": make_user("inspector", crossings=["SHL"]),
        "supervisor": make_user("supervisor", crossings=["SHL"]),
        "supervisor2": make_user("supervisor", crossings=["SHL"]),
        "officer": make_user("officer", crossings=["SHL"]),
        "supervisor_zrb": make_user("supervisor", crossings=["ZRB"]),
        "officer_zrb": make_user("officer", crossings=["ZRB"]),
    }
    decl = red_declaration(container, people["trader"], "SHL", "IR 61 T 100")
    assigned = inspector_of(container, decl.id)
    by_id = {u.id: key for key, u in people.items()}
    other = "inspector_b" if by_id[assigned] == "inspector_a" else "inspector_a"
    return {
        **people,
        "decl": decl,
        "assigned": people[by_id[assigned]],
        "other": people[other],
    }


def _client(container, user=None) -> TestClient:
    client = TestClient(create_app(container), follow_redirects=False)
    if user is not None:
        r = client.post("/signin", data={"username": user.username, "password": PASSWORD})
        assert r.status_code == 303
    return client


def _count(container, table) -> int:
    with container.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def _state(container, reference: str) -> State:
    with container.uow(readonly=True) as uow:
        return uow.declarations.get_by_reference(reference).state


def _stored_files(container) -> list[Path]:
    root = container.settings.evidence_dir
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def _finding(**extra) -> dict[str, str]:
    return {
        "found": "yes",
        "fraud_kind": "undervaluation",
        "notes": "cartons counted: 1,200 more than declared",
        "measured-1-quantity": "1200",
        "measured-1-gross_mass_kg": "٢١٠٠٠",  # Arabic-Indic digits are understood
        "extra_duty_iqd": "1500000",
        "documents": "CMR 88412",
        **extra,
    }


# -- the inspector ----------------------------------------------------------------------------
def test_an_inspector_sees_only_the_inspections_assigned_to_them(container, floor):
    ref = floor["decl"].reference
    mine = _client(container, floor["assigned"]).get("/inspections")
    theirs = _client(container, floor["other"]).get("/inspections")
    assert mine.status_code == 200
    assert f'data-reference="{ref}"' in mine.text
    assert theirs.status_code == 200
    assert ref not in theirs.text


def test_an_inspection_assigned_to_another_can_be_neither_opened_nor_recorded(container, floor):
    ref = floor["decl"].reference
    client = _client(container, floor["other"])
    assert client.get(f"/inspections/{ref}").status_code == 403
    r = client.post(
        f"/inspections/{ref}",
        data=_finding(),
        files=[("photos", ("p.png", png(), "image/png"))],
    )
    assert r.status_code == 403
    # Nor through the declaration page's own form.
    r = client.post(f"/declarations/{ref}/do/inspection", data={"found": "no"})
    assert r.status_code == 403
    assert _state(container, ref) is State.LANE_SELECTED
    assert _count(container, t.inspection_evidence) == 0
    assert _count(container, t.checks) == 0
    assert _stored_files(container) == []


def test_the_assigned_inspector_records_a_finding_with_a_photo_in_one_go(container, floor):
    ref = floor["decl"].reference
    photo = png()
    client = _client(container, floor["assigned"])
    assert client.get(f"/inspections/{ref}").status_code == 200
    r = client.post(
        f"/inspections/{ref}",
        data=_finding(),
        files=[("photos", ("IMG_0001.png", photo, "image/png"))],
    )
    assert r.status_code == 303, r.text
    assert r.headers["location"] == f"/inspections?done={ref}"
    assert _state(container, ref) is State.HELD  # a finding stops the goods
    digest = hashlib.sha256(photo).hexdigest()
    with container.uow(readonly=True) as uow:
        kept = uow.floor.evidence_of(floor["decl"].id)
        measured = uow.floor.measurements_of(floor["decl"].id)
    assert [(e.kind, e.sha256, e.media_type) for e in kept] == [
        ("photo", digest, "image/png"),
        ("document", None, None),
    ]
    assert kept[1].document_reference == "CMR 88412"
    assert [(m.line_no, m.quantity, m.gross_mass_kg) for m in measured] == [(1, 1200, 21000)]
    # The photo is stored under its SHA-256, and the journal holds the same digest.
    assert [p.name for p in _stored_files(container)] == [digest]
    with container.engine.connect() as conn:
        payloads = conn.execute(
            select(t.audit_entries.c.payload).where(
                t.audit_entries.c.action == "inspection.evidence"
            )
        ).scalars()
        assert any(digest in p for p in payloads)
        extra = conn.execute(select(t.inspection_results.c.extra_duty_iqd)).scalars().all()
    assert extra == [1500000]
    # Staff of the crossing see the photo; an officer of another crossing does not.
    got = _client(container, floor["officer"]).get(f"/inspections/{ref}/photos/{digest}")
    assert got.status_code == 200
    assert got.content == photo
    assert got.headers["content-type"] == "image/png"
    away = _client(container, floor["officer_zrb"]).get(f"/inspections/{ref}/photos/{digest}")
    assert away.status_code == 403
    declarant = _client(container, floor["trader"]).get(f"/inspections/{ref}/photos/{digest}")
    assert declarant.status_code == 404
    # The officer's page shows the result's evidence with the rest of the declaration.
    page = _client(container, floor["officer"]).get(f"/declarations/{ref}")
    assert f"/photos/{digest}" in page.text
    # Recorded once: a second post is refused and adds nothing.
    again = client.post(f"/inspections/{ref}", data={"found": "no"})
    assert again.status_code in (403, 409, 422)
    assert _count(container, t.checks) == 1


@pytest.mark.parametrize(
    ("files", "reason"),
    [
        ([("photos", ("big.png", png() + b"\0" * PHOTO_LIMIT, "image/png"))], "larger than"),
        ([("photos", ("notes.png", b"#!/bin/sh\necho hello\n", "image/png"))], "not a JPEG"),
        ([("photos", (f"p{n}.png", png(shade=n), "image/png")) for n in range(9)], "at most"),
    ],
    ids=["too-large", "not-a-photo", "too-many"],
)
def test_a_refused_upload_changes_nothing_and_keeps_what_was_typed(container, floor, files, reason):
    ref = floor["decl"].reference
    client = _client(container, floor["assigned"])
    r = client.post(f"/inspections/{ref}", data=_finding(), files=files)
    assert r.status_code == 422
    assert reason in r.text
    assert "cartons counted: 1,200 more than declared" in r.text  # nothing typed is lost
    assert _state(container, ref) is State.LANE_SELECTED
    assert _count(container, t.inspection_evidence) == 0
    assert _count(container, t.inspection_measurements) == 0
    assert _count(container, t.inspection_results) == 0
    assert _stored_files(container) == []


def test_more_files_than_the_form_takes_are_refused_not_a_500(container, floor):
    ref = floor["decl"].reference
    client = _client(container, floor["assigned"])
    files = [("photos", (f"p{n}.png", png(shade=n), "image/png")) for n in range(12)]
    r = client.post(f"/inspections/{ref}", data=_finding(), files=files)
    assert r.status_code == 422
    assert _count(container, t.inspection_evidence) == 0
    assert _stored_files(container) == []


def test_a_request_far_over_the_limit_is_refused_before_it_is_read(container, floor):
    ref = floor["decl"].reference
    client = _client(container, floor["assigned"])
    huge = png() + b"\0" * (9 * PHOTO_LIMIT + 300 * 1024)
    r = client.post(
        f"/inspections/{ref}", data=_finding(), files=[("photos", ("x.png", huge, "image/png"))]
    )
    assert r.status_code == 422
    assert _count(container, t.inspection_evidence) == 0
    assert _state(container, ref) is State.LANE_SELECTED


def test_extra_duty_without_a_finding_is_refused(container, floor):
    ref = floor["decl"].reference
    client = _client(container, floor["assigned"])
    r = client.post(f"/inspections/{ref}", data={"found": "no", "extra_duty_iqd": "500"})
    assert r.status_code == 422
    assert _state(container, ref) is State.LANE_SELECTED


# -- authorisation by role and crossing -------------------------------------------------------
@pytest.mark.parametrize(
    ("who", "path", "status"),
    [
        ("supervisor", "/board", 200),
        ("supervisor", "/board/live", 200),
        ("supervisor", "/approvals", 200),
        ("supervisor", "/shift", 200),
        ("supervisor", "/shift?day=2026-03-14", 200),
        ("supervisor", "/shift?day=yesterday", 422),
        ("supervisor", "/board?crossing=ZRB", 403),
        ("supervisor", "/approvals?crossing=ZRB", 403),
        ("supervisor", "/shift?crossing=ZRB", 403),
        ("supervisor_zrb", "/board?crossing=SHL", 403),
        ("officer", "/board", 403),
        ("officer", "/approvals", 403),
        ("officer", "/shift", 403),
        ("officer", "/inspections", 403),
        ("trader", "/board", 403),
        ("trader", "/inspections", 403),
        ("assigned", "/approvals", 403),
        ("assigned", "/board", 403),
    ],
)
def test_each_page_is_authorised_by_role_and_crossing(container, floor, who, path, status):
    r = _client(container, floor[who]).get(path)
    assert r.status_code == status, r.text[:300]
    assert r.headers["content-type"].startswith("text/html")


def test_the_live_board_counts_the_trucks_in_each_column(container, floor):
    open_visit(container, "SHL", "IR 61 T 100", floor["decl"].id)
    r = _client(container, floor["supervisor"]).get("/board/live")
    assert r.status_code == 200
    assert "<html" not in r.text  # the fragment htmx swaps in
    assert 'data-bucket="yard"' in r.text
    assert 'data-count="1"' in r.text
    assert floor["decl"].reference in r.text


def test_an_officer_of_another_crossing_is_refused_the_declaration(container, floor):
    ref = floor["decl"].reference
    assert _client(container, floor["officer_zrb"]).get(f"/declarations/{ref}").status_code == 403
    page = _client(container, floor["officer"]).get(f"/declarations/{ref}")
    assert page.status_code == 200
    for section in ('id="risk-title"', 'id="weighings-title"', 'id="decl-alarms-title"'):
        assert section in page.text
    assert "IR 61 T 100" in page.text
    # Officers work in Central Kurdish too: the page's new sections are translated.
    ckb = _client(container, floor["officer"]).get(f"/declarations/{ref}?lang=ckb")
    assert '<html lang="ckb" dir="rtl">' in ckb.text
    assert "نمرەی مەترسی" in ckb.text  # "Risk score"
    assert "کێشانەکان و خوێندنەوەی ژمارەکان" in ckb.text  # "Weighings and plate reads"
    # A trader sees their declaration without the customs' risk score and evidence.
    own = _client(container, floor["trader"]).get(f"/declarations/{ref}")
    assert own.status_code == 200
    assert 'id="risk-title"' not in own.text


# -- alarms ---------------------------------------------------------------------------------
def _alarm_state(container, alarm_id: str) -> str:
    with container.uow(readonly=True) as uow:
        return uow.gate_control.alarm(alarm_id).state


def test_a_supervisor_resolves_an_alarm_with_a_reason_and_only_with_one(container, floor):
    alarm = raise_weight_alarm(container, floor["decl"])
    page = _client(container, floor["officer"]).get(f"/declarations/{floor['decl'].reference}")
    assert "measured cargo 24100 kg" in page.text  # the alarm is on the declaration's page
    client = _client(container, floor["supervisor"])
    assert f'data-alarm="{alarm}"' in client.get("/alarms").text
    r = client.post(f"/alarms/{alarm}/resolve", data={"reason": "  "})
    assert r.status_code == 422
    assert _alarm_state(container, alarm) == "open"
    r = client.post(f"/alarms/{alarm}/acknowledge", data={"reason": "going to the scale"})
    assert r.status_code == 303
    assert _alarm_state(container, alarm) == "acknowledged"
    r = client.post(f"/alarms/{alarm}/resolve", data={"reason": "scale recalibrated, reweighed"})
    assert r.status_code == 303
    assert _alarm_state(container, alarm) == "resolved"
    with container.uow(readonly=True) as uow:
        steps = uow.gate_control.steps(alarm)
    assert [(s.step.value, s.reason) for s in steps] == [
        ("acknowledged", "going to the scale"),
        ("resolved", "scale recalibrated, reweighed"),
    ]


@pytest.mark.parametrize(("who", "status"), [("supervisor_zrb", 404), ("officer", 403)])
def test_no_one_else_acts_on_an_alarm(container, floor, who, status):
    alarm = raise_weight_alarm(container, floor["decl"])
    r = _client(container, floor[who]).post(f"/alarms/{alarm}/resolve", data={"reason": "x"})
    assert r.status_code == status
    assert _alarm_state(container, alarm) == "open"


# -- four eyes ------------------------------------------------------------------------------
def _pending(container) -> list[dict]:
    with container.uow(readonly=True) as uow:
        return uow.floor.pending_manual_weights(["SHL"])


def test_a_manual_weight_needs_a_second_different_supervisor(container, floor):
    visit = open_visit(container, "SHL", "IR 61 T 100", floor["decl"].id)
    first = _client(container, floor["supervisor"])
    assert "IR61T100" in first.get("/approvals").text
    r = first.post(
        "/approvals/weights?crossing=SHL",
        data={"visit_id": visit, "which": "entry", "kg": "٣٠٥٠٠", "reason": "scale down"},
    )
    assert r.status_code == 303
    [weight] = _pending(container)
    assert weight["kg"] == 30500
    # The proposer cannot approve their own weight; nor can a supervisor of another crossing.
    mine = first.post(
        f"/approvals/weights/{weight['id']}", data={"decision": "approve", "reason": "ok"}
    )
    assert mine.status_code == 403
    away = _client(container, floor["supervisor_zrb"]).post(
        f"/approvals/weights/{weight['id']}", data={"decision": "approve", "reason": "ok"}
    )
    assert away.status_code == 403
    no_reason = _client(container, floor["supervisor2"]).post(
        f"/approvals/weights/{weight['id']}?crossing=SHL", data={"decision": "approve"}
    )
    assert no_reason.status_code == 422
    assert len(_pending(container)) == 1
    second = _client(container, floor["supervisor2"]).post(
        f"/approvals/weights/{weight['id']}?crossing=SHL",
        data={"decision": "approve", "reason": "saw the truck on the backup scale"},
    )
    assert second.status_code == 303
    assert _pending(container) == []
    with container.uow(readonly=True) as uow:
        assert uow.gate_control.visit(visit).entry_gross_kg == 30500


def test_a_supervisor_reassigns_an_inspection_with_a_reason(container, floor):
    ref = floor["decl"].reference
    client = _client(container, floor["supervisor"])
    target = floor["other"].id
    r = client.post(f"/approvals/inspections/{ref}?crossing=SHL", data={"inspector_id": target})
    assert r.status_code == 422
    assert inspector_of(container, floor["decl"].id) == floor["assigned"].id
    r = client.post(
        f"/approvals/inspections/{ref}?crossing=SHL",
        data={"inspector_id": target, "reason": "the first inspector is off sick"},
    )
    assert r.status_code == 303
    assert inspector_of(container, floor["decl"].id) == target
    assert ref in _client(container, floor["other"]).get("/inspections").text
    assert ref not in _client(container, floor["assigned"]).get("/inspections").text
    refused = _client(container, floor["assigned"]).get(f"/inspections/{ref}")
    assert refused.status_code == 403
