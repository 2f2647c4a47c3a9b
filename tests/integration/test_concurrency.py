"""Concurrent requests on the same declaration: one wins, the record stays consistent."""

from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor

from tests.factories import content

from manafidh.domain.errors import Conflict, IllegalTransition
from manafidh.services import clearance, declarations, payments


def _green_paid(container, trader):
    with container.uow() as uow:
        decl = declarations.submit(
            uow=uow, actor=trader, crossing_code="SHL", content=content(), rng=random.Random(1)
        )
    with container.uow() as uow:
        order = uow.payments.orders_for(decl.id)[0]
    return decl, order


def test_two_officers_releasing_at_once_release_once(container, make_user):
    trader = make_user("trader")
    officers = [make_user("officer", crossings=["SHL"]) for _ in range(2)]
    decl, order = _green_paid(container, trader)
    with container.uow() as uow:
        payments.confirm_bank_payment(
            uow=uow,
            confirmation=payments.Confirmation(
                "TX-1", order.reference, order.amount_iqd, container.clock.now()
            ),
        )

    def release(officer):
        try:
            with container.uow() as uow:
                clearance.release(uow=uow, actor=officer, declaration_id=decl.id)
            return "released"
        except IllegalTransition:
            return "refused"

    with ThreadPoolExecutor(2) as pool:
        outcomes = sorted(pool.map(release, officers))
    assert outcomes == ["refused", "released"]
    with container.uow() as uow:
        releases = [t for t in uow.declarations.transitions(decl.id) if t.action.value == "release"]
    assert len(releases) == 1


def test_the_same_bank_confirmation_sent_in_parallel_pays_once(container, make_user):
    trader = make_user("trader")
    decl, order = _green_paid(container, trader)
    confirmation = payments.Confirmation(
        "TX-PAR", order.reference, order.amount_iqd, container.clock.now()
    )

    def confirm(_):
        try:
            with container.uow() as uow:
                return payments.confirm_bank_payment(uow=uow, confirmation=confirmation).duplicate
        except Conflict:
            return "conflict"
        except Exception as exc:  # a unique-key race surfaces as IntegrityError: still one payment
            return type(exc).__name__

    with ThreadPoolExecutor(4) as pool:
        outcomes = list(pool.map(confirm, range(4)))
    assert outcomes.count(False) == 1, outcomes
    with container.uow() as uow:
        (stored,) = uow.payments.orders_for(decl.id)
    assert len(stored.payments) == 1
    assert stored.paid_iqd == order.amount_iqd


def test_partial_payments_arriving_together_settle_the_order(container, make_user):
    trader = make_user("trader")
    decl, order = _green_paid(container, trader)
    half = (order.amount_iqd / 2).quantize(order.amount_iqd)
    parts = [half, order.amount_iqd - half]

    def pay(i):
        with container.uow() as uow:
            c = payments.Confirmation(f"TX-P{i}", order.reference, parts[i], container.clock.now())
            payments.confirm_bank_payment(uow=uow, confirmation=c)

    with ThreadPoolExecutor(2) as pool:
        list(pool.map(pay, range(2)))
    with container.uow() as uow:
        assert uow.declarations.get(decl.id).state.value == "paid"
