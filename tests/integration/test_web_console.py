"""The read-only use cases behind the pages, and the pages' refusals, on SQLite and PostgreSQL."""

from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from tests.conftest import PASSWORD
from tests.factories import content, item

from manafidh.domain.declarations.states import State
from manafidh.domain.errors import Forbidden, NotFound
from manafidh.domain.identity import Role, User
from manafidh.services import console, declarations, nomenclature
from manafidh.web.app import create_app


def _submit(container, trader: User, crossing: str, hs_code: str = "690721", plate: str = "IR 1"):
    goods = content(items=[item(1, hs_code=hs_code)], vehicle_plates=[plate])
    with container.uow() as uow:
        return declarations.submit(
            uow=uow, actor=trader, crossing_code=crossing, content=goods, rng=random.Random(3)
        )


def test_the_queue_shows_a_crossings_trucks_oldest_first(container, make_user, clock):
    trader = make_user("trader")
    officer = make_user("officer", crossings=["SHL"])
    first = _submit(container, trader, "SHL", plate="IR 1")
    clock.advance(timedelta(minutes=5))
    second = _submit(container, trader, "SHL", plate="IR 2")
    _submit(container, trader, "ZRB", plate="IR 3")
    with container.uow(readonly=True) as uow:
        found = console.queue(uow=uow, actor=officer, crossing_code="SHL")
    assert [d.reference for d in found] == [first.reference, second.reference]


def test_the_queue_of_another_crossing_is_refused(container, make_user):
    officer = make_user("officer", crossings=["SHL"])
    with container.uow(readonly=True) as uow, pytest.raises(Forbidden):
        console.queue(uow=uow, actor=officer, crossing_code="ZRB")
    trader = make_user("trader")
    with container.uow(readonly=True) as uow, pytest.raises(Forbidden):
        console.crossings_of(uow=uow, actor=trader)


def test_the_declaration_view_offers_only_what_the_role_and_state_allow(container, make_user):
    trader = make_user("trader")
    officer = make_user("officer", crossings=["SHL"])
    supervisor = make_user("supervisor", crossings=["SHL"])
    cement = _submit(container, trader, "SHL", hs_code="252329")  # yellow lane by rule
    with container.uow(readonly=True) as uow:
        as_officer = console.view(uow=uow, actor=officer, declaration_id=cement.reference)
        as_trader = console.view(uow=uow, actor=trader, declaration_id=cement.reference)
        as_supervisor = console.view(uow=uow, actor=supervisor, declaration_id=cement.id)
    assert as_officer.declaration.state is State.LANE_SELECTED
    assert as_officer.actions == {"document_check"}
    assert as_trader.actions == {"amend"}
    assert as_supervisor.actions == {"document_check", "hold"}
    assert as_officer.assessment is not None
    assert as_officer.lane_decision is not None
    assert as_officer.open_order is not None
    assert as_officer.open_order.state.value == "open"


def test_a_trader_cannot_see_another_traders_declaration(container, make_user):
    mine = _submit(container, make_user("trader"), "SHL")
    with container.uow(readonly=True) as uow, pytest.raises(NotFound):
        console.view(uow=uow, actor=make_user("trader"), declaration_id=mine.reference)


def test_the_hs_search_finds_subheadings_by_code_in_any_digits_and_by_words(container):
    with container.uow(readonly=True) as uow:
        by_code = nomenclature.search_hs(uow=uow, query="6907")
        by_arabic_digits = nomenclature.search_hs(uow=uow, query="٦٩٠٧")
        by_words = nomenclature.search_hs(uow=uow, query="portland cement")
        too_short = nomenclature.search_hs(uow=uow, query="6")
    assert by_code
    assert all(h.code.startswith("6907") and h.level == 6 for h in by_code)
    assert by_arabic_digits == by_code
    assert "252329" in {h.code for h in by_words}
    assert too_short == []


# -- the pages' refusals ----------------------------------------------------------------------
def _client(container, username: str | None = None) -> TestClient:
    client = TestClient(create_app(container), follow_redirects=False)
    if username:
        r = client.post("/signin", data={"username": username, "password": PASSWORD})
        assert r.status_code == 303
    return client


@pytest.mark.parametrize(
    ("role", "path"),
    [
        (Role.TRADER, "/queue"),
        (Role.TRADER, "/held"),
        (Role.TRADER, "/alarms"),
        (Role.TRADER, "/audit"),
        (Role.OFFICER, "/held"),
        (Role.OFFICER, "/declare"),
        (Role.OFFICER, "/audit"),
        (Role.INSPECTOR, "/my"),
        (Role.AUDITOR, "/declare"),
    ],
)
def test_a_page_outside_the_role_is_a_403_page(container, make_user, role, path):
    scoped = role in (Role.OFFICER, Role.INSPECTOR)
    user = make_user(role.value, crossings=["SHL"] if scoped else None)
    r = _client(container, user.username).get(path)
    assert r.status_code == 403
    assert r.headers["content-type"].startswith("text/html")
    assert "Content-Security-Policy" in r.headers


def test_an_unknown_declaration_is_a_404_page_and_an_unknown_action_too(container, make_user):
    officer = make_user("officer", crossings=["SHL"])
    client = _client(container, officer.username)
    assert client.get("/declarations/SHL-2026-999999").status_code == 404
    mine = _submit(container, make_user("trader"), "SHL")
    assert client.post(f"/declarations/{mine.reference}/do/explode").status_code == 404


def test_a_wrong_date_in_the_audit_filter_is_a_422_page_not_a_500(container, make_user):
    client = _client(container, make_user("auditor").username)
    r = client.get("/audit?since=15/03/2026")
    assert r.status_code == 422
    assert "not a date" in r.text


def test_without_a_session_pages_go_to_sign_in_and_come_back(container):
    client = _client(container)
    r = client.get("/queue")
    assert r.status_code == 303
    assert r.headers["location"] == "/signin?next=/queue"
    options = client.get("/hs/options?q=6907")  # typing on after the session ended
    assert options.status_code == 200
    assert "<option" not in options.text  # nothing is searched without a session
    r = client.post("/declare", data={"importer_name": "x"})
    assert r.headers["location"] == "/signin?next=/declare"


def test_sign_in_refuses_to_send_anyone_to_another_site(container, make_user):
    trader = make_user("trader")
    client = _client(container)
    data = {"username": trader.username, "password": PASSWORD, "next": "//evil.example/"}
    r = client.post("/signin", data=data)
    assert r.headers["location"] == "/my"


def test_the_inline_check_names_the_fields_the_services_refuse(container, make_user):
    client = _client(container, make_user("trader").username)
    r = client.post(
        "/declare/check",
        data={"crossing_code": "SHL", "item-1-hs_code": "12", "item-1-quantity": "x"},
    )
    assert r.status_code == 200
    assert "#f-item-1-quantity" in r.text
    assert "#f-importer_name" in r.text
    assert "<html" not in r.text


def _form(crossing: str = "SHL", plate: str = "IR 77 Q 1") -> dict[str, str]:
    return {
        "crossing_code": crossing,
        "regime": "import",
        "importer_name": "Dijla Trading Co.",
        "importer_tax_id": "IQ-555000111",
        "vehicle_plate": plate,
        "driver_name": "Hossein Karimi",
        "driver_document": "P12345678",
        "dispatch_country": "IR",
        "origin_country": "IR",
        "invoice_currency": "USD",
        "freight": "٢٠٠",  # Arabic-Indic digits are understood
        "item-1-hs_code": "6907.21",
        "item-1-description": "Ceramic floor tiles",
        "item-1-origin_country": "ir",
        "item-1-quantity": "30,000",
        "item-1-net_mass_kg": "30000",
        "item-1-gross_mass_kg": "30300",
        "item-1-invoice_value": "1500٫50",
    }


def test_a_draft_saved_from_the_form_is_lodged_from_its_page(container, make_user):
    trader = make_user("trader")
    client = _client(container, trader.username)
    r = client.post("/declare", data={**_form(), "intent": "draft"})
    assert r.status_code == 303
    reference = r.headers["location"].split("/")[-1].split("?")[0]
    with container.uow(readonly=True) as uow:
        draft = uow.declarations.get_by_reference(reference)
    assert draft.state is State.DRAFT
    assert draft.content.freight == 200
    assert draft.content.items[0].invoice_value == Decimal("1500.50")
    assert draft.content.items[0].hs_code == "690721"
    assert client.get(f"/declarations/{reference}").status_code == 200
    r = client.post(f"/declarations/{reference}/do/lodge")
    assert r.status_code == 303
    with container.uow(readonly=True) as uow:
        assert uow.declarations.get_by_reference(reference).state is State.LANE_SELECTED


def test_an_amendment_needs_a_reason_and_keeps_the_typed_values(container, make_user):
    trader = make_user("trader")
    decl = _submit(container, trader, "SHL")
    client = _client(container, trader.username)
    r = client.post(f"/declarations/{decl.reference}/amend", data=_form())
    assert r.status_code == 422
    assert 'id="err-reason"' in r.text
    assert 'value="1500٫50"' in r.text


@pytest.mark.parametrize(
    ("headers", "refused"),
    [
        ({"Origin": "https://evil.example"}, True),
        ({"Origin": "null"}, True),
        ({"Referer": "https://evil.example/page.html"}, True),
        ({"Origin": "http://testserver"}, False),
        ({"Origin": "https://testserver"}, False),  # TLS ended at a proxy in front of the app
        ({"Origin": "http://testserver.evil.example"}, True),
        ({"Referer": "http://testserver/declare"}, False),
        ({}, False),  # no browser sends a cross-site post without Origin
    ],
)
def test_a_form_post_from_another_site_riding_on_the_session_is_refused(
    container, make_user, headers, refused
):
    trader = make_user("trader")
    client = _client(container, trader.username)
    r = client.post("/declare", data={**_form(), "intent": "draft"}, headers=headers)
    with container.uow(readonly=True) as uow:
        stored = uow.declarations.search(
            crossing_codes=None, declarant_id=trader.id, state=None, limit=10, offset=0
        )
    if refused:
        assert r.status_code == 403
        assert r.json()["error"]["code"] == "cross_site_request"
        assert stored == []
    else:
        assert r.status_code == 303
        assert len(stored) == 1
